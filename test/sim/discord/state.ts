import type { APIEmbed, APIMessage, APIUser } from 'discord.js';
import { snowflake, snowflakeTime } from './ids';
import {
  ChannelType,
  DEFAULT_BOT_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  Intent,
  Permission,
  channelJson,
  channelPermissions,
  memberJson,
  roleJson,
  toPermissions,
  userJson,
} from './model';
import type { Json, PermissionInput, SimChannel, SimGuild, SimMember, SimOverwrite, SimRole, SimUser } from './model';
import type { Issue } from './validation';
import { Waiter } from './waiter';

/** An uploaded file (multipart part) as received. */
export interface SimFile {
  field: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
}

/** A stored attachment: what a message shows, plus the bytes. */
export interface SimAttachment {
  id: string;
  messageId: string;
  channelId: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
  url: string;
}

/** One REST request as the simulator saw it. */
export interface SimCall {
  at: number;
  method: string;
  /** Path after `/api/v10`, without the query. */
  path: string;
  /** Route template as in the OpenAPI spec, or null when no route matched. */
  route: string | null;
  params: Record<string, string>;
  query: Record<string, string>;
  /** Parsed JSON body (for multipart: the parsed `payload_json`). */
  body: unknown;
  files: SimFile[];
  status: number;
  response: unknown;
}

export type ViolationKind = 'schema' | 'limit' | 'empty-message' | 'unknown-route' | 'interaction' | 'auth' | 'invalid-body';

/** Something real Discord would refuse, and that a correct bot never does. */
export interface SimViolation {
  at: number;
  kind: ViolationKind;
  method: string;
  path: string;
  route: string | null;
  message: string;
  issues: Issue[];
}

export interface DispatchRecord {
  at: number;
  sessionId: string;
  t: string;
  s: number;
  d: Json;
}

export interface SimStats {
  requests: number;
  /** 429 answers, route and global. A client that honours the headers sees 0. */
  rateLimited: number;
  globalRateLimited: number;
  byStatus: Record<number, number>;
  connections: number;
  identifies: number;
  resumes: number;
  heartbeats: number;
  dispatches: number;
}

export interface StoredMessage {
  message: APIMessage;
  guildId: string | null;
  /** Ephemeral interaction responses: only `viewerId` sees them, and no gateway event carries them. */
  ephemeral: boolean;
  viewerId: string | null;
  interactionId: string | null;
  deleted: boolean;
  /** Previous versions, oldest first. */
  history: APIMessage[];
  reactions: Map<string, Set<string>>;
}

export interface MemberInput {
  id?: string;
  username: string;
  globalName?: string;
  nick?: string;
  /** Role ids or names of roles declared in the same guild. */
  roles?: string[];
  bot?: boolean;
  /** false → DMs to this user fail with 50007 (Cannot send messages to this user). */
  dmsOpen?: boolean;
}

export interface RoleInput {
  id?: string;
  name: string;
  permissions?: PermissionInput;
  color?: number;
  mentionable?: boolean;
  hoist?: boolean;
}

export interface OverwriteInput {
  /** Role or member id, or the name of a role / username of a member in this guild. */
  id: string;
  type: 'role' | 'member';
  allow?: PermissionInput;
  deny?: PermissionInput;
}

export interface ChannelInput {
  id?: string;
  name: string;
  /** Discord channel type; 0 (text) by default. */
  type?: number;
  /** Name or id of a category channel declared before it. */
  parent?: string;
  topic?: string;
  overwrites?: OverwriteInput[];
}

export interface GuildInput {
  id?: string;
  name: string;
  /** Id or username of the owner, who holds every permission; added as a member when not listed. */
  ownerId: string;
  roles?: RoleInput[];
  channels?: ChannelInput[];
  members?: MemberInput[];
  /** @everyone's permissions; Discord's default member set otherwise. */
  everyonePermissions?: PermissionInput;
  /** The bot's integration role; send, embed, attach, react, read history and manage messages by default. */
  botPermissions?: PermissionInput;
}

