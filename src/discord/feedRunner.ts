/**
 * The feed poster and the copy-trade DMs of one process: REST only, apart from the gateway shards.
 * Every process runs one; with several processes each claims the scopes it posts (a server's feed, a
 * member's DMs: src/db/schema.ts feedClaims) pass by pass, so a channel is posted by one process at a
 * time and reads in order, and a dead process's scopes pass to the others when their claims lapse.
 */
import { randomUUID } from 'node:crypto';
import { REST } from 'discord.js';
import type { Logger } from '../logger';
import type { BotServices } from '../services';
import type { Clock } from '../clock';
import { createCopyConfirmSender } from './copyConfirmations';
import { createFeedPoster } from './feedPoster';

export interface FeedRunnerOptions {
  token: string;
  /** Discord REST base URL: the simulator's in tests and the demo, wired in code only. */
  restApi?: string;
  services: BotServices;
  log: Logger;
  clock: Clock;
  /** Above this many accounts per signal the per-order feed is compacted into lines (default 20). */
  compactThreshold: number;
  /** Pause between feed passes (default 1 s). */
  intervalMs?: number;
  /** Off: tests call `flush()` themselves. */
  autoStart?: boolean;
  /** Several processes: claim scopes (src/discord/feedPoster.ts); off, every due row is this process's. */
  claims?: boolean;
  /** How long a claim lasts unless renewed (default 15 s). */
  claimTtlMs?: number;
}

export interface FeedRunner {
  /** One feed pass and one DM pass; answers how many messages went out. */
  flush(): Promise<number>;
  stop(): Promise<void>;
}

export function startFeedRunner(options: FeedRunnerOptions): FeedRunner {
  const log = options.log.child({ component: 'feed' });
  const rest = new REST(options.restApi ? { api: options.restApi } : {}).setToken(options.token);
  rest.on('rateLimited', (info) =>
    log.debug({ route: info.route, retryAfterMs: info.retryAfter, global: info.global }, 'discord rate limit: waiting'),
  );
  const holder = options.claims ? randomUUID() : undefined;
  const claimTtlMs = options.claimTtlMs ?? 15_000;
  const feed = options.services.feed;
  const feedPoster = createFeedPoster({
    rest,
    feed,
    log,
    clock: options.clock,
    compactThreshold: options.compactThreshold,
    isLeader: async () => true,
    ...(holder ? { holder, claimTtlMs } : {}),
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
  });
  // Copy trading: copies waiting for a follower's Copy / Skip go out as DMs on the feed's rhythm.
  const confirmations = createCopyConfirmSender({
    rest,
    copy: options.services.copy,
    log,
    now: () => options.clock.now(),
    ...(holder ? { claim: (scopes: readonly string[]) => feed.claim(scopes, holder, claimTtlMs) } : {}),
  });
  let confirmTimer: NodeJS.Timeout | null = null;
  let dmPass: Promise<unknown> = Promise.resolve();
  if (options.autoStart !== false) {
    feedPoster.start();
    confirmTimer = setInterval(() => {
      dmPass = confirmations.flush().catch((error: unknown) => log.error({ err: error }, 'copy confirmations failed'));
    }, options.intervalMs ?? 1000);
  }
  return {
    flush: async () => (await feedPoster.flush()) + (await confirmations.flush()),
    async stop() {
      if (confirmTimer) clearInterval(confirmTimer);
      // A DM pass under way ends before the claims are released (it could claim again otherwise).
      await dmPass;
      // The pass under way ends first; every message it sends belongs to a batch reserved before
      // sending, whose nonce the next poster of the scope reuses (Discord answers a late duplicate
      // with the first message). Then its claims are released.
      await feedPoster.stop();
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
    },
  };
}
