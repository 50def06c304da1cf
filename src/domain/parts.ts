/**
 * Splitting a quantity into stepped parts, and folding parts the exchange would refuse into a
 * neighbour. Shared by the entry and take-profit splits, which differ only in prices and weights.
 */
import type { Big } from 'big.js';
import type { MarketRules } from './market';
import { dec, floorToStep } from './precision';

export type PartMarket = Pick<MarketRules, 'amountStep' | 'minAmount' | 'minNotional' | 'contractSize'>;

export interface Part {
  /** Position in the caller's list (entry i, target i) of the price this part rests at. */
  readonly index: number;
  readonly price: number;
  readonly qty: Big;
}

/**
 * `total` floored to the step, split by weights (each part floored to the step); the steps the
 * flooring leaves over go one each to the first parts, so the parts sum to the stepped total and
 * differ from their exact share by less than one step.
 */
export function splitByWeights(total: Big | number, weights: readonly number[], step: number): Big[] {
  const stepped = dec(floorToStep(total, step));
  const clean = weights.map((w) => (Number.isFinite(w) && w > 0 ? w : 0));
  const sum = clean.reduce((a, b) => a + b, 0);
  const shares = sum > 0 ? clean : clean.map(() => 1);
  const weightSum = shares.reduce((a, b) => a.plus(dec(b)), dec(0));
  const parts = shares.map((w) => dec(floorToStep(stepped.times(dec(w)).div(weightSum), step)));
  const s = dec(step);
  let left = stepped.minus(parts.reduce((a, b) => a.plus(b), dec(0)));
  for (let i = 0; left.gte(s) && parts.length > 0; i = (i + 1) % parts.length) {
    if (shares[i] === 0) continue;
    parts[i] = (parts[i] ?? dec(0)).plus(s);
    left = left.minus(s);
  }
  return parts;
}

export function partAccepted(qty: Big, price: number, market: PartMarket): boolean {
  return (
    qty.gt(0) &&
    qty.gte(dec(market.minAmount)) &&
    qty.times(dec(price)).times(dec(market.contractSize)).gte(dec(market.minNotional))
  );
}

/**
 * From the last part to the first, a part below the minimum joins the part before it (the first
 * joins the one after). One pass suffices: a part that received another is checked next, and the
 * first only ever joins a part already accepted. Returns the kept parts; a single refused part stays
 * (the caller decides).
 */
export function mergeSmallParts(parts: readonly Part[], market: PartMarket): Part[] {
  const kept = [...parts];
  for (let i = kept.length - 1; i >= 0 && kept.length > 1; i -= 1) {
    const part = kept[i];
    if (!part || partAccepted(part.qty, part.price, market)) continue;
    const into = i > 0 ? i - 1 : 1;
    const target = kept[into];
    if (!target) continue;
    kept[into] = { ...target, qty: target.qty.plus(part.qty) };
    kept.splice(i, 1);
  }
  return kept;
}
