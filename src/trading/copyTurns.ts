/**
 * A follower's copy signals run one after another in the order of the master's fills (the engine
 * runs a batch's executions side by side otherwise): a close must find the open or add before it done.
 */
import type { SignalRow } from '../db/repositories/signals';
import type { ExecutionRow } from '../db/repositories/trading';

/**
 * For each copy execution of the batch, the turn it waits for: the previous copy execution of the same
 * account (signals in creation order, which is the master's fill order), and its own end.
 */
export async function copyTurnsOf(
  executions: readonly ExecutionRow[],
  signalOf: (id: string) => Promise<SignalRow | null>,
): Promise<Map<string, { before: Promise<void>; done: () => void }>> {
  const copies: { execution: ExecutionRow; signal: SignalRow }[] = [];
  for (const execution of executions) {
    const signal = await signalOf(execution.signalId);
    if (signal?.source === 'copy') copies.push({ execution, signal });
  }
  // Created in fill order; within one millisecond, by the master's trade id (`master:tradeId`, numeric ids: shorter is older).
  const ref = (signal: SignalRow) => signal.sourceRef;
  copies.sort((a, b) => a.signal.createdAt.getTime() - b.signal.createdAt.getTime() || ref(a.signal).length - ref(b.signal).length || (ref(a.signal) < ref(b.signal) ? -1 : ref(a.signal) > ref(b.signal) ? 1 : 0));
  const turns = new Map<string, { before: Promise<void>; done: () => void }>();
  const lastOf = new Map<string, Promise<void>>();
  for (const { execution } of copies) {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    turns.set(execution.id, { before: lastOf.get(execution.accountId) ?? Promise.resolve(), done });
    lastOf.set(execution.accountId, finished);
  }
  return turns;
}