/** Ids of what `addGuild` created, by name. */
export interface GuildHandle {
  id: string;
  name: string;
  ownerId: string;
  everyoneRoleId: string;
  botRoleId: string;
  roles: Record<string, string>;
  channels: Record<string, string>;
  members: Record<string, string>;
}

type Builder = (intents: number, sessionUserId: string) => Json | undefined;

/** Everything the simulator knows: users, guilds, channels, messages, records. */
export class SimState {
  readonly waiter = new Waiter();
  readonly users = new Map<string, SimUser>();
  readonly guilds = new Map<string, SimGuild>();
  readonly channels = new Map<string, SimChannel>();
  readonly messages = new Map<string, StoredMessage>();
  readonly channelMessageIds = new Map<string, string[]>();
  readonly dmChannels = new Map<string, string>();
  readonly attachments = new Map<string, SimAttachment>();
  /** (author, nonce) → message id and time, for `enforce_nonce` (per author, across channels). */
  readonly nonces = new Map<string, { messageId: string; at: number }>();
  readonly calls: SimCall[] = [];
  readonly violations: SimViolation[] = [];
  readonly dispatches: DispatchRecord[] = [];
  readonly stats: SimStats = {
    requests: 0,
    rateLimited: 0,
    globalRateLimited: 0,
    byStatus: {},
    connections: 0,
    identifies: 0,
    resumes: 0,
    heartbeats: 0,
    dispatches: 0,
  };
  /** Injected failures (`failRoute`): the next `times` calls of the route answer `status`. */
  readonly faults: { method: string; template: string; status: number; times: number }[] = [];
  /** Set by the gateway: sends an event to every session whose intents admit it. */
  dispatcher: (t: string, build: Builder) => void = () => undefined;
  attachmentBaseUrl = '';

  constructor(readonly bot: SimUser) {
    this.users.set(bot.id, bot);
  }

  changed(): void {
    this.waiter.notify();
  }

  dispatch(t: string, build: Builder): void {
    this.dispatcher(t, build);
  }

  // ----- users, guilds, members ------------------------------------------------------------------

  addUser(input: MemberInput): SimUser {
    const id = input.id ?? snowflake();
    const existing = this.users.get(id);
    if (existing) return existing;
    const user: SimUser = {
      id,
      username: input.username,
      globalName: input.globalName ?? null,
      bot: input.bot ?? false,
      dmsOpen: input.dmsOpen ?? true,
    };
    this.users.set(id, user);
    return user;
  }

