import type { APIChannel, APIGuildMember, APIRole, APIUser } from 'discord.js';

export type Json = Record<string, unknown>;

/** Permission bits the simulator reasons about (Discord's values). */
export const Permission = {
  CreateInstantInvite: 1n << 0n,
  KickMembers: 1n << 1n,
  BanMembers: 1n << 2n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ManageGuild: 1n << 5n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  ChangeNickname: 1n << 26n,
  ManageRoles: 1n << 28n,
  UseApplicationCommands: 1n << 31n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** Every permission bit Discord defines today (bits 0..50). */
export const ALL_PERMISSIONS = (1n << 51n) - 1n;

/** What a fresh server grants @everyone (the usual member set). */
export const DEFAULT_EVERYONE_PERMISSIONS =
  Permission.CreateInstantInvite |
  Permission.AddReactions |
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseExternalEmojis |
  Permission.ChangeNickname |
  Permission.UseApplicationCommands |
  Permission.SendMessagesInThreads;

/** What the bot's own managed role grants unless the test says otherwise (what an invite link asks for). */
export const DEFAULT_BOT_PERMISSIONS =
  DEFAULT_EVERYONE_PERMISSIONS | Permission.ManageMessages | Permission.MentionEveryone;

/** Gateway intents (bits) that gate which dispatches a session receives. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  /** GUILD_BAN_ADD / GUILD_BAN_REMOVE (formerly GUILD_BANS); not privileged. */
  GuildModeration: 1 << 2,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  MessageContent: 1 << 15,
  GuildPresences: 1 << 8,
} as const;

export const PRIVILEGED_INTENTS = Intent.GuildMembers | Intent.GuildPresences | Intent.MessageContent;

export const ChannelType = { GuildText: 0, DM: 1, GuildVoice: 2, GuildCategory: 4, GuildAnnouncement: 5 } as const;

export interface SimUser {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
  /** false → the bot cannot open a DM with this user (Discord answers 50007). */
  dmsOpen: boolean;
}

export interface SimRole {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
  color: number;
  hoist: boolean;
  mentionable: boolean;
  /** Set for the bot's integration role. */
  botId: string | null;
}

export interface SimOverwrite {
  id: string;
  /** 0 = role, 1 = member */
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface SimChannel {
  id: string;
  type: number;
  guildId: string | null;
  name: string | null;
  position: number;
  parentId: string | null;
  topic: string | null;
  overwrites: SimOverwrite[];
  /** The other party of a DM channel. */
  recipientId: string | null;
  lastMessageId: string | null;
}

export interface SimMember {
  userId: string;
  roles: string[];
  nick: string | null;
  joinedAt: string;
}

export interface SimGuild {
  id: string;
  name: string;
  ownerId: string;
  roles: Map<string, SimRole>;
  channelIds: string[];
  members: Map<string, SimMember>;
  joinedAt: string;
}

/** A permission set as tests like to write it. */
export type PermissionInput = bigint | number | string;

export function toPermissions(value: PermissionInput): bigint {
  return typeof value === 'bigint' ? value : BigInt(value);
}

/** Discord's documented algorithm: base permissions from roles, then channel overwrites. */
export function basePermissions(guild: SimGuild, userId: string): bigint {
  if (guild.ownerId === userId) return ALL_PERMISSIONS;
  const member = guild.members.get(userId);
  let permissions = guild.roles.get(guild.id)?.permissions ?? 0n;
  for (const roleId of member?.roles ?? []) permissions |= guild.roles.get(roleId)?.permissions ?? 0n;
  return permissions & Permission.Administrator ? ALL_PERMISSIONS : permissions;
}

export function channelPermissions(guild: SimGuild, channel: SimChannel | undefined, userId: string): bigint {
  let permissions = basePermissions(guild, userId);
  if (permissions === ALL_PERMISSIONS || !channel) return permissions;
  const member = guild.members.get(userId);
  const everyone = channel.overwrites.find((o) => o.type === 0 && o.id === guild.id);
  if (everyone) permissions = (permissions & ~everyone.deny) | everyone.allow;
  let allow = 0n;
  let deny = 0n;
  for (const o of channel.overwrites) {
    if (o.type === 0 && o.id !== guild.id && member?.roles.includes(o.id)) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  permissions = (permissions & ~deny) | allow;
  const own = channel.overwrites.find((o) => o.type === 1 && o.id === userId);
  if (own) permissions = (permissions & ~own.deny) | own.allow;
  return permissions;
}

export function userJson(user: SimUser): APIUser {
  return {
    id: user.id,
    username: user.username,
    discriminator: user.bot ? '0000' : '0',
    global_name: user.globalName,
    avatar: null,
    ...(user.bot ? { bot: true } : {}),
    public_flags: 0,
  } as unknown as APIUser;
}

export function memberJson(guild: SimGuild, member: SimMember, user: SimUser | undefined): APIGuildMember {
  return {
    ...(user ? { user: userJson(user) } : {}),
    nick: member.nick,
    avatar: null,
    banner: null,
    roles: [...member.roles],
    joined_at: member.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  } as unknown as APIGuildMember;
}

export function roleJson(role: SimRole): APIRole {
  return {
    id: role.id,
    name: role.name,
    color: role.color,
    colors: { primary_color: role.color, secondary_color: null, tertiary_color: null },
    hoist: role.hoist,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: role.botId !== null,
    mentionable: role.mentionable,
    flags: 0,
    ...(role.botId ? { tags: { bot_id: role.botId } } : {}),
  } as unknown as APIRole;
}

export function channelJson(channel: SimChannel, recipient?: SimUser): APIChannel {
  if (channel.type === ChannelType.DM) {
    return {
      id: channel.id,
      type: ChannelType.DM,
      name: null,
      last_message_id: channel.lastMessageId,
      flags: 0,
      recipients: recipient ? [userJson(recipient)] : [],
    } as unknown as APIChannel;
  }
  return {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guildId,
    name: channel.name,
    position: channel.position,
    parent_id: channel.parentId,
    topic: channel.topic,
    nsfw: false,
    flags: 0,
    rate_limit_per_user: 0,
    last_message_id: channel.lastMessageId,
    permission_overwrites: channel.overwrites.map((o) => ({
      id: o.id,
      type: o.type,
      allow: o.allow.toString(),
      deny: o.deny.toString(),
    })),
  } as unknown as APIChannel;
}
