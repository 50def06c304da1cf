/**
 * The one rule for which of a server's accounts a signal goes to: the intake counts them for its
 * answer ("executing on N accounts"), the fan-out creates their executions.
 */
import type { CopyInstructions } from './copy';
import type { SignalSource } from './signal';

/** The copy instructions' followers (the accounts a copy signal names). */
export function copyFollowerIds(copy: CopyInstructions | null | undefined): string[] {
  return (copy?.followers ?? []).map((follower) => follower.accountId);
}

/** Copy signals go to the followers they name; strategy signals to accounts that opted in; people's to every account. */
export function signalTargets<A extends { id: string; strategyOptIn: boolean }>(signal: { source: SignalSource; copy?: CopyInstructions | null }, accounts: readonly A[]): A[] {
  if (signal.source === 'strategy') return accounts.filter((account) => account.strategyOptIn);
  if (signal.source === 'copy') {
    const wanted = new Set(copyFollowerIds(signal.copy));
    return accounts.filter((account) => wanted.has(account.id));
  }
  return [...accounts];
}