  addGuild(input: GuildInput): GuildHandle {
    const id = input.id ?? snowflake();
    if (this.guilds.has(id)) throw new Error(`discord sim: guild ${id} already exists`);
    const now = new Date().toISOString();
    const guild: SimGuild = { id, name: input.name, ownerId: '', roles: new Map(), channelIds: [], members: new Map(), joinedAt: now };
    const handle: GuildHandle = { id, name: input.name, ownerId: '', everyoneRoleId: id, botRoleId: '', roles: {}, channels: {}, members: {} };
    const everyone: SimRole = {
      id,
      name: '@everyone',
      permissions: input.everyonePermissions === undefined ? DEFAULT_EVERYONE_PERMISSIONS : toPermissions(input.everyonePermissions),
      position: 0,
      color: 0,
      hoist: false,
      mentionable: false,
      botId: null,
    };
    guild.roles.set(id, everyone);
    handle.roles['@everyone'] = id;
    (input.roles ?? []).forEach((r, i) => {
      const role: SimRole = {
        id: r.id ?? snowflake(),
        name: r.name,
        permissions: r.permissions === undefined ? 0n : toPermissions(r.permissions),
        position: i + 1,
        color: r.color ?? 0,
        hoist: r.hoist ?? false,
        mentionable: r.mentionable ?? false,
        botId: null,
      };
      guild.roles.set(role.id, role);
      handle.roles[role.name] = role.id;
    });
    const botRole: SimRole = {
      id: snowflake(),
      name: this.bot.username,
      permissions: input.botPermissions === undefined ? DEFAULT_BOT_PERMISSIONS : toPermissions(input.botPermissions),
      position: guild.roles.size,
      color: 0,
      hoist: false,
      mentionable: false,
      botId: this.bot.id,
    };
    guild.roles.set(botRole.id, botRole);
    handle.botRoleId = botRole.id;
    const roleId = (ref: string): string => {
      if (guild.roles.has(ref)) return ref;
      const found = handle.roles[ref];
      if (!found) throw new Error(`discord sim: guild ${input.name} has no role ${ref}`);
      return found;
    };
    const members = [...(input.members ?? [])];
    const ownerListed = members.some((m) => m.id === input.ownerId || m.username === input.ownerId);
    if (!ownerListed) members.unshift(/^\d+$/.test(input.ownerId) ? { id: input.ownerId, username: `owner${input.ownerId.slice(-4)}` } : { username: input.ownerId });
    for (const m of members) {
      const user = this.addUser(m);
      guild.members.set(user.id, { userId: user.id, roles: (m.roles ?? []).map(roleId), nick: m.nick ?? null, joinedAt: now });
      handle.members[user.username] = user.id;
      if (m.id === input.ownerId || m.username === input.ownerId || user.id === input.ownerId) guild.ownerId = user.id;
    }
    handle.ownerId = guild.ownerId;
    guild.members.set(this.bot.id, { userId: this.bot.id, roles: [botRole.id], nick: null, joinedAt: now });
    const channels = input.channels?.length ? input.channels : [{ name: 'general' }];
    channels.forEach((c, i) => {
      const overwrites: SimOverwrite[] = (c.overwrites ?? []).map((o) => ({
        id: o.type === 'role' ? roleId(o.id) : (handle.members[o.id] ?? o.id),
        type: o.type === 'role' ? 0 : 1,
        allow: o.allow === undefined ? 0n : toPermissions(o.allow),
        deny: o.deny === undefined ? 0n : toPermissions(o.deny),
      }));
      const channel: SimChannel = {
        id: c.id ?? snowflake(),
        type: c.type ?? ChannelType.GuildText,
        guildId: id,
        name: c.name,
        position: i,
        parentId: c.parent ? (handle.channels[c.parent] ?? c.parent) : null,
        topic: c.topic ?? null,
        overwrites,
        recipientId: null,
        lastMessageId: null,
      };
      this.channels.set(channel.id, channel);
      guild.channelIds.push(channel.id);
      handle.channels[c.name] = channel.id;
    });
    this.guilds.set(id, guild);
    this.dispatch('GUILD_CREATE', (intents) => (intents & Intent.Guilds ? this.guildCreateJson(guild) : undefined));
    this.changed();
    return handle;
  }

  addMember(guildId: string, input: MemberInput): SimUser {
    const guild = this.guild(guildId);
    const user = this.addUser(input);
    const member: SimMember = { userId: user.id, roles: (input.roles ?? []).map((r) => this.roleRef(guild, r)), nick: input.nick ?? null, joinedAt: new Date().toISOString() };
    guild.members.set(user.id, member);
    this.dispatch('GUILD_MEMBER_ADD', (intents) =>
      intents & Intent.GuildMembers ? { ...memberJson(guild, member, user), guild_id: guild.id } : undefined,
    );
    this.changed();
    return user;
  }

  /**
   * A member leaves (or, with `ban`, is banned): GUILD_MEMBER_REMOVE goes to sessions with the
   * privileged GuildMembers intent, GUILD_BAN_ADD to those with GuildModeration; the user stays known.
   */
  removeMember(guildId: string, userId: string, options: { ban?: boolean } = {}): void {
    const guild = this.guild(guildId);
    if (!guild.members.delete(userId)) throw new Error(`discord sim: ${userId} is not a member of ${guildId}`);
    const user = this.users.get(userId);
    const payload = user ? { guild_id: guild.id, user: userJson(user) } : undefined;
    if (options.ban) this.dispatch('GUILD_BAN_ADD', (intents) => (intents & Intent.GuildModeration ? payload : undefined));
    this.dispatch('GUILD_MEMBER_REMOVE', (intents) => (intents & Intent.GuildMembers ? payload : undefined));
    this.changed();
  }

