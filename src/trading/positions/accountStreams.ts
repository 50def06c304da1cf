/**
 * Keeps a user-data stream open for each followed account that has one, and turns what it hears into
 * a visit of the account now (PositionSync's urgent lane). A hint only: the visit reads the exchange
 * over REST as always, and the polling goes on beside it, so a lost event is found by the next routine
 * turn. Only reports worth a visit ask for one (src/domain/streamHints.ts: not the bot's own orders
 * resting as placed), and a reconnect does (events between the loss and it are unheard); the first
 * connect does not (polling has followed the account so far).
 *
 * Exchange limits: connects are paced process-wide by a token bucket (Binance allows 300 connection
 * attempts per 5 minutes per IP): a minute's worth at once (a process that took over a dead one's
 * accounts connects them quickly), then one per `connectEveryMs`, so any 5 minutes see at most six
 * minutes' worth (300 at the default 50 a minute). A stream that fails waits longer each time (1 s, 2 s, … 60 s, with jitter), and an
 * account no longer followed keeps its stream for `lingerMs` (its next signal is usually near).
 */
import type { Logger } from '../../logger';
import { reportNeedsVisit } from '../../domain/streamHints';
import { TokenBucket } from '../../domain/tokenBucket';
import type { AccountStream } from '../../exchange/gateway';
import type { Clock } from '../../clock';

export type StreamHint = 'event' | 'reconnected';

export interface AccountStreamsOptions<A extends { readonly id: string }> {
  /** The account's stream, or null when it has none (paper, an exchange not followed). May throw (no key stored). */
  streamFor: (account: A) => AccountStream | null;
  /**
   * What the stream was made from (exchange, mode, key envelopes): when it changes (a new key, demo to
   * live) the stream is made again, never left on the old key.
   */
  versionOf?: (account: A) => string;
  /** Told when the account's state may have changed (an event) or events may have been missed (a (re)connect). */
  onHint: (account: A, hint: StreamHint) => void;
  clock: Clock;
  log: Logger;
  /** Process-wide gap between two connection attempts once the burst is spent (default 1,200 ms: 50 a minute). */
  connectEveryMs?: number;
  /** Connects allowed at once (default: a minute's worth). */
  connectBurst?: number;
  /** Longest wait after failures (default 60 s). */
  maxBackoffMs?: number;
  /** How long an account no longer followed keeps its stream (default 10 min). */
  lingerMs?: number;
}

interface Followed<A> {
  account: A;
  stream: AccountStream;
  stopped: boolean;
  /** Resolves when the account is no longer followed: ends any wait at once. */
  stopping: Promise<void>;
  stop: () => void;
  done: Promise<void>;
  /** When the account was last among those followed. */
  wantedAt: number;
  version: string;
  /** Whether its connection is open now (events reach us). */
  connected: boolean;
  /** When the open connection opened (what happened before it was not heard). */
  openedAt: number;
  /** When the stream last reported a balance change (0: never). */
  balanceChangedAt: number;
}

/** stop() waits this long at most for the streams to close (a hung close must not hold a shutdown). */
const STOP_WAIT_MS = 5_000;

/** A connection that lived this long was healthy: the next loss starts the back-off over. */
const HEALTHY_AFTER_MS = 60_000;

export class AccountStreams<A extends { readonly id: string }> {
  private readonly followed = new Map<string, Followed<A>>();
  private readonly connectEveryMs: number;
  /** Null when connects are not paced (connectEveryMs 0). */
  private readonly connects: TokenBucket | null;
  private readonly maxBackoffMs: number;
  private readonly lingerMs: number;
  private openCount = 0;
  /** Loops of streams closed but not yet ended (stop() waits for them too). */
  private readonly ending = new Set<Promise<void>>();
  /** Accounts whose stream could not be made, by version: tried again when it changes, told once. */
  private readonly refused = new Map<string, string>();

  constructor(private readonly options: AccountStreamsOptions<A>) {
    this.connectEveryMs = options.connectEveryMs ?? 1_200;
    const burst = Math.max(1, options.connectBurst ?? Math.floor(60_000 / Math.max(1, this.connectEveryMs)));
    this.connects =
      this.connectEveryMs > 0 ? new TokenBucket(burst, this.connectEveryMs, options.clock.now()) : null;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.lingerMs = options.lingerMs ?? 10 * 60_000;
  }

  /** Streams currently open. */
  get open(): number {
    return this.openCount;
  }

  /**
   * Since when the account's stream has been open (what happens on the account reaches us as it
   * happens); null when it is not open.
   */
  listeningSince(accountId: string): number | null {
    const entry = this.followed.get(accountId);
    return entry?.connected ? entry.openedAt : null;
  }

  /**
   * Since when the account's balances are known unchanged: its stream has been open and reported no
   * balance change since then (a balance read after it is still right, but for unrealized PnL); null
   * when the stream is not open.
   */
  balanceQuietSince(accountId: string): number | null {
    const entry = this.followed.get(accountId);
    return entry?.connected ? Math.max(entry.openedAt, entry.balanceChangedAt) : null;
  }

