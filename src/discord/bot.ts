/**
 * The whole Discord side in one process, as one shard: the gateway (commands, signal channel, bans)
 * and the feed. The app leads the shards and the feed apart (app.ts, src/leadership.ts); tests and
 * tools that want one bot use this.
 */
import type { Client } from 'discord.js';
import type { Logger } from '../logger';
import type { BotServices } from '../services';
import type { Clock } from '../clock';
import type { BotCommand } from './command';
import { startFeedRunner } from './feedRunner';
import { connectGatewayShard } from './gatewayShard';

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
    /** Off: tests call `feedPoster.flush()` themselves (and the masters' check is not timed either). */
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

/** Connects the bot as shard 0 of 1 with its feed poster. */
export async function startDiscord(options: StartDiscordOptions): Promise<DiscordBot> {
  const gateway = await connectGatewayShard({
    token: options.token,
    ...(options.restApi ? { restApi: options.restApi } : {}),
    shard: { id: 0, count: 1 },
    services: options.services,
    log: options.log,
    clock: options.clock,
    ...(options.health ? { health: options.health } : {}),
    ...(options.commands ? { commands: options.commands } : {}),
    ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
    masterCheckEveryMs: options.feed.autoStart === false ? 0 : (options.masterCheckEveryMs ?? 5 * 60_000),
  });
  const feed = startFeedRunner({
    token: options.token,
    ...(options.restApi ? { restApi: options.restApi } : {}),
    services: options.services,
    log: options.log,
    clock: options.clock,
    compactThreshold: options.feed.compactThreshold,
    ...(options.feed.intervalMs === undefined ? {} : { intervalMs: options.feed.intervalMs }),
    ...(options.feed.autoStart === undefined ? {} : { autoStart: options.feed.autoStart }),
  });
  return {
    client: gateway.client,
    feedPoster: { flush: () => feed.flush() },
    checkMasters: () => gateway.checkMasters(),
    async stop() {
      // The gateway first: a process that lost its lock must stop answering interactions before a
      // feed pass under way (slowed by rate limits) ends; the feed's nonces keep a late post single.
      const gatewayClosed = gateway.stop();
      await feed.stop();
      await gatewayClosed;
    },
  };
}
