import type { Store } from '../db/store';
import type { LeaseTask } from '../db/repositories/leases';
import type { Clock } from '../clock';
import type { EngineInstance } from './instance';

export type { LeaseTask } from '../db/repositories/leases';

/**
 * Narrows a task's candidate accounts to those this process may work now; `urgent` ones (a position
 * that may be without its stop) are kept and taken first when accounts move between processes.
 */
export type AccountClaim = (accountIds: string[], urgent?: ReadonlySet<string>) => Promise<string[]>;

/** Takes one account's lease now, from whoever holds it; false: this process may not act (its heartbeat is late). */
export type AccountSeize = (accountId: string) => Promise<boolean>;

/** The fence of orders sent under an account's lease. */
export interface LeaseFence {
  /** Asked before each order is prepared (the lease may have moved meanwhile). */
  holds(accountId: string): Promise<boolean>;
  /** Writes the order's send stamp only while the lease is held (false: moved, send nothing). */
  stamp(accountId: string, orderId: string, sentAt: number, previous: number | null): Promise<boolean>;
}

/**
 * Background work claimed per account (DESIGN.md, "Scaling past one process"): every process runs
 * the cycle steps, and each step works an account only when this process holds that account's
 * lease for the task. Invariants (src/db/repositories/leases.ts):
 *  - at most one live process holds a (task, account) lease; it is taken from another process only
 *    when that one released it or is dead (heartbeat older than the takeover threshold, or gone);
 *  - a process whose own heartbeat is not fresh works nothing;
 *  - live processes share the accounts (ceil(accounts / live processes) each); an account nobody
 *    took waits at most one threshold before any process takes it.
 * Leases live as long as the holder's heartbeat, so a long sync of one account is never joined by a
 * second process half-way through.
 */
export function accountLeases(store: Store, instance: EngineInstance, clock: Clock) {
  const repo = store.leases;
  const trading = store.trading;
  return {
    /** The claim function one step takes (`claimAccounts` of position sync, copied positions, copy polls). */
    forTask:
      (task: LeaseTask): AccountClaim =>
      (accountIds, urgent) =>
        repo.acquire(
          task,
          instance.id,
          accountIds,
          {
            now: new Date(clock.now()),
            staleBefore: instance.staleBefore(),
            freshSince: instance.freshSince(),
          },
          urgent,
        ),
    /** Takes an account's lease of a task from whoever holds it (/panic); false while this process's heartbeat is late. */
    seizeFor:
      (task: LeaseTask): AccountSeize =>
      (accountId) =>
        repo.seize(task, accountId, instance.id, {
          now: new Date(clock.now()),
          freshSince: instance.freshSince(),
        }),
    /** The fence of leased work's orders. */
    fenceFor: (task: LeaseTask): LeaseFence => ({
      holds: (accountId) => repo.holds(task, accountId, instance.id, instance.freshSince()),
      stamp: (accountId, orderId, sentAt, previous) =>
        trading.stampSent(orderId, sentAt, previous, {
          kind: 'lease',
          task,
          accountId,
          holder: instance.id,
          freshSince: instance.freshSince(),
        }),
    }),
  };
}

export type AccountLeases = ReturnType<typeof accountLeases>;