  /**
   * Follows these accounts: streams for new ones start (paced); those of accounts not among them for
   * `lingerMs` close. Pass nothing to close the others at once (a process handing accounts over).
   */
  follow(accounts: Iterable<A>, options: { linger?: boolean } = {}): void {
    const now = this.options.clock.now();
    const linger = options.linger ?? true;
    const wanted = new Map<string, A>();
    for (const account of accounts) wanted.set(account.id, account);
    for (const [id, entry] of this.followed) {
      const account = wanted.get(id);
      if (account && entry.version === this.versionOf(account)) {
        entry.account = account;
        entry.wantedAt = now;
      } else if (account || !linger || now - entry.wantedAt >= this.lingerMs) void this.unfollow(id);
    }
    for (const id of this.refused.keys()) if (!wanted.has(id)) this.refused.delete(id);
    for (const [id, account] of wanted) {
      if (this.followed.has(id)) continue;
      const version = this.versionOf(account);
      if (this.refused.get(id) === version) continue;
      let stream: AccountStream | null;
      try {
        stream = this.options.streamFor(account);
      } catch (error) {
        // One account's stream (a key not stored, an exchange not offered) never stops the others'.
        this.refused.set(id, version);
        this.options.log.warn(
          { err: error, accountId: id },
          'no user-data stream for this account; polling follows it',
        );
        continue;
      }
      if (!stream) continue;
      let stop!: () => void;
      const stopping = new Promise<void>((resolve) => (stop = resolve));
      const entry: Followed<A> = {
        account,
        stream,
        stopped: false,
        stopping,
        stop,
        done: Promise.resolve(),
        wantedAt: now,
        version,
        connected: false,
        openedAt: 0,
        balanceChangedAt: 0,
      };
      this.followed.set(id, entry);
      entry.done = this.run(entry);
    }
  }

  private versionOf(account: A): string {
    return this.options.versionOf?.(account) ?? '';
  }

  /** Closes every stream and waits for their loops to end (at most a few seconds). */
  async stop(): Promise<void> {
    for (const id of [...this.followed.keys()]) void this.unfollow(id);
    await Promise.race([Promise.all([...this.ending]), this.options.clock.sleep(STOP_WAIT_MS)]);
  }

  private unfollow(id: string): Promise<void> {
    const entry = this.followed.get(id);
    if (!entry) return Promise.resolve();
    this.followed.delete(id);
    entry.stopped = true;
    entry.stop();
    const ended = (async () => {
      await entry.stream.close().catch(() => undefined);
      await entry.done;
    })();
    this.ending.add(ended);
    void ended.finally(() => this.ending.delete(ended));
    return ended;
  }

  /** Waits for a token of this process's connect bucket. */
  private async connectTurn(entry: Followed<A>): Promise<void> {
    const connects = this.connects;
    if (!connects) return;
    while (!entry.stopped) {
      const now = this.options.clock.now();
      if (connects.take(now)) return;
      await this.pause(entry, connects.waitMs(now));
    }
  }

  private pause(entry: Followed<A>, ms: number): Promise<void> {
    return Promise.race([this.options.clock.sleep(ms), entry.stopping]);
  }

  private async run(entry: Followed<A>): Promise<void> {
    const { clock, log, onHint } = this.options;
    let failures = 0;
    let openedAt = 0;
    let opens = 0;
    entry.stream.onOpen(() => {
      if (entry.stopped) return;
      entry.connected = true;
      openedAt = clock.now();
      entry.openedAt = openedAt;
      this.openCount += 1;
      opens += 1;
      if (opens > 1) onHint(entry.account, 'reconnected');
    });
    entry.stream.onBalanceChange(() => {
      entry.balanceChangedAt = clock.now();
    });
    while (!entry.stopped) {
      if (!entry.connected) await this.connectTurn(entry);
      if (entry.stopped) break;
      try {
        const change = await entry.stream.next();
        // An event the stream could not show (missed) changed something all the same.
        if (!entry.stopped && (change.missed === true || reportNeedsVisit(change.orders))) onHint(entry.account, 'event');
      } catch (error) {
        if (entry.connected) {
          this.openCount -= 1;
          if (clock.now() - openedAt >= HEALTHY_AFTER_MS) failures = 0;
        }
        entry.connected = false;
        if (entry.stopped) break;
        failures += 1;
        // What happened while it was down is found by the visit that follows the reconnect.
        const backoff = Math.min(this.maxBackoffMs, 1_000 * 2 ** Math.min(failures - 1, 6));
        const wait = backoff / 2 + Math.random() * (backoff / 2);
        log.debug(
          { err: error, accountId: entry.account.id, failures, waitMs: Math.round(wait) },
          'user-data stream lost; reconnecting',
        );
        await this.pause(entry, wait);
      }
    }
    if (entry.connected) this.openCount -= 1;
    entry.connected = false;
  }
}
