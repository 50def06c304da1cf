/**
 * One account's executions of a batch run one after another in the order of their signals (the
 * engine runs different accounts' executions side by side). An account's signals may depend on each
 * other: a follower's close must find the add copied before it filled, and of two signals on one
 * symbol the earlier one takes the position (the other is refused as a position already open), not
 * whichever happened to run first.
 */
import type { SignalRow } from '../db/repositories/signals';
import type { ExecutionRow } from '../db/repositories/trading';

export interface Turn {
  /** Resolves when the account's previous execution of the batch is done. */
  before: Promise<void>;
  /** Called when this one is done (whatever its outcome). */
  done: () => void;
}

/** Signals in the order they were made; within one millisecond by source ref (copies: `master:tradeId`, numeric ids, shorter is older), then id. */
function signalOrder(a: SignalRow, b: SignalRow): number {
  const byRef = a.sourceRef.length - b.sourceRef.length || (a.sourceRef < b.sourceRef ? -1 : a.sourceRef > b.sourceRef ? 1 : 0);
  return a.createdAt.getTime() - b.createdAt.getTime() || byRef || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export async function accountTurnsOf(executions: readonly ExecutionRow[], signalOf: (id: string) => Promise<SignalRow | null>): Promise<Map<string, Turn>> {
  const known: { execution: ExecutionRow; signal: SignalRow }[] = [];
  for (const execution of executions) {
    const signal = await signalOf(execution.signalId);
    if (signal) known.push({ execution, signal });
  }
  known.sort((a, b) => signalOrder(a.signal, b.signal));
  const turns = new Map<string, Turn>();
  const lastOf = new Map<string, Promise<void>>();
  for (const { execution } of known) {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    turns.set(execution.id, { before: lastOf.get(execution.accountId) ?? Promise.resolve(), done });
    lastOf.set(execution.accountId, finished);
  }
  return turns;
}
