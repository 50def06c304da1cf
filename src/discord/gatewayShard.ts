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
import type { Clock } from '../clock';
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
export type IdentifyThrottle = (manager: WebSocketManager) => Promise<IIdentifyThrottler>;

export function processIdentifyThrottle(): IdentifyThrottle {
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

/** The throttle, telling when this client joins the identify queue (it reached the gateway) and when its turn comes. */
function tellingTurn(throttle: IdentifyThrottle, onQueued: () => void, onTurn: () => void): IdentifyThrottle {
  return async (manager) => {
    const inner = await throttle(manager);
    return {
      async waitForIdentify(shardId: number, signal: AbortSignal) {
        onQueued();
        await inner.waitForIdentify(shardId, signal);
        onTurn();
      },
    };
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
  /** How long to wait for the gateway's READY once this shard's identify may go (default 30 s). */
  readyTimeoutMs?: number;
  /** How often copy masters' owners are checked to still be in their server (default 5 min; 0: only by hand). */
  masterCheckEveryMs?: number;
  /** The process's identify throttle (processIdentifyThrottle), shared by its shards; one of its own otherwise. */
  identifyThrottle?: IdentifyThrottle;
  /** Aborts the connect (the shard's lock was lost meanwhile): the client is closed, nothing served. */
  signal?: AbortSignal;
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
  // The ready timer runs while the gateway is being reached and from this shard's identify turn to
  // READY, not while it waits its turn behind the process's other shards (Discord allows one identify
  // per 5 s per concurrency bucket): a takeover of many shards must not time its last ones out.
  let readyTimer: NodeJS.Timeout | null = null;
  let timeOut = () => {};
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const startReadyTimer = () => {
    if (readyTimer) clearTimeout(readyTimer);
    readyTimer = setTimeout(() => timeOut(), readyTimeoutMs);
  };
  const pauseReadyTimer = () => {
    if (readyTimer) clearTimeout(readyTimer);
    readyTimer = null;
  };
  const client = createDiscordClient({
    ...(options.restApi ? { restApi: options.restApi } : {}),
    shard,
    identifyThrottle: tellingTurn(options.identifyThrottle ?? processIdentifyThrottle(), pauseReadyTimer, startReadyTimer),
  });
  // Serving until stopped: a client closed after losing its lock may still hold queued gateway events.
  let serving = true;
  const route = createInteractionRouter(commands, { services: options.services, log, clock: options.clock });
  client.on(Events.InteractionCreate, (interaction) => {
    if (serving) void route(interaction);
  });
  const onSignalMessage = createSignalChannelListener({ channelSignals: options.services.channelSignals, log });
  client.on(Events.MessageCreate, (message) => {
    if (serving) void onSignalMessage(message);
  });
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
  client.on(Events.GuildBanAdd, (ban) => {
    if (serving) void masterMembers.onBan(ban);
  });
  let masterTimer: NodeJS.Timeout | null = null;

  const ready = new Promise<void>((resolve, reject) => {
    timeOut = () => reject(new Error('Discord gateway did not become ready in time'));
    client.once(Events.ClientReady, () => resolve());
    // Closes the gateway will not retry: said plainly, not after the timeout.
    client.on(Events.ShardDisconnect, (event) => {
      const refusal = GATEWAY_REFUSALS[event.code];
      if (refusal) reject(new StartupProblem(refusal));
    });
    const aborted = () => reject(options.signal?.reason instanceof Error ? options.signal.reason : new Error('connect aborted'));
    if (options.signal?.aborted) aborted();
    else options.signal?.addEventListener('abort', aborted, { once: true });
  });
  // Whatever ends the connect first is the answer; the other outcome is not left unhandled.
  ready.catch(() => undefined);
  startReadyTimer();
  const login = client.login(options.token);
  login.catch(() => undefined);
  try {
    // A gateway that cannot be reached leaves login() retrying forever: the ready timer, a refusal
    // or the abort ends the wait all the same.
    await Promise.race([login.then(() => ready), ready]);
  } catch (error) {
    serving = false;
    stopped = true;
    await client.destroy();
    // @discordjs/ws rejects the login with a bare Error for these closes (no code on it).
    const message = error instanceof Error ? error.message : '';
    if (message === 'Used disallowed intents') throw new StartupProblem(GATEWAY_REFUSALS[4014]!, { cause: error });
    if (message === 'Authentication failed') throw new StartupProblem(GATEWAY_REFUSALS[4004]!, { cause: error });
    if (message === 'Invalid shard') throw new StartupProblem(GATEWAY_REFUSALS[4010]!, { cause: error });
    if (message === 'Sharding is required') throw new StartupProblem(GATEWAY_REFUSALS[4011]!, { cause: error });
    throw error;
  } finally {
    pauseReadyTimer();
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
      serving = false;
      stopped = true;
      if (masterTimer) clearInterval(masterTimer);
      await client.destroy();
    },
  };
}
