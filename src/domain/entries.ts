/**
 * Entry legs: a market entry is one market order; limit entries get one order per price with equal
 * parts, and a part the exchange would refuse (below its minimum amount or notional) joins its
 * neighbour instead of failing (see ./parts for the rule).
 */
import type { Big } from 'big.js';
import type { EntryType } from './signal';
import { dec, floorToStep, toNumber } from './precision';
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
  | {
      readonly kind: 'split';
      readonly legs: readonly EntryLeg[];
      /** Sum of the legs (may be below the requested total when `maxNotional` trimmed it). */
      readonly qty: number;
      readonly merged: boolean;
    }
  | Skipped<'below-min-notional'>;

/**
 * Bounds on the limit legs taken together, each a sum over legs of qty × contractSize × something:
 * sizing works at the mean entry, but a small first part that joins the next leg moves quantity to
 * another price, which can push the legs past what sizing allowed. The total is then trimmed until
 * every bound holds.
 */
export interface EntryBounds {
  /** Σ qty × price × contractSize (quote currency): max position × leverage, and the balance. */
  readonly maxNotional?: number;
  /** Σ qty × |price − stopLoss| × contractSize: risk mode's loss at the stop. */
  readonly maxLossAtStop?: { readonly stopLoss: number; readonly maxLoss: number };
}

export function splitEntries(
  totalQty: number,
  entryType: EntryType,
  entryPrices: readonly number[],
  market: PartMarket,
  bounds: EntryBounds = {},
): EntrySplit {
  if (entryType === 'market' || entryPrices.length === 0) {
    // Sizing already held the whole quantity against the minimum at the current price.
    if (!(totalQty > 0)) return skip('below-min-notional');
    const legs = [{ index: 0, type: 'market', price: null, qty: totalQty }] as const;
    return { kind: 'split', legs, qty: totalQty, merged: false };
  }
  const step = dec(market.amountStep);
  const cs = dec(market.contractSize);
  const measures: { max: Big; perUnit: (price: number) => Big }[] = [];
  if (bounds.maxNotional !== undefined) {
    measures.push({ max: dec(bounds.maxNotional), perUnit: (p) => dec(p).times(cs) });
  }
  if (bounds.maxLossAtStop) {
    const stop = dec(bounds.maxLossAtStop.stopLoss);
    measures.push({
      max: dec(bounds.maxLossAtStop.maxLoss),
      perUnit: (p) => dec(p).minus(stop).abs().times(cs),
    });
  }
  let total = dec(floorToStep(totalQty, market.amountStep));
  for (;;) {
    const split = splitLimit(total, entryPrices, market);
    if (split.kind === 'skipped') return split;
    // The tightest bound's ratio max / value; ≥ 1 for every bound means the legs fit.
    let ratio: Big | null = null;
    for (const m of measures) {
      const value = split.legs.reduce((a, l) => a.plus(dec(l.qty).times(m.perUnit(l.price ?? 0))), dec(0));
      if (value.gt(m.max)) {
        const r = m.max.div(value);
        if (ratio === null || r.lt(ratio)) ratio = r;
      }
    }
    if (ratio === null) return split;
    // Shrink in proportion first (one pass nearly always fits), then a step at a time; always strictly.
    let next = dec(floorToStep(total.times(ratio), market.amountStep));
    if (next.gte(total)) next = total.minus(step);
    if (next.lte(0)) return skip('below-min-notional');
    total = next;
  }
}

function splitLimit(total: Big, entryPrices: readonly number[], market: PartMarket): EntrySplit {
  const quantities = splitByWeights(
    total,
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
    qty: toNumber(kept.reduce((a, p) => a.plus(p.qty), dec(0))),
    merged: kept.length < parts.length,
  };
}
