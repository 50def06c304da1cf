import { Events, Status } from 'discord.js';
import type { Client } from 'discord.js';
import type { Logger } from '../logger';
import type { BotServices } from '../services';
import type { Clock } from '../trading/clock';
import { createDiscordClient } from './client';
import { createCopyConfirmSender } from './copyConfirmations';
import { StartupProblem } from '../startupProblem';
import type { BotCommand } from './command';
import { createFeedPoster } from './feedPoster';
import { createMasterMemberWatch } from './masterMembers';
import { loadCommands } from './loader';
import { createInteractionRouter } from './router';
import { createSignalChannelListener } from './signalChannel';

/** Gateway close codes that end a start, with what to do about them. */
const GATEWAY_REFUSALS: Record<number, string> = {
  4004: 'Discord refused DISCORD_TOKEN at the gateway (4004 authentication failed): copy the bot token again from the Developer Portal, Bot → Reset Token (README, "Setting up the Discord application")',
  4014: 'Discord refused the Message Content intent (4014 disallowed intents): turn on Bot → Privileged Gateway Intents → Message Content Intent in the Developer Portal (README, "Setting up the Discord application")',
};

export interface StartDiscordOptions {
  token: string;
  /** Discord REST base URL: the simulator's in tests and the demo, wired in code only. */
  restApi?: string;
  services: BotServices;
  log: Logger;
  clock: Clock;
  /** The health endpoint: the Discord connection registers as component `discord`. */
  health?: { register(component: string, isUp: () => boolean): void };
  feed: {
    /** Above this many accounts per signal the per-order feed is compacted into lines (default 20). */
    compactThreshold: number;
    /** Pause between feed passes (default 1 s). */
    intervalMs?: number;
    /** Off: tests call `feedPoster.flush()` themselves. */
    autoStart?: boolean;
  };
  /** Checked before each feed pass: only the leader posts. */
  isLeader: () => Promise<boolean>;
  /** Commands to serve; loaded from commands/ when omitted. */
  commands?: ReadonlyMap<string, BotCommand>;
  /** How long to wait for the gateway's READY (default 30 s). */
  readyTimeoutMs?: number;
  /** How often copy masters' owners are checked to still be in their server (default 5 min). */
  masterCheckEveryMs?: number;
}

export interface DiscordBot {
  client: Client;
  feedPoster: { flush(): Promise<number> };
  /** One check that copy masters' owners are still members (tests call it; the bot runs it on a timer). */
  checkMasters(): Promise<number>;
  stop(): Promise<void>;
}

/** Connects the bot: commands, interaction router, feed poster. Call only in the leader process. */
export async function startDiscord(options: StartDiscordOptions): Promise<DiscordBot> {
  const log = options.log.child({ component: 'discord' });
  const commands = options.commands ?? (await loadCommands());
  const client = createDiscordClient(options.restApi ? { restApi: options.restApi } : {});
  const route = createInteractionRouter(commands, { services: options.services, log, clock: options.clock });
  client.on(Events.InteractionCreate, (interaction) => void route(interaction));
  const onSignalMessage = createSignalChannelListener({ channelSignals: options.services.channelSignals, log });
  client.on(Events.MessageCreate, (message) => void onSignalMessage(message));
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.ShardDisconnect, (_event, shard) => log.warn({ shard }, 'gateway disconnected'));
  client.rest.on('rateLimited', (info) =>
    log.debug({ route: info.route, retryAfterMs: info.retryAfter, global: info.global }, 'discord rate limit: waiting'),
  );
  let stopped = false;
  // Down only while this process leads with its gateway not ready (a follower's view is the cluster's, app.ts).
  options.health?.register('discord', () => stopped || client.ws.status === Status.Ready);

  const feedPoster = createFeedPoster({
    rest: client.rest,
    feed: options.services.feed,
    log,
    clock: options.clock,
    compactThreshold: options.feed.compactThreshold,
    isLeader: options.isLeader,
    ...(options.feed.intervalMs === undefined ? {} : { intervalMs: options.feed.intervalMs }),
  });

  // Copy trading: copies waiting for a follower's Copy / Skip go out as DMs on the feed's rhythm.
  const confirmations = createCopyConfirmSender({ client, copy: options.services.copy, log, now: () => options.clock.now() });
  let confirmTimer: NodeJS.Timeout | null = null;
  // A master whose owner left or was banned stops steering followers.
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
    throw error;
  }
  log.info({ commands: [...commands.keys()], user: client.user?.tag }, 'connected to Discord');
  if (options.feed.autoStart !== false) {
    feedPoster.start();
    confirmTimer = setInterval(() => {
      confirmations.flush().catch((error: unknown) => log.error({ err: error }, 'copy confirmations failed'));
    }, options.feed.intervalMs ?? 1000);
    masterTimer = setInterval(() => {
      masterMembers.check().catch((error: unknown) => log.error({ err: error }, 'copy master membership check failed'));
    }, options.masterCheckEveryMs ?? 5 * 60_000);
  }

  return {
    client,
    feedPoster: { flush: async () => (await feedPoster.flush()) + (await confirmations.flush()) },
    checkMasters: () => masterMembers.check(),
    async stop() {
      stopped = true;
      if (confirmTimer) clearInterval(confirmTimer);
      if (masterTimer) clearInterval(masterTimer);
      // The gateway first: a leader that lost its lock must stop answering interactions before a
      // feed pass under way (slowed by rate limits) ends; the feed's nonces keep a late post single.
      const gatewayClosed = client.destroy();
      await feedPoster.stop();
      await gatewayClosed;
    },
  };
}