  updateMember(guildId: string, userId: string, change: { roles?: string[]; nick?: string | null }): void {
    const guild = this.guild(guildId);
    const member = guild.members.get(userId);
    if (!member) throw new Error(`discord sim: ${userId} is not a member of ${guildId}`);
    if (change.roles) member.roles = change.roles.map((r) => this.roleRef(guild, r));
    if (change.nick !== undefined) member.nick = change.nick;
    const user = this.users.get(userId);
    this.dispatch('GUILD_MEMBER_UPDATE', (intents) =>
      intents & Intent.GuildMembers ? { ...memberJson(guild, member, user), guild_id: guild.id } : undefined,
    );
    this.changed();
  }

  roleRef(guild: SimGuild, ref: string): string {
    if (guild.roles.has(ref)) return ref;
    for (const role of guild.roles.values()) if (role.name === ref) return role.id;
    throw new Error(`discord sim: guild ${guild.name} has no role ${ref}`);
  }

  guild(id: string): SimGuild {
    const guild = this.guilds.get(id);
    if (!guild) throw new Error(`discord sim: unknown guild ${id}`);
    return guild;
  }

  user(id: string): SimUser {
    const user = this.users.get(id);
    if (!user) throw new Error(`discord sim: unknown user ${id}`);
    return user;
  }

