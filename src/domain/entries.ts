/**
 * Entry legs: a market entry is one market order; limit entries get one order per price with equal
 * parts, and a part the exchange would refuse (below its minimum amount or notional) joins its
 * neighbour instead of failing (see ./parts for the rule).
 */
import type { EntryType } from './signal';
import { dec, toNumber } from './precision';
import { mergeSmallParts, partAccepted, splitByWeights, type PartMarket } from './parts';
import { skip, type Skipped } from './reasons';

export interface EntryLeg {
  /** Index of the signal's entry price this leg rests at (0 for a market entry). */
  readonly index: number;
  readonly type: EntryType;
  /** Limit price (already on the price step); null for a market entry. */
  readonly price: number | null;
  readonly qty: number;
}

export type EntrySplit =
  | { readonly kind: 'split'; readonly legs: readonly EntryLeg[]; readonly merged: boolean }
  | Skipped<'below-min-notional'>;

export function splitEntries(
  totalQty: number,
  entryType: EntryType,
  entryPrices: readonly number[],
  market: PartMarket,
): EntrySplit {
  if (entryType === 'market' || entryPrices.length === 0) {
    // Sizing already held the whole quantity against the minimum at the current price.
    if (!(totalQty > 0)) return skip('below-min-notional');
    return { kind: 'split', legs: [{ index: 0, type: 'market', price: null, qty: totalQty }], merged: false };
  }
  const quantities = splitByWeights(
    totalQty,
    entryPrices.map(() => 1),
    market.amountStep,
  );
  const parts = entryPrices.map((price, index) => ({ index, price, qty: quantities[index] ?? dec(0) }));
  const kept = mergeSmallParts(parts, market);
  const only = kept[0];
  if (!only || (kept.length === 1 && !partAccepted(only.qty, only.price, market)))
    return skip('below-min-notional');
  return {
    kind: 'split',
    legs: kept.map((p) => ({ index: p.index, type: 'limit', price: p.price, qty: toNumber(p.qty) })),
    merged: kept.length < parts.length,
  };
}
