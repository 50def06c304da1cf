/**
 * What to do for an ended mastership this round (PURE). Its followers are closed out of what they
 * still hold from it, and only when no copy of it is still on its way: an open queued before the end
 * that fills afterwards, or a close that failed, is seen by a later round and closed then.
 */
import type { HeldCopy } from './copy';

/** A follower's copied holding on one market and side from one mastership. */
export interface CopiedFrom extends HeldCopy {
  /** What copy trading holds there in all (every master's copies; own trades never). */
  readonly copiedTotal: number;
  /** Of that, what other masterships still running hold (theirs to steer, never closed here). */
  readonly heldByLiveMasters: number;
}

export type EndedMastershipStep =
  | { readonly kind: 'wait' }
  | { readonly kind: 'close'; readonly closes: readonly HeldCopy[]; readonly nextRoundAt: number }
  | { readonly kind: 'settle'; readonly outcome: 'flat' | 'gave-up' };

/** Rounds are spaced 10 s, 20 s, 40 s … up to 10 minutes; after a day the bot stops trying. */
const FIRST_WAIT_MS = 10_000;
const MAX_WAIT_MS = 10 * 60_000;
export const GIVE_UP_AFTER_MS = 24 * 3_600_000;
const EPSILON = 1e-12;

export function endedMastershipStep(input: {
  readonly nowMs: number;
  readonly endedAtMs: number;
  readonly rounds: number;
  /**
   * Followers with a copy of this mastership still pending or executing (its outcome not known yet):
   * they wait; the others are closed now. One stuck copy never holds up anyone else.
   */
  readonly pendingAccounts: ReadonlySet<string>;
  readonly held: readonly CopiedFrom[];
}): EndedMastershipStep {
  // Never more than copy trading holds there, minus what running masterships hold: a stale figure
  // (a copied position closed by hand, by /panic, by a liquidation) must not close another master's.
  const closes = input.held
    .filter((row) => !input.pendingAccounts.has(row.accountId))
    .map((row) => ({ ...row, quantity: Math.min(row.quantity, Math.max(0, row.copiedTotal - row.heldByLiveMasters)) }))
    .filter((row) => row.quantity > EPSILON)
    .map(({ accountId, symbol, side, quantity, price }) => ({ accountId, symbol, side, quantity, price }));
  const waiting = input.pendingAccounts.size > 0;
  if (closes.length === 0 && !waiting) return { kind: 'settle', outcome: 'flat' };
  // A day on, whatever still waits or is still held is the owners' to close (they are told).
  if (input.nowMs - input.endedAtMs > GIVE_UP_AFTER_MS) return { kind: 'settle', outcome: 'gave-up' };
  if (closes.length === 0) return { kind: 'wait' };
  const wait = Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** Math.min(input.rounds, 16));
  return { kind: 'close', closes, nextRoundAt: input.nowMs + wait };
}