  channel(id: string): SimChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`discord sim: unknown channel ${id}`);
    return channel;
  }

  permissionsIn(channel: SimChannel, userId: string): bigint {
    if (!channel.guildId) return Permission.ViewChannel | Permission.SendMessages | Permission.EmbedLinks | Permission.AttachFiles | Permission.ReadMessageHistory | Permission.AddReactions;
    return channelPermissions(this.guild(channel.guildId), channel, userId);
  }

  guildJson(guild: SimGuild): Json {
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      roles: [...guild.roles.values()].map(roleJson),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      max_members: 500000,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      incidents_data: null,
    };
  }

  guildCreateJson(guild: SimGuild): Json {
    return {
      ...this.guildJson(guild),
      joined_at: guild.joinedAt,
      large: false,
      unavailable: false,
      member_count: guild.members.size,
      voice_states: [],
      members: [...guild.members.values()].map((m) => memberJson(guild, m, this.users.get(m.userId))),
      channels: guild.channelIds.map((id) => channelJson(this.channel(id))),
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  dmChannelFor(userId: string): SimChannel {
    const existing = this.dmChannels.get(userId);
    if (existing) return this.channel(existing);
    const channel: SimChannel = {
      id: snowflake(),
      type: ChannelType.DM,
      guildId: null,
      name: null,
      position: 0,
      parentId: null,
      topic: null,
      overwrites: [],
      recipientId: userId,
      lastMessageId: null,
    };
    this.channels.set(channel.id, channel);
    this.dmChannels.set(userId, channel.id);
    return channel;
  }

  // ----- messages --------------------------------------------------------------------------------

  storeAttachments(channelId: string, messageId: string, body: Json, files: SimFile[], keep: APIMessage['attachments'] = []): APIMessage['attachments'] {
    const out: APIMessage['attachments'] = [];
    const described = Array.isArray(body['attachments']) ? (body['attachments'] as Json[]) : null;
    const byIndex = new Map<string, SimFile>();
    files.forEach((f, i) => {
      const match = /^files\[(\d+)\]$/.exec(f.field);
      byIndex.set(match?.[1] ?? String(i), f);
    });
    const add = (file: SimFile, meta: Json): void => {
      const id = snowflake();
      const url = `${this.attachmentBaseUrl}/attachments/${channelId}/${id}/${encodeURIComponent(file.filename)}`;
      this.attachments.set(id, { id, messageId, channelId, filename: file.filename, contentType: file.contentType, size: file.size, data: file.data, url });
      const dims = pngSize(file.data);
      out.push({
        id,
        filename: file.filename,
        size: file.size,
        url,
        proxy_url: url,
        content_type: file.contentType,
        ...(typeof meta['description'] === 'string' ? { description: meta['description'] } : {}),
        ...(dims ? { width: dims.width, height: dims.height } : {}),
      } as APIMessage['attachments'][number]);
    };
    if (described) {
      for (const meta of described) {
        const ref = String(meta['id']);
        const file = byIndex.get(ref);
        if (file) {
          add(file, meta);
          byIndex.delete(ref);
        } else {
          const kept = keep.find((a) => a.id === ref);
          if (kept) out.push(kept);
        }
      }
      for (const file of byIndex.values()) add(file, {});
    } else {
      out.push(...keep);
      for (const file of byIndex.values()) add(file, {});
    }
    return out;
  }

  /** Users, roles and @everyone a message pings, after `allowed_mentions` (Discord's rules). */
  mentionsOf(content: string, allowed: Json | undefined, guildId: string | null, replyTo: StoredMessage | undefined): Pick<APIMessage, 'mentions' | 'mention_roles' | 'mention_everyone'> {
    const parse = allowed ? (Array.isArray(allowed['parse']) ? (allowed['parse'] as string[]) : []) : ['users', 'roles', 'everyone'];
    const allowedUsers = allowed && Array.isArray(allowed['users']) ? (allowed['users'] as string[]) : [];
    const allowedRoles = allowed && Array.isArray(allowed['roles']) ? (allowed['roles'] as string[]) : [];
    const users = new Map<string, APIUser>();
    for (const m of content.matchAll(/<@!?(\d+)>/g)) {
      const id = m[1] ?? '';
      const user = this.users.get(id);
      if (user && (parse.includes('users') || allowedUsers.includes(id))) users.set(id, userJson(user));
    }
    const repliedUser = allowed ? allowed['replied_user'] === true : true;
    if (replyTo && repliedUser) {
      const author = this.users.get(replyTo.message.author.id);
      if (author) users.set(author.id, userJson(author));
    }
    const roles: string[] = [];
    for (const m of content.matchAll(/<@&(\d+)>/g)) {
      const id = m[1] ?? '';
      if (guildId && this.guilds.get(guildId)?.roles.has(id) && (parse.includes('roles') || allowedRoles.includes(id))) roles.push(id);
    }
    return {
      mentions: [...users.values()],
      mention_roles: roles,
      mention_everyone: parse.includes('everyone') && /@(everyone|here)/.test(content),
    };
  }

  /** Builds and stores a message from a message-shaped body (already validated). */
  createMessage(opts: {
    channel: SimChannel;
    author: SimUser;
    body: Json;
    files: SimFile[];
    type?: number;
    ephemeral?: boolean;
    viewerId?: string | null;
    interactionId?: string | null;
    extra?: Partial<APIMessage>;
    /** false for interaction "thinking" placeholders and ephemeral messages. */
    broadcast?: boolean;
  }): StoredMessage {
    const { channel, author, body } = opts;
    const id = snowflake();
    const reference = body['message_reference'] as Json | undefined;
    const replyTo = reference && typeof reference['message_id'] === 'string' ? this.messages.get(reference['message_id']) : undefined;
    const content = typeof body['content'] === 'string' ? body['content'] : '';
    const message = {
      id,
      type: opts.type ?? (replyTo ? 19 : 0),
      channel_id: channel.id,
      author: userJson(author),
      content,
      timestamp: new Date(snowflakeTime(id)).toISOString(),
      edited_timestamp: null,
      tts: body['tts'] === true,
      ...this.mentionsOf(content, body['allowed_mentions'] as Json | undefined, channel.guildId, replyTo),
      mention_channels: [],
      attachments: this.storeAttachments(channel.id, id, body, opts.files),
      embeds: normaliseEmbeds(body['embeds']),
      components: Array.isArray(body['components']) ? body['components'] : [],
      pinned: false,
      flags: typeof body['flags'] === 'number' ? body['flags'] : 0,
      ...(body['nonce'] !== undefined && body['nonce'] !== null ? { nonce: body['nonce'] } : {}),
      ...(replyTo
        ? {
            message_reference: { type: 0, message_id: replyTo.message.id, channel_id: replyTo.message.channel_id, ...(replyTo.guildId ? { guild_id: replyTo.guildId } : {}) },
            referenced_message: replyTo.message,
          }
        : {}),
      ...(body['poll'] ? { poll: body['poll'] } : {}),
      ...opts.extra,
    } as APIMessage;
    const stored: StoredMessage = {
      message,
      guildId: channel.guildId,
      ephemeral: opts.ephemeral ?? false,
      viewerId: opts.viewerId ?? null,
      interactionId: opts.interactionId ?? null,
      deleted: false,
      history: [],
      reactions: new Map(),
    };
    this.messages.set(id, stored);
    if (!stored.ephemeral) {
      const list = this.channelMessageIds.get(channel.id) ?? [];
      list.push(id);
      this.channelMessageIds.set(channel.id, list);
      channel.lastMessageId = id;
    }
    if (opts.broadcast !== false && !stored.ephemeral) this.dispatchMessage('MESSAGE_CREATE', stored);
    this.changed();
    return stored;
  }

  /** Applies an edit body (content, embeds, components, attachments, flags, allowed_mentions). */
  editMessage(stored: StoredMessage, body: Json, files: SimFile[], opts: { broadcast?: boolean; extraFlagsToClear?: number } = {}): void {
    const before = stored.message;
    stored.history.push(before);
    const next = { ...before } as APIMessage & Json;
    if ('content' in body) next.content = typeof body['content'] === 'string' ? body['content'] : '';
    if ('embeds' in body) next.embeds = normaliseEmbeds(body['embeds']);
    if ('components' in body) next.components = (Array.isArray(body['components']) ? body['components'] : []) as NonNullable<APIMessage['components']>;
    if ('attachments' in body || files.length > 0) next.attachments = this.storeAttachments(before.channel_id, before.id, body, files, before.attachments);
    if (typeof body['flags'] === 'number') {
      // Ephemeral state and loading state cannot be changed by an edit; other flags can.
      next.flags = (body['flags'] & ~(64 | 128)) | ((before.flags ?? 0) & 64);
    }
    if (opts.extraFlagsToClear) next.flags = (next.flags ?? 0) & ~opts.extraFlagsToClear;
    if ('content' in body || 'allowed_mentions' in body) {
      Object.assign(next, this.mentionsOf(next.content, body['allowed_mentions'] as Json | undefined, stored.guildId, undefined));
    }
    next.edited_timestamp = new Date().toISOString();
    stored.message = next;
    if (opts.broadcast !== false && !stored.ephemeral) this.dispatchMessage('MESSAGE_UPDATE', stored);
    this.changed();
  }

  deleteMessage(stored: StoredMessage): void {
    stored.deleted = true;
    const list = this.channelMessageIds.get(stored.message.channel_id);
    if (list) this.channelMessageIds.set(stored.message.channel_id, list.filter((id) => id !== stored.message.id));
    if (!stored.ephemeral) {
      const data = { id: stored.message.id, channel_id: stored.message.channel_id, ...(stored.guildId ? { guild_id: stored.guildId } : {}) };
      this.dispatch('MESSAGE_DELETE', (intents) => (intents & (stored.guildId ? Intent.GuildMessages : Intent.DirectMessages) ? data : undefined));
    }
    this.changed();
  }

  /** MESSAGE_CREATE / MESSAGE_UPDATE, with guild_id and member, content withheld without the Message Content intent. */
  dispatchMessage(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', stored: StoredMessage): void {
    const message = stored.message;
    const guild = stored.guildId ? this.guilds.get(stored.guildId) : undefined;
    const member = guild?.members.get(message.author.id);
    this.dispatch(t, (intents, sessionUserId) => {
      if (!(intents & (guild ? Intent.GuildMessages : Intent.DirectMessages))) return undefined;
      const data: Json = { ...message };
      if (guild) {
        data['guild_id'] = guild.id;
        if (member && !message.webhook_id) data['member'] = memberJson(guild, member, undefined);
      }
      const privileged =
        intents & Intent.MessageContent ||
        !guild ||
        message.author.id === sessionUserId ||
        message.mentions.some((u) => u.id === sessionUserId);
      if (!privileged) {
        data['content'] = '';
        data['embeds'] = [];
        data['attachments'] = [];
        data['components'] = [];
        delete data['poll'];
      }
      return data;
    });
  }

  addReaction(stored: StoredMessage, emoji: string, userId: string): boolean {
    const users = stored.reactions.get(emoji) ?? new Set<string>();
    if (users.has(userId)) return false;
    users.add(userId);
    stored.reactions.set(emoji, users);
    this.refreshReactions(stored);
    const guild = stored.guildId ? this.guilds.get(stored.guildId) : undefined;
    const member = guild?.members.get(userId);
    const data: Json = {
      user_id: userId,
      channel_id: stored.message.channel_id,
      message_id: stored.message.id,
      emoji: emojiJson(emoji),
      message_author_id: stored.message.author.id,
      burst: false,
      burst_colors: [],
      type: 0,
      ...(guild ? { guild_id: guild.id } : {}),
      ...(guild && member ? { member: memberJson(guild, member, this.users.get(userId)) } : {}),
    };
    this.dispatch('MESSAGE_REACTION_ADD', (intents) => (intents & (guild ? Intent.GuildMessageReactions : Intent.DirectMessageReactions) ? data : undefined));
    this.changed();
    return true;
  }

  removeReaction(stored: StoredMessage, emoji: string, userId: string): void {
    const users = stored.reactions.get(emoji);
    if (!users?.delete(userId)) return;
    if (users.size === 0) stored.reactions.delete(emoji);
    this.refreshReactions(stored);
    const data: Json = {
      user_id: userId,
      channel_id: stored.message.channel_id,
      message_id: stored.message.id,
      emoji: emojiJson(emoji),
      burst: false,
      type: 0,
      ...(stored.guildId ? { guild_id: stored.guildId } : {}),
    };
    this.dispatch('MESSAGE_REACTION_REMOVE', (intents) => (intents & (stored.guildId ? Intent.GuildMessageReactions : Intent.DirectMessageReactions) ? data : undefined));
    this.changed();
  }

  refreshReactions(stored: StoredMessage): void {
    const reactions = [...stored.reactions.entries()].map(([emoji, users]) => ({
      emoji: emojiJson(emoji),
      count: users.size,
      count_details: { burst: 0, normal: users.size },
      burst_colors: [],
      me: users.has(this.bot.id),
      me_burst: false,
      burst_me: false,
      burst_count: 0,
    }));
    const next = { ...stored.message } as APIMessage;
    if (reactions.length) next.reactions = reactions as NonNullable<APIMessage['reactions']>;
    else delete next.reactions;
    stored.message = next;
  }

  /** Messages a channel shows (not deleted, not ephemeral), oldest first. */
  channelMessages(channelId: string): APIMessage[] {
    return (this.channelMessageIds.get(channelId) ?? []).map((id) => this.messages.get(id)).filter((m): m is StoredMessage => !!m && !m.deleted).map((m) => m.message);
  }

  recordViolation(v: Omit<SimViolation, 'at'>): void {
    this.violations.push({ at: Date.now(), ...v });
    this.changed();
  }
}

function normaliseEmbeds(raw: unknown): APIEmbed[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((e) => ({ type: 'rich', ...(e as APIEmbed) }) as APIEmbed);
}

/** `name:id` (custom) or a unicode emoji, as in the reaction route. */
export function emojiJson(emoji: string): { id: string | null; name: string | null; animated?: boolean } {
  const custom = /^(?:a:)?([\w~]+):(\d+)$/.exec(emoji);
  if (custom) return { id: custom[2] ?? null, name: custom[1] ?? null, ...(emoji.startsWith('a:') ? { animated: true } : {}) };
  return { id: null, name: emoji };
}

/** Width and height of a PNG (from its IHDR chunk), as Discord reports for image attachments. */
function pngSize(data: Buffer): { width: number; height: number } | null {
  if (data.length < 24 || data.readUInt32BE(0) !== 0x89504e47 || data.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}
