/**
 * Keeps a user-data stream open for each followed account that has one, and turns what it hears into
 * a visit of the account now (PositionSync's urgent lane). A hint only: the visit reads the exchange
 * over REST as always, and the polling goes on beside it, so a lost event is found by the next routine
 * turn. Events between a loss and the reconnect are lost too: each (re)connect asks for a visit.
 *
 * Exchange limits: connects are paced process-wide (Binance allows 300 connection attempts per 5
 * minutes per IP), and a stream that fails waits longer each time (1 s, 2 s, … 60 s, with jitter).
 */
import type { Logger } from '../../logger';
import type { AccountStream } from '../../exchange/gateway';
import type { Clock } from '../clock';

export type StreamHint = 'event' | 'connected';

export interface AccountStreamsOptions<A extends { readonly id: string }> {
  /** The account's stream, or null when it has none (paper, spot, an exchange not followed). */
  streamFor: (account: A) => AccountStream | null;
  /** Told when the account's state may have changed (an event) or events may have been missed (a (re)connect). */
  onHint: (account: A, hint: StreamHint) => void;
  clock: Clock;
  log: Logger;
  /** Process-wide gap between two connection attempts (default 1,200 ms: 250 per 5 minutes). */
  connectEveryMs?: number;
  /** Longest wait after failures (default 60 s). */
  maxBackoffMs?: number;
}

interface Followed<A> {
  account: A;
  stream: AccountStream;
  stopped: boolean;
  /** Resolves when the account is no longer followed: ends any wait at once. */
  stopping: Promise<void>;
  stop: () => void;
  done: Promise<void>;
}

/** A connection that lived this long was healthy: the next loss starts the back-off over. */
const HEALTHY_AFTER_MS = 60_000;

export class AccountStreams<A extends { readonly id: string }> {
  private readonly followed = new Map<string, Followed<A>>();
  private nextConnectAt = 0;
  private readonly connectEveryMs: number;
  private readonly maxBackoffMs: number;
  private openCount = 0;

  constructor(private readonly options: AccountStreamsOptions<A>) {
    this.connectEveryMs = options.connectEveryMs ?? 1_200;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
  }

  /** Streams currently open. */
  get open(): number {
    return this.openCount;
  }

  /** Follows exactly these accounts: streams for new ones start (paced), those of the others close. */
  follow(accounts: Iterable<A>): void {
    const wanted = new Map<string, A>();
    for (const account of accounts) wanted.set(account.id, account);
    for (const [id, entry] of this.followed) {
      if (wanted.has(id)) entry.account = wanted.get(id)!;
      else void this.unfollow(id);
    }
    for (const [id, account] of wanted) {
      if (this.followed.has(id)) continue;
      const stream = this.options.streamFor(account);
      if (!stream) continue;
      let stop!: () => void;
      const stopping = new Promise<void>((resolve) => (stop = resolve));
      const entry: Followed<A> = { account, stream, stopped: false, stopping, stop, done: Promise.resolve() };
      this.followed.set(id, entry);
      entry.done = this.run(entry);
    }
  }

  /** Closes every stream and waits for their loops to end. */
  async stop(): Promise<void> {
    await Promise.all([...this.followed.keys()].map((id) => this.unfollow(id)));
  }

  private async unfollow(id: string): Promise<void> {
    const entry = this.followed.get(id);
    if (!entry) return;
    this.followed.delete(id);
    entry.stopped = true;
    entry.stop();
    await entry.stream.close().catch(() => undefined);
    await entry.done;
  }

  /** Waits for this process's next connection slot. */
  private async connectTurn(entry: Followed<A>): Promise<void> {
    const now = this.options.clock.now();
    const at = Math.max(now, this.nextConnectAt);
    this.nextConnectAt = at + this.connectEveryMs;
    if (at > now) await this.pause(entry, at - now);
  }

  private pause(entry: Followed<A>, ms: number): Promise<void> {
    return Promise.race([this.options.clock.sleep(ms), entry.stopping]);
  }

  private async run(entry: Followed<A>): Promise<void> {
    const { clock, log, onHint } = this.options;
    let failures = 0;
    let connected = false;
    let openedAt = 0;
    entry.stream.onOpen(() => {
      if (entry.stopped) return;
      connected = true;
      openedAt = clock.now();
      this.openCount += 1;
      onHint(entry.account, 'connected');
    });
    while (!entry.stopped) {
      if (!connected) await this.connectTurn(entry);
      if (entry.stopped) break;
      try {
        await entry.stream.next();
        if (!entry.stopped) onHint(entry.account, 'event');
      } catch (error) {
        if (connected) {
          this.openCount -= 1;
          if (clock.now() - openedAt >= HEALTHY_AFTER_MS) failures = 0;
        }
        connected = false;
        if (entry.stopped) break;
        failures += 1;
        // What happened while it was down is found by the visit that follows the reconnect.
        const backoff = Math.min(this.maxBackoffMs, 1_000 * 2 ** Math.min(failures - 1, 6));
        const wait = backoff / 2 + Math.random() * (backoff / 2);
        log.debug({ err: error, accountId: entry.account.id, failures, waitMs: Math.round(wait) }, 'user-data stream lost; reconnecting');
        await this.pause(entry, wait);
      }
    }
    if (connected) this.openCount -= 1;
  }
}
