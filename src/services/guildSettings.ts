import type { GuildSettingsRow, GuildsRepository } from '../db/repositories/guilds';
import type { ReadModels } from '../db/repositories/readModels';
import type { Logger } from '../logger';
import { forbidden } from './errors';

/** Who is acting on a server's settings. `isAdmin` is checked here again, whatever Discord let through. */
export interface GuildActor {
  guildId: string;
  userId: string;
  isAdmin: boolean;
}

export interface GuildSettingsView {
  guildId: string;
  feedChannelId: string | null;
  signalChannelId: string | null;
  callerRoleId: string | null;
  paused: boolean;
  accounts: number;
  enabledAccounts: number;
  members: number;
}

const NOT_ADMIN = 'Only server admins (Manage Server permission) can change the bot\'s server settings.';

export function createGuildSettingsService(deps: { guilds: GuildsRepository; reads: ReadModels; log: Logger }) {
  const { guilds, reads, log } = deps;
  const admin = (actor: GuildActor) => {
    if (!actor.isAdmin) throw forbidden(NOT_ADMIN);
  };
  const view = async (row: GuildSettingsRow | null, guildId: string): Promise<GuildSettingsView> => {
    const counts = await reads.accountCounts(guildId);
    return {
      guildId,
      feedChannelId: row?.feedChannelId ?? null,
      signalChannelId: row?.signalChannelId ?? null,
      callerRoleId: row?.callerRoleId ?? null,
      paused: row?.paused ?? false,
      accounts: counts.accounts,
      enabledAccounts: counts.enabled,
      members: counts.members,
    };
  };
  const change = async (actor: GuildActor, patch: Parameters<GuildsRepository['update']>[1], what: string) => {
    admin(actor);
    const row = await guilds.update(actor.guildId, patch);
    log.info({ guildId: actor.guildId, by: actor.userId, change: what }, 'server settings changed');
    return view(row, actor.guildId);
  };

  return {
    /** Read by anyone in the server (the feed poster, the signal command); no secrets in it. */
    get: async (guildId: string) => guilds.get(guildId),
    show: async (actor: GuildActor) => {
      admin(actor);
      return view(await guilds.get(actor.guildId), actor.guildId);
    },
    setFeedChannel: (actor: GuildActor, channelId: string | null) => change(actor, { feedChannelId: channelId }, 'feed-channel'),
    setSignalChannel: (actor: GuildActor, channelId: string | null) =>
      change(actor, { signalChannelId: channelId }, 'signal-channel'),
    setCallerRole: (actor: GuildActor, roleId: string | null) => change(actor, { callerRoleId: roleId }, 'caller-role'),
    pause: (actor: GuildActor) => change(actor, { paused: true }, 'pause'),
    resume: (actor: GuildActor) => change(actor, { paused: false }, 'resume'),
  };
}

export type GuildSettingsService = ReturnType<typeof createGuildSettingsService>;
