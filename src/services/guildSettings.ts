import type { GuildSettingsRow, GuildsRepository } from '../db/repositories/guilds';
import type { ReadModels } from '../db/repositories/readModels';
import type { Masterships } from '../copy/mastership';
import type { Logger } from '../logger';
import { TIMEFRAMES } from '../strategy/strategy';
import { forbidden, invalid } from './errors';
import { normaliseSymbol } from './signals';

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

export function createGuildSettingsService(deps: {
  guilds: GuildsRepository;
  reads: ReadModels;
  log: Logger;
  /** Members' masterships the new copy-masters setting no longer allows end with it. */
  masterships?: Pick<Masterships, 'endNotAllowed'>;
  /** The operator's STRATEGY_ENABLED: off, no server may turn the built-in strategy on (default on). */
  strategyAllowed?: boolean;
}) {
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
    /** The built-in example strategy: on with a watchlist and timeframe, or off. */
    async setStrategy(actor: GuildActor, input: { enabled: boolean; watchlist?: string; timeframe?: string }) {
      admin(actor);
      if (input.enabled && deps.strategyAllowed === false)
        throw invalid("The built-in strategy is off on this bot: its operator has STRATEGY_ENABLED=false. Ask them to turn it on.");
      const patch: Parameters<GuildsRepository['update']>[1] = { strategyEnabled: input.enabled };
      if (input.timeframe !== undefined) {
        if (!TIMEFRAMES[input.timeframe]) throw invalid(`Timeframe must be one of ${Object.keys(TIMEFRAMES).join(', ')}.`);
        patch.strategyTimeframe = input.timeframe;
      }
      if (input.watchlist !== undefined) {
        const symbols = [...new Set(input.watchlist.split(/[\s,;]+/).filter(Boolean).map(normaliseSymbol))];
        if (symbols.length > 20) throw invalid('At most 20 symbols in the strategy watchlist.');
        patch.strategyWatchlist = symbols;
      }
      const current = await guilds.get(actor.guildId);
      const watchlist = patch.strategyWatchlist ?? current?.strategyWatchlist ?? [];
      if (input.enabled && watchlist.length === 0) throw invalid('Give the strategy a watchlist, e.g. watchlist:BTC/USDT,ETH/USDT.');
      const view = await change(actor, patch, input.enabled ? 'strategy-on' : 'strategy-off');
      return { view, strategy: { enabled: input.enabled, watchlist, timeframe: patch.strategyTimeframe ?? current?.strategyTimeframe ?? '1h' } };
    },
    /** Who may make an account a copy-trading master besides admins: nobody, listed members, or everyone. */
    async setCopyMasters(actor: GuildActor, mode: 'off' | 'listed' | 'all', member?: { id: string; remove: boolean }) {
      admin(actor);
      const current = (await guilds.get(actor.guildId))?.copyMasterMembers ?? [];
      const members = member ? (member.remove ? current.filter((id) => id !== member.id) : [...new Set([...current, member.id])]) : current;
      const view = await change(actor, { copyMasters: mode, copyMasterMembers: members }, 'copy-masters');
      const ended = (await deps.masterships?.endNotAllowed(actor.guildId, { mode, members })) ?? [];
      return { view, copyMasters: { mode, members, ended: ended.length } };
    },
    pause: (actor: GuildActor) => change(actor, { paused: true }, 'pause'),
    resume: (actor: GuildActor) => change(actor, { paused: false }, 'resume'),
  };
}

export type GuildSettingsService = ReturnType<typeof createGuildSettingsService>;
