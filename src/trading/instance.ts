import { randomBytes } from 'node:crypto';
import type { Store } from '../db/store';
import type { LivenessLock } from '../db/liveness';
import type { Logger } from '../logger';
import type { Clock } from '../clock';

export interface InstanceSettings {
  /**
   * A process whose heartbeat is older than this is dead: its in-flight executions and account
   * leases may be taken over by another process.
   */
  takeoverAfterMs: number;
  /** How often the heartbeat is written (a fraction of the takeover threshold). */
  heartbeatEveryMs: number;
  /** How often the liveness locks of the other processes are checked (PostgreSQL only). */
  livenessCheckEveryMs?: number;
}

/** Where the process's liveness lock comes from (DatabaseHandle.holdLiveness); null on PGlite. */
export type LivenessSource = (onLost: () => void) => Promise<LivenessLock | null>;

export interface InstanceOptions {
  liveness?: LivenessSource;
  /** Called with the ids of processes found dead by their liveness lock (their work is free now). */
  onPeersDead?: (ids: string[]) => void;
}

/** Rows of processes dead for this long are deleted at start (their claims were free long before). */
const FORGET_AFTER_MS = 24 * 3_600_000;
const LIVENESS_CHECK_EVERY_MS = 1_000;

/**
 * A fresh id for every start of a process: `<name>:<random>` (the app's name is host:pid). Nothing
 * can configure the id itself, so two processes, or two starts of one, never hold the same claims.
 */
export const newInstanceId = (name: string): string => `${name}:${randomBytes(6).toString('hex')}`;

/**
 * One running engine process in the database (DESIGN.md, "Scaling past one process"): registered at
 * start, its heartbeat written every `heartbeatEveryMs` of the injected clock, deleted on a clean stop
 * so its claims are free at once. Invariants:
 *  - a claim (an in-flight execution, an account lease) is taken from another process only when that
 *    process's heartbeat is older than `takeoverAfterMs` or its row is gone;
 *  - a process uses a claim (sends an order, starts leased work) only while its own heartbeat in the
 *    database is younger than half of that (`freshSince`), so at least the other half of the
 *    threshold passes before anyone else may take the claim it is using;
 *  - claims never outlive a lapse: when the heartbeat could not be written for half the threshold
 *    (a paused process, a database outage), or the process's row is gone, or its liveness lock was
 *    lost, the process continues under a NEW id, so whatever it claimed before fails every check
 *    (claimed_by is the old id) and comes back only through the claim path (FOR UPDATE SKIP LOCKED),
 *    to it or to another process, never by "still being mine";
 *  - on PostgreSQL each process holds a liveness lock on a connection of its own (src/db/liveness.ts)
 *    and checks the others' every second: a process killed is found dead when its connection closes,
 *    its row is deleted and its claims are free within about a second, not after the threshold. The
 *    send stamp is written under the claim in one statement (trading repository `stampSent`), so even
 *    a process that lost its lock but lives on cannot send an order a taker has already judged.
 * Clocks of hosts sharing one database must agree to well within half the threshold (NTP).
 */
export class EngineInstance {
  private readonly repo;
  private current: string;
  private startedAt: Date | null = null;
  /** Whether `current` has a row (registration can fail, e.g. while the database is down). */
  private registered = false;
  /** Heartbeat time (injected clock) of the last write that succeeded. */
  private lastBeatAt: number | null = null;
  private stopped = false;
  private beating: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private liveness: LivenessLock | null = null;

  constructor(
    store: Store,
    private readonly name: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly settings: InstanceSettings,
    private readonly options: InstanceOptions = {},
  ) {
    this.repo = store.instances;
    this.current = newInstanceId(name);
  }

  /** The id claims are made under now (a new one after a lapse of the heartbeat). */
  get id(): string {
    return this.current;
  }

  /** Registers the process and starts the heartbeat (and, on PostgreSQL, the liveness checks). */
  async start(): Promise<void> {
    if (this.startedAt) return;
    this.startedAt = new Date(this.clock.now());
    await this.beat();
    await this.repo.forgetDeadSince(new Date(this.clock.now() - FORGET_AFTER_MS));
    void this.loop();
    if (this.liveness) void this.checkPeers();
  }

  /** Writes the heartbeat now (the loop does this every `heartbeatEveryMs`; the engine at each cycle). */
  beat(): Promise<void> {
    const write = this.beating.then(() => this.write());
    this.beating = write.catch(() => {});
    return write;
  }

