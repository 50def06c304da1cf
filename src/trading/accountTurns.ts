import type { Execution, Signal } from '../domain/records';
/**
 * One account's executions of a batch run one after another in the order of their signals (the
 * engine runs different accounts' executions side by side). An account's signals may depend on each
 * other: a follower's close must find the add copied before it filled, and of two signals on one
 * symbol the earlier one takes the position (the other is refused as a position already open), not
 * whichever happened to run first.
 */


export interface Turn {
  /** Resolves when the account's previous execution of the batch is done. */
  before: Promise<void>;
  /** Called when this one is done (whatever its outcome). */
  done: () => void;
}

/** Signals in the order they were made; within one millisecond by source ref (copies: `master:symbol:tradeId`, numeric ids, shorter is older), then id. */
function signalOrder(a: Signal, b: Signal): number {
  const byRef = a.sourceRef.length - b.sourceRef.length || (a.sourceRef < b.sourceRef ? -1 : a.sourceRef > b.sourceRef ? 1 : 0);
  return a.createdAt.getTime() - b.createdAt.getTime() || byRef || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * `tails` (one per process, optional): per account, when its last unplanned execution queued by an
 * earlier call is done. An unplanned execution of this batch (no symbol chosen yet: it has sent
 * nothing) waits for it and becomes the new tail, so runs side by side (a batch and the reconcile
 * loop) never plan two of one account's signals at once. A planned one (resumed to reconcile what it
 * sent and place its exits) waits for no other run: its position must not wait for a later signal.
 */
export async function accountTurnsOf(
  executions: readonly Execution[],
  signalOf: (id: string) => Promise<Signal | null>,
  tails?: Map<string, Promise<void>>,
): Promise<Map<string, Turn>> {
  const known: { execution: Execution; signal: Signal }[] = [];
  for (const execution of executions) {
    const signal = await signalOf(execution.signalId);
    if (signal) known.push({ execution, signal });
  }
  known.sort((a, b) => signalOrder(a.signal, b.signal));
  // From here on synchronous: two calls never interleave their reads and writes of `tails`.
  const turns = new Map<string, Turn>();
  const lastOf = new Map<string, Promise<void>>();
  for (const { execution } of known) {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const unplanned = execution.symbol === null;
    const before =
      lastOf.get(execution.accountId) ?? (unplanned ? tails?.get(execution.accountId) : undefined) ?? Promise.resolve();
    turns.set(execution.id, { before, done });
    lastOf.set(execution.accountId, finished);
    if (tails && unplanned) {
      tails.set(execution.accountId, finished);
      void finished.then(() => {
        if (tails.get(execution.accountId) === finished) tails.delete(execution.accountId);
      });
    }
  }
  return turns;
}
