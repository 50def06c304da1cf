import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client';
import { instancesRepository } from '../db/repositories/instances';
import type { Logger } from '../logger';
import type { Clock } from './clock';

export interface InstanceSettings {
  /**
   * A process whose heartbeat is older than this is dead: its in-flight executions and account
   * leases may be taken over by another process.
   */
  takeoverAfterMs: number;
  /** How often the heartbeat is written (a fraction of the takeover threshold). */
  heartbeatEveryMs: number;
}

/** Rows of processes dead for this long are deleted at start (their claims were free long before). */
const FORGET_AFTER_MS = 24 * 3_600_000;

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
 *    (a paused process, a database outage), the process continues under a NEW id, so whatever it
 *    claimed before fails every check (claimed_by is the old id) and comes back only through the
 *    claim path (FOR UPDATE SKIP LOCKED), to it or to another process, never by "still being mine".
 * Clocks of hosts sharing one database must agree to well within half the threshold (NTP).
 */
export class EngineInstance {
  private readonly repo;
  private current: string;
  private startedAt: Date | null = null;
  /** Heartbeat time (injected clock) of the last write that succeeded. */
  private lastBeatAt: number | null = null;
  private stopped = false;
  private beating: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;

  constructor(
    db: Database,
    private readonly name: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly settings: InstanceSettings,
  ) {
    this.repo = instancesRepository(db);
    this.current = newInstanceId(name);
  }

  /** The id claims are made under now (a new one after a lapse of the heartbeat). */
  get id(): string {
    return this.current;
  }

  /** Registers the process and starts the heartbeat. */
  async start(): Promise<void> {
    if (this.startedAt) return;
    this.startedAt = new Date(this.clock.now());
    await this.beat();
    await this.repo.forgetDeadSince(new Date(this.clock.now() - FORGET_AFTER_MS));
    void this.loop();
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
    let lapsed: string | null = null;
    if (this.lastBeatAt !== null && now - this.lastBeatAt >= this.settings.takeoverAfterMs / 2) {
      lapsed = this.current;
      this.current = newInstanceId(this.name);
      this.startedAt = new Date(now);
      this.log.warn(
        { lapsedId: lapsed, instanceId: this.current, silentMs: now - this.lastBeatAt },
        'heartbeat lapsed: continuing under a new instance id; the old claims are taken over through the claim path',
      );
    }
    await this.repo.beat(this.current, this.startedAt, new Date(now));
    this.lastBeatAt = now;
    // The old id's claims are free at once (nothing of this process can use them any more).
    if (lapsed) await this.repo.remove(lapsed);
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
    await this.halt();
    await this.repo.remove(this.current);
  }

  /**
   * Stops the heartbeat and leaves the row as a crash would: the claims become free once the
   * threshold passes (tests use this to kill a process).
   */
  async halt(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // A write in progress must land before a delete, or it would register the process again.
    await this.beating;
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
}