  private async write(): Promise<void> {
    if (this.stopped || !this.startedAt) return;
    const now = this.clock.now();
    const silentMs = this.lastBeatAt === null ? 0 : now - this.lastBeatAt;
    if (!this.registered) return this.register(now, null);
    if (silentMs >= this.settings.takeoverAfterMs / 2) return this.register(now, { silentMs });
    // The server may have dropped the lock's session while the socket here stayed open.
    if (this.liveness && (this.liveness.lost || !(await this.liveness.verify())))
      return this.register(now, { cause: 'liveness lock lost' });
    if (await this.repo.beat(this.current, new Date(now))) this.lastBeatAt = now;
    else await this.register(now, { cause: 'row removed by another process' });
  }

  /**
   * Registers `current`, or, after a lapse, a new id (the old one and its claims are given up first:
   * nothing of this process can use them any more).
   */
  private async register(now: number, lapse: { silentMs?: number; cause?: string } | null): Promise<void> {
    if (lapse) {
      const lapsedId = this.current;
      this.current = newInstanceId(this.name);
      this.registered = false;
      this.log.warn(
        { lapsedId, instanceId: this.current, ...lapse },
        'heartbeat lapsed: continuing under a new instance id; the old claims are taken over through the claim path',
      );
      await this.repo.remove(lapsedId);
      // A lapse takes a fresh lock too: the old one may be free already (others deleted the row for it).
      await this.liveness?.release().catch(() => undefined);
      this.liveness = null;
    }
    // The lock first, then the row that names it: a row whose lock is free is a dead process's.
    if (!this.liveness && this.options.liveness)
      this.liveness = await this.options.liveness(() => this.onLivenessLost());
    this.startedAt = new Date(now);
    await this.repo.register(this.current, this.startedAt, new Date(now), this.liveness?.key ?? null);
    this.registered = true;
    this.lastBeatAt = now;
  }

  private onLivenessLost(): void {
    if (this.stopped) return;
    this.log.warn(
      { instanceId: this.current },
      'liveness connection closed: continuing under a new instance id',
    );
    // At once: the others may already be taking this id's claims over.
    void this.beat().catch((error: unknown) =>
      this.log.warn({ err: error }, 'could not register again after losing the liveness lock'),
    );
  }

  /** Claims of dead processes: heartbeat before this (or no row) may be taken over. */
  staleBefore(): Date {
    return new Date(this.clock.now() - this.settings.takeoverAfterMs);
  }

  /** This process may use its claims only while its heartbeat is at least this recent. */
  freshSince(): Date {
    return new Date(this.clock.now() - this.settings.takeoverAfterMs / 2);
  }

  /** A clean stop: no more heartbeats, and the row is deleted so every claim is free at once. */
  async stop(): Promise<void> {
    await this.halt({ keepLiveness: true });
    await this.repo.remove(this.current);
    await this.liveness?.release();
    this.liveness = null;
  }

  /**
   * Stops the heartbeat and leaves the row as a crash would: the claims become free once the
   * threshold passes, or at once on PostgreSQL where the liveness lock goes with it (tests use this
   * to kill a process).
   */
  async halt(options: { keepLiveness?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // A write in progress must land before a delete, or it would register the process again.
    await this.beating;
    if (!options.keepLiveness) {
      await this.liveness?.release();
      this.liveness = null;
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void this.clock.sleep(this.settings.heartbeatEveryMs).then(resolve);
      });
      this.wake = null;
      if (this.stopped) return;
      try {
        await this.beat();
      } catch (error) {
        // Claims stay usable while the last written heartbeat is fresh; after that nothing is sent.
        this.log.warn({ err: error, instanceId: this.current }, 'heartbeat not written');
      }
    }
  }

  /** PostgreSQL: deletes the rows of processes whose liveness lock is free (they died). */
  private async checkPeers(): Promise<void> {
    const every = this.settings.livenessCheckEveryMs ?? LIVENESS_CHECK_EVERY_MS;
    while (!this.stopped) {
      await this.clock.sleep(every);
      if (this.stopped || !this.liveness || this.liveness.lost) continue;
      try {
        const dead = await this.repo.removeDead(this.current);
        if (dead.length > 0) {
          this.log.info({ dead }, 'processes found dead by their liveness lock: their work is free');
          this.options.onPeersDead?.(dead);
        }
      } catch (error) {
        this.log.warn({ err: error }, 'liveness check failed; the heartbeat rule still applies');
      }
    }
  }
}
