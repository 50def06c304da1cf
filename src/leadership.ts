/**
 * Which process leads one role: a Discord gateway shard (two sessions of one shard would both answer
 * its interactions), or the feed poster. Leadership is a lock that dies with its holder's connection
 * (src/db/leaderLock.ts):
 * - the leader checks it every `verifyEveryMs` and is told at once when its connection closes; a
 *   leader that lost it stops its gateway and feed before anything else;
 * - the others try for it every `retryEveryMs`, so a dead leader's place is taken within seconds.
 * The first try happens during the start, and its failure (a refused token, intents off) fails the
 * start; a later one that cannot connect releases the lock and tries again.
 */
import type { Logger } from './logger';

export interface HeldLock {
  readonly lost: boolean;
  verify(): Promise<boolean>;
  release(): Promise<void>;
}

export interface LeadershipOptions<T> {
  /** The lock, or null when another process holds it. `onLost`: its connection closed. */
  acquire: (onLost: () => void) => Promise<HeldLock | null>;
  /** What is led, for the logs ("the Discord gateway", "gateway shard 2 of 4", "the feed"). */
  role?: string;
  /**
   * Starts what only the leader runs (the gateway, the feed); what it answers is stopped on loss.
   * `signal` aborts when the lock is lost (or the process stops) while it is still starting: it must
   * then give up and close what it opened, never serve the role unlocked.
   */
  lead: (signal: AbortSignal) => Promise<T>;
  stopLeading: (led: T) => Promise<void>;
  log: Logger;
  retryEveryMs?: number;
  verifyEveryMs?: number;
}

export class Leadership<T> {
  private lock: HeldLock | null = null;
  private led: T | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Transitions one at a time: a loss while electing waits for the election to finish. */
  private chain: Promise<void> = Promise.resolve();
  private readonly retryEveryMs: number;
  private readonly verifyEveryMs: number;
  private readonly role: string;
  /** Elections that won the lock but could not connect, in a row: the retries back off (Discord allows ~1,000 identifies a day). */
  private failedElections = 0;
  /** Aborts the start under way (tryToLead) when its lock is lost or the process stops. */
  private starting: AbortController | null = null;

  constructor(private readonly options: LeadershipOptions<T>) {
    this.retryEveryMs = options.retryEveryMs ?? 3_000;
    this.verifyEveryMs = options.verifyEveryMs ?? 2_000;
    this.role = options.role ?? 'the Discord gateway and the feed';
  }

  /** What the leader runs, while this process leads. */
  get current(): T | null {
    return this.led;
  }

  /** Whether this process leads now (its lock held, as far as it knows). */
  get leading(): boolean {
    return this.lock !== null && !this.lock.lost && this.led !== null;
  }

  /** The first try, awaited (its failure is the start's); then the loop. */
  async start(): Promise<void> {
    await this.tryToLead(true);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.starting?.abort(new Error('stopping'));
    await this.serially(() => this.stepDown('stopping'));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.serially(() => this.tick()).finally(() => this.schedule());
      // Jittered: processes that refused each other (another shard count) do not meet again in step.
    }, this.lock ? this.verifyEveryMs : this.retryEveryMs * Math.min(100, 2 ** this.failedElections) * (0.8 + Math.random() * 0.4));
    this.timer.unref();
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step, step);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (!this.lock) return this.tryToLead(false);
    if (!(await this.lock.verify())) await this.stepDown('the leadership lock was lost');
  }

  private async tryToLead(first: boolean): Promise<void> {
    const starting = new AbortController();
    const lock = await this.options.acquire(() => {
      // The connection holding the lock closed: another process may lead in a moment. Stop now: a
      // start under way gives up at once (it would otherwise hold the chain while it connects).
      starting.abort(new Error('the leadership lock was lost while connecting'));
      void this.serially(() => this.stepDown('the leadership lock connection closed'));
    });
    if (!lock) {
      if (first) this.options.log.info({ role: this.role }, 'another process leads this; this one takes over if it stops');
      return;
    }
    this.lock = lock;
    this.starting = starting;
    if (this.stopped) starting.abort(new Error('stopping'));
    try {
      this.led = await this.options.lead(starting.signal);
      this.failedElections = 0;
      this.options.log.info({ first, role: this.role }, 'leading');
    } catch (error) {
      this.lock = null;
      this.failedElections += 1;
      await lock.release().catch(() => undefined);
      if (first) throw error;
      if (!starting.signal.aborted) this.options.log.error({ err: error, role: this.role }, 'could not take over; trying again');
      return;
    } finally {
      this.starting = null;
    }
    // Lost while connecting: give it back at once.
    if (lock.lost) await this.stepDown('the leadership lock was lost while connecting');
  }

  private async stepDown(why: string): Promise<void> {
    const { lock, led } = this;
    this.lock = null;
    this.led = null;
    if (led !== null) {
      if (why !== 'stopping') this.options.log.warn({ why, role: this.role }, 'no longer leading: stopping it');
      await this.options.stopLeading(led).catch((error: unknown) => this.options.log.error({ err: error, role: this.role }, 'stopping failed'));
    }
    await lock?.release().catch(() => undefined);
  }
}
