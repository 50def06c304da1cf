/**
 * One-way futures accounts hold ONE net position per symbol: an order the other way reduces (or
 * flips) whatever is open, so two bot positions of opposite sides would silently net out on the
 * exchange while the book follows both. The rule: a signal against an open position, or against an
 * entry still resting, of the other side on the same symbol is refused with a reason (hedge-mode
 * accounts keep both sides apart and take it). Closing is the caller's job, not a side effect.
 */
import type { Side } from './signal';

export interface OpenExposure {
  /** The exchange's unified symbol (`BTC/USDT:USDT`). */
  readonly symbol: string;
  readonly side: Side;
}

export function nettingConflict(
  symbol: string,
  side: Side,
  positionMode: 'one-way' | 'hedge' | null,
  open: readonly OpenExposure[],
): boolean {
  if (positionMode === 'hedge') return false;
  return open.some((exposure) => exposure.symbol === symbol && exposure.side !== side);
}
