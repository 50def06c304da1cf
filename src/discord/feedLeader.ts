/**
 * The feed poster and the copy-trade DMs: REST only, so they run in whichever process leads the feed
 * (src/leadership.ts, a lock of their own), apart from the gateway shards. One poster for the whole
 * bot: Discord's global limit (50 requests a second) is per bot token, not per process, so posting
 * from several processes would not post faster, only out of order within a channel.
 */
import type { Logger } from '../logger';
import type { BotServices } from '../services';
import type { Clock } from '../trading/clock';
import { REST } from 'discord.js';
import { createCopyConfirmSender } from './copyConfirmations';
import { createFeedPoster } from './feedPoster';

export interface FeedLeaderOptions {
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
  /** Checked before each feed pass: only the feed's leader posts. */
  isLeader: () => Promise<boolean>;
}

export interface FeedLeader {
  /** One feed pass and one DM pass; answers how many messages went out. */
  flush(): Promise<number>;
  stop(): Promise<void>;
}

export function startFeedLeader(options: FeedLeaderOptions): FeedLeader {
  const log = options.log.child({ component: 'feed' });
  const rest = new REST(options.restApi ? { api: options.restApi } : {}).setToken(options.token);
  rest.on('rateLimited', (info) =>
    log.debug({ route: info.route, retryAfterMs: info.retryAfter, global: info.global }, 'discord rate limit: waiting'),
  );
  const feedPoster = createFeedPoster({
    rest,
    feed: options.services.feed,
    log,
    clock: options.clock,
    compactThreshold: options.compactThreshold,
    isLeader: options.isLeader,
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
  });
  // Copy trading: copies waiting for a follower's Copy / Skip go out as DMs on the feed's rhythm.
  const confirmations = createCopyConfirmSender({ rest, copy: options.services.copy, log, now: () => options.clock.now() });
  let confirmTimer: NodeJS.Timeout | null = null;
  if (options.autoStart !== false) {
    feedPoster.start();
    confirmTimer = setInterval(() => {
      confirmations.flush().catch((error: unknown) => log.error({ err: error }, 'copy confirmations failed'));
    }, options.intervalMs ?? 1000);
  }
  return {
    flush: async () => (await feedPoster.flush()) + (await confirmations.flush()),
    async stop() {
      if (confirmTimer) clearInterval(confirmTimer);
      // The pass under way ends first (it checked the lock when it began): every message it sends
      // belongs to a batch reserved before sending, whose nonce the next leader reuses, so Discord
      // answers a late duplicate with the first message.
      await feedPoster.stop();
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
    },
  };
}
