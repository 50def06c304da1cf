/**
 * One Discord gateway shard: a discord.js client identifying as shard `id` of `count`, serving the
 * interactions, signal-channel messages and bans of the servers Discord routes to it (server id >> 22
 * modulo count; direct messages go to shard 0). Each shard is led by one process (src/leadership.ts):
 * a process may hold several, each its own client, so a shard moves between processes alone.
 */
import { Events, Status, type Client } from 'discord.js';
import type { IIdentifyThrottler, WebSocketManager } from '@discordjs/ws';
import { SimpleIdentifyThrottler } from '@discordjs/ws';
import type { Logger } from '../logger';
import type { BotServices } from '../services';
import type { Clock } from '../trading/clock';
import { StartupProblem } from '../startupProblem';
import { createDiscordClient } from './client';
import type { BotCommand } from './command';
import { createMasterMemberWatch } from './masterMembers';
import { loadCommands } from './loader';
import { createInteractionRouter } from './router';
import { createSignalChannelListener } from './signalChannel';

/** Gateway close codes that end a start, with what to do about them. */
const GATEWAY_REFUSALS: Record<number, string> = {
  4004: 'Discord refused DISCORD_TOKEN at the gateway (4004 authentication failed): copy the bot token again from the Developer Portal, Bot → Reset Token (README, "Setting up the Discord application")',
  4011: 'Discord requires sharding for this bot (4011: too many servers for its shard count): set DISCORD_SHARDS=auto, or a larger number, on every process',
  4010: 'Discord refused the shard (4010 invalid shard): set DISCORD_SHARDS alike on every process',
  4014: 'Discord refused the Message Content intent (4014 disallowed intents): turn on Bot → Privileged Gateway Intents → Message Content Intent in the Developer Portal (README, "Setting up the Discord application")',
};

export interface ShardRef {
  readonly id: number;
  readonly count: number;
}

/**
 * Identifies of one process's shard clients, one at a time per Discord's `max_concurrency` bucket
 * (each client would otherwise throttle only itself, and Discord allows one identify per 5 s per
 * bucket). Shared by every shard this process connects.
 */
export function processIdentifyThrottle(): (manager: WebSocketManager) => Promise<IIdentifyThrottler> {
  let shared: Promise<IIdentifyThrottler> | null = null;
  return (manager) => {
    shared ??= manager
      .fetchGatewayInformation()
      .then((info) => new SimpleIdentifyThrottler(info.session_start_limit.max_concurrency) as IIdentifyThrottler)
      .catch((error: unknown) => {
        shared = null;
        throw error;
      });
    return shared;
  };
}

export interface GatewayShardOptions {
  token: string;
  /** Discord REST base URL: the simulator's in tests and the demo, wired in code only. */
  restApi?: string;
  shard: ShardRef;
  services: BotServices;
  log: Logger;
  clock: Clock;
  /** The health endpoint: a held shard registers as component `discord` (or `discord-shard-N`). */
  health?: { register(component: string, isUp: () => boolean): void };
  /** Commands to serve; loaded from commands/ when omitted. */
  commands?: ReadonlyMap<string, BotCommand>;
  /** How long to wait for the gateway's READY (default 30 s). */
  readyTimeoutMs?: number;
  /** How often copy masters' owners are checked to still be in their server (default 5 min; 0: only by hand). */
  masterCheckEveryMs?: number;
  /** The process's identify throttle (processIdentifyThrottle), shared by its shards. */
  identifyThrottle?: (manager: WebSocketManager) => Promise<IIdentifyThrottler>;
}

export interface GatewayShard {
  readonly shard: ShardRef;
  client: Client;
  /** One check that copy masters' owners (of this shard's servers) are still members. */
  checkMasters(): Promise<number>;
  stop(): Promise<void>;
}

export async function connectGatewayShard(options: GatewayShardOptions): Promise<GatewayShard> {
  const { shard } = options;
  const log = options.log.child({ component: 'discord', ...(shard.count > 1 ? { shard: shard.id } : {}) });
  const commands = options.commands ?? (await loadCommands());
  const client = createDiscordClient({
    ...(options.restApi ? { restApi: options.restApi } : {}),
    shard,
    ...(options.identifyThrottle ? { identifyThrottle: options.identifyThrottle } : {}),
  });
  const route = createInteractionRouter(commands, { services: options.services, log, clock: options.clock });
  client.on(Events.InteractionCreate, (interaction) => void route(interaction));
  const onSignalMessage = createSignalChannelListener({ channelSignals: options.services.channelSignals, log });
  client.on(Events.MessageCreate, (message) => void onSignalMessage(message));
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.ShardDisconnect, (_event, id) => log.warn({ shard: id }, 'gateway disconnected'));
  client.rest.on('rateLimited', (info) =>
    log.debug({ route: info.route, retryAfterMs: info.retryAfter, global: info.global }, 'discord rate limit: waiting'),
  );
  let stopped = false;
  // Down only while this process leads the shard with its gateway not ready (a follower's view is the cluster's, app.ts).
  options.health?.register(shard.count > 1 ? `discord-shard-${shard.id}` : 'discord', () => stopped || client.ws.status === Status.Ready);

  // A master whose owner left or was banned stops steering followers (this shard's servers).
  const masterMembers = createMasterMemberWatch({ client, masterships: options.services.masterships, log });
  client.on(Events.GuildBanAdd, (ban) => void masterMembers.onBan(ban));
  let masterTimer: NodeJS.Timeout | null = null;

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Discord gateway did not become ready in time')), options.readyTimeoutMs ?? 30_000);
    client.once(Events.ClientReady, () => {
      clearTimeout(timer);
      resolve();
    });
    // Closes the gateway will not retry: said plainly, not after the timeout.
    client.on(Events.ShardDisconnect, (event) => {
      const refusal = GATEWAY_REFUSALS[event.code];
      if (!refusal) return;
      clearTimeout(timer);
      reject(new StartupProblem(refusal));
    });
  });
  try {
    await client.login(options.token);
    await ready;
  } catch (error) {
    stopped = true;
    await client.destroy();
    // @discordjs/ws rejects the login with a bare Error for these closes (no code on it).
    const message = error instanceof Error ? error.message : '';
    if (message === 'Used disallowed intents') throw new StartupProblem(GATEWAY_REFUSALS[4014]!, { cause: error });
    if (message === 'Authentication failed') throw new StartupProblem(GATEWAY_REFUSALS[4004]!, { cause: error });
    if (message === 'Invalid shard') throw new StartupProblem(GATEWAY_REFUSALS[4010]!, { cause: error });
    if (message === 'Sharding is required') throw new StartupProblem(GATEWAY_REFUSALS[4011]!, { cause: error });
    throw error;
  }
  log.info({ commands: [...commands.keys()], user: client.user?.tag, shard: `${shard.id + 1} of ${shard.count}` }, 'connected to Discord');
  const masterCheckEveryMs = options.masterCheckEveryMs ?? 5 * 60_000;
  if (masterCheckEveryMs > 0)
    masterTimer = setInterval(() => {
      masterMembers.check().catch((error: unknown) => log.error({ err: error }, 'copy master membership check failed'));
    }, masterCheckEveryMs);

  return {
    shard,
    client,
    checkMasters: () => masterMembers.check(),
    async stop() {
      stopped = true;
      if (masterTimer) clearInterval(masterTimer);
      await client.destroy();
    },
  };
}
