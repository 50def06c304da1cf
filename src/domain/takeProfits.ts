/**
 * Take-profit legs for a filled quantity: equal parts by default, or weighted by the account's split
 * setting; a part below the exchange minimum joins the previous target (see ./parts). Also the
 * quantity a spot account actually holds (what the targets may sell), and the break-even price the
 * stop moves to after the first target fills.
 */
import { feeAmountIn } from './fees';
import type { FeeCharge } from './fees';
import type { Side } from './signal';
import { ceilToStep, dec, floorToStep, toNumber } from './precision';
import { mergeSmallParts, partAccepted, splitByWeights, type PartMarket } from './parts';
import { skip, type Skipped } from './reasons';

export interface TakeProfitLeg {
  /** Index of the signal's target this leg rests at (stable for leg ids and "TP2 hit"). */
  readonly index: number;
  readonly price: number;
  readonly qty: number;
}

export type TakeProfitSplit =
  | { readonly kind: 'split'; readonly legs: readonly TakeProfitLeg[]; readonly merged: boolean }
  | Skipped<'below-min-notional'>;

/**
 * Weights: `weights[i]` for target i; targets past the end take the last weight; non-positive or
 * non-finite weights count as 0 (that target gets nothing); no weights, or all 0 → equal parts.
 * Targets are prices already on the price step. No targets → no legs.
 */
export function splitTakeProfits(
  filledQty: number,
  targets: readonly number[],
  market: PartMarket,
  weights?: readonly number[] | null,
): TakeProfitSplit {
  return splitRemainingTakeProfits(filledQty, targets, new Set(), market, weights);
}

/**
 * The split of what is left over the targets not reached yet (`done`: indexes of targets already
 * hit), for resizing the take-profits once more entries fill. The open targets keep their weights
 * (all 0 → equal parts among them); legs keep the signal's target indexes.
 */
export function splitRemainingTakeProfits(
  quantity: number,
  targets: readonly number[],
  done: ReadonlySet<number>,
  market: PartMarket,
  weights?: readonly number[] | null,
): TakeProfitSplit {
  const open = targets.map((_, i) => !done.has(i));
  if (!open.some(Boolean)) return { kind: 'split', legs: [], merged: false };
  const last = weights && weights.length > 0 ? weights[weights.length - 1] : undefined;
  const given = targets.map((_, i) => {
    const x = weights ? (weights[i] ?? last ?? 1) : 1;
    return open[i] && Number.isFinite(x) && x > 0 ? x : 0;
  });
  const w = given.some((x) => x > 0) ? given : open.map((o) => (o ? 1 : 0));
  const quantities = splitByWeights(quantity, w, market.amountStep);
  const parts = targets
    .map((price, index) => ({ index, price, qty: quantities[index] ?? dec(0) }))
    // A zero-weight target is not a refused part to merge; it is simply not used.
    .filter((p, i) => p.qty.gt(0) || (w[i] ?? 0) > 0);
  const kept = mergeSmallParts(parts, market);
  const only = kept[0];
  if (!only || (kept.length === 1 && !partAccepted(only.qty, only.price, market)))
    return skip('below-min-notional');
  return {
    kind: 'split',
    legs: kept.map((p) => ({ index: p.index, price: p.price, qty: toNumber(p.qty) })),
    merged: kept.length < parts.length,
  };
}

/** What an entry leg received, with the fee charged on it. */
export interface EntryFill {
  readonly filledQuantity: number;
  readonly fees: readonly FeeCharge[];
}

/**
 * What a spot account holds of a position: the entries' fills minus the fees charged in the base
 * asset (Binance spot takes a buy's commission from the coin bought), minus what was exited; never
 * below 0. Selling the gross filled quantity would fail for lack of balance. `baseAsset` null (futures,
 * whose fees are paid from margin): nothing is deducted.
 */
export function heldQuantity(entries: readonly EntryFill[], exited: number, baseAsset: string | null): number {
  const received = entries.reduce((acc, o) => acc.plus(dec(o.filledQuantity)).minus(baseAsset === null ? dec(0) : feeAmountIn(o.fees, baseAsset)), dec(0));
  const held = received.minus(dec(exited));
  return held.gt(0) ? toNumber(held) : 0;
}

/**
 * Where the stop goes once the first target fills: the average entry plus the round trip's fees (so a
 * stop there loses nothing), rounded away from a loss (up for a long, down for a short) onto the price
 * step. `feeRate` is the entry's; `exitFeeRate` (default the same) the exit's, a taker fill.
 */
export function breakEvenStopPrice(side: Side, averageEntry: number, priceStep: number, feeRate = 0, exitFeeRate = feeRate): number {
  const entry = dec(averageEntry);
  const one = dec(1);
  const inFee = dec(feeRate);
  const outFee = dec(exitFeeRate);
  // Long: exit × (1 − out) = entry × (1 + in); short: exit × (1 + out) = entry × (1 − in).
  const exact =
    side === 'long'
      ? entry.times(one.plus(inFee)).div(one.minus(outFee))
      : entry.times(one.minus(inFee)).div(one.plus(outFee));
  return side === 'long' ? ceilToStep(exact, priceStep) : floorToStep(exact, priceStep);
}
