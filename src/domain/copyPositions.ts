/**
 * A copied position's figures from the follower's copy fills (PURE). Opens and adds are entries,
 * reductions and closes are exits; the money math is positionPnl's (fees included), so copied and
 * signal positions book PnL the same way.
 */
import { scaleFees } from './fees';
import { positionPnl, type Fill } from './pnl';
import { dec, toNumber } from './precision';
import type { Side } from './signal';

export interface CopyFill {
  readonly fill: Fill;
  /** A reduce-only order of a reduce or close copy. */
  readonly reduces: boolean;
}

export interface CopyPositionFigures {
  /** Held now: entered minus exited, never below 0. */
  readonly quantity: number;
  readonly entryQuantity: number;
  readonly averageEntryPrice: number | null;
  readonly exitQuantity: number;
  readonly averageExitPrice: number | null;
  /**
   * PnL of what was exited: its share of the entry cost and entry fees, and every exit fee. The
   * entry cost is the average over every entry, so an add after a reduction re-prices what was
   * realised before it; once flat it is exactly exit value − entry value − every fee.
   */
  readonly realizedPnl: number;
  /** Every fee paid so far, both sides. */
  readonly fees: number;
  readonly returnPct: number | null;
  /** Everything entered has been exited (the position is closed). */
  readonly flat: boolean;
}

/** `contractSize`: coins per contract of the market (1 on spot and Binance). */
export function copyPositionFigures(side: Side, fills: readonly CopyFill[], leverage: number, contractSize = 1): CopyPositionFigures {
  const entries = fills.filter((f) => !f.reduces && f.fill.quantity > 0).map((f) => f.fill);
  const exits = fills.filter((f) => f.reduces && f.fill.quantity > 0).map((f) => f.fill);
  const whole = positionPnl(side, entries, exits, leverage, contractSize);
  const entered = dec(whole.entryQuantity);
  const exited = dec(whole.exitQuantity);
  const held = entered.minus(exited);
  const flat = exited.gt(0) && !held.gt(0);
  // While some is still held, only the exited share of the entries (and of their fees) is realised.
  const share = flat || !entered.gt(0) ? dec(1) : exited.div(entered);
  const part = flat
    ? whole
    : positionPnl(
        side,
        entries.map((f) => ({ ...f, quantity: toNumber(dec(f.quantity).times(share)), fees: scaleFees(f.fees, share) })),
        exits,
        leverage,
        contractSize,
      );
  return {
    quantity: held.gt(0) ? toNumber(held) : 0,
    entryQuantity: whole.entryQuantity,
    averageEntryPrice: whole.averageEntryPrice,
    exitQuantity: whole.exitQuantity,
    averageExitPrice: whole.averageExitPrice,
    realizedPnl: exited.gt(0) ? part.realizedPnl : 0,
    fees: whole.fees,
    returnPct: exited.gt(0) ? part.returnPct : null,
    flat,
  };
}
