/**
 * What a position's exits should be: the stop in force (break-even after the first target, fees
 * included), the take-profit split of what is held, and how many conditional orders fit on the
 * symbol (Binance USDⓈ-M: 10 per symbol, -4045). Shared by the first placement right after the entry
 * (executeAccount) and by the lifecycle that follows the position.
 */
import type { MarketRules } from '../market';
import { feesInQuote } from '../fees';
import { dec, floorToStep, roundToStep, toNumber } from '../precision';
import type { Side } from '../signal';
import { breakEvenStopPrice, splitRemainingTakeProfits, type TakeProfitLeg } from '../takeProfits';
import { kindOf, legsOf, type Leg } from './legs';

/**
 * Take-profit legs that fit beside the stop and one spare slot: a stop is moved by placing the new
 * one before the old is cancelled, which needs room for one more conditional order. null: no limit.
 */
export function targetLegBudget(
  maxConditionalOrders: number | null,
  otherConditionalOrders: number,
): number | null {
  if (maxConditionalOrders === null) return null;
  return Math.max(0, maxConditionalOrders - otherConditionalOrders - 2);
}

/**
 * Targets capped to `budget` legs: the farthest ones fold into the last one kept, so what is held
 * still exits in full. Returns the legs and whether any were folded.
 */
export function fitTargets(
  legs: readonly TakeProfitLeg[],
  budget: number | null,
): { legs: TakeProfitLeg[]; folded: boolean } {
  if (budget === null || legs.length <= budget) return { legs: [...legs], folded: false };
  if (budget <= 0) return { legs: [], folded: legs.length > 0 };
  const kept = legs.slice(0, budget);
  const rest = legs.slice(budget).reduce((acc, leg) => acc.plus(dec(leg.qty)), dec(0));
  const last = kept[kept.length - 1]!;
  kept[kept.length - 1] = { ...last, qty: toNumber(dec(last.qty).plus(rest)) };
  return { legs: kept, folded: true };
}

/** The split of `quantity` over the targets not reached yet (`done`), within `budget` legs. */
export function targetSplit(
  quantity: number,
  targets: readonly number[],
  done: ReadonlySet<number>,
  market: MarketRules,
  weights: readonly number[] | null,
  budget: number | null,
): { legs: TakeProfitLeg[]; folded: boolean } | null {
  if (!(quantity > 0)) return null;
  const split = splitRemainingTakeProfits(quantity, targets, done, market, weights);
  if (split.kind !== 'split') return null;
  const fitted = fitTargets(split.legs, budget);
  return { legs: fitted.legs, folded: fitted.folded || split.merged };
}

/** Entries' fee rate actually paid (fees in quote ÷ notional); null before any fee is known. */
export function entryFeeRate(legs: readonly Leg[]): number | null {
  const entries = legsOf(legs, 'entry').filter((leg) => leg.filledQuantity > 0);
  const notional = entries.reduce(
    (acc, leg) => acc.plus(dec(leg.filledQuantity).times(dec(leg.averagePrice ?? 0))),
    dec(0),
  );
  if (!notional.gt(0)) return null;
  const fees = entries.reduce((acc, leg) => acc.plus(feesInQuote(leg.fees)), dec(0));
  return fees.gt(0) ? toNumber(fees.div(notional)) : null;
}

/**
 * The break-even stop: the average entry plus both sides' fees. The entry side pays what its fills
 * paid; the exit (a stop fills as a taker) the market's taker rate, or the entry's when that is higher.
 */
export function breakEvenPrice(
  side: Side,
  averageEntry: number,
  legs: readonly Leg[],
  market: MarketRules,
): number {
  const paid = entryFeeRate(legs);
  const taker = market.takerFee ?? 0;
  const entryRate = paid ?? taker;
  return breakEvenStopPrice(side, averageEntry, market.priceStep, entryRate, Math.max(entryRate, taker));
}

export interface DesiredStop {
  readonly trigger: number;
  /** The stop moved to break-even (after the first target). */
  readonly breakEven: boolean;
}

/** The stop that should be in force: the recorded one, or break-even once a target was reached. */
export function desiredStop(
  position: { side: Side; stopLoss: number | null; averageEntryPrice: number | null },
  legs: readonly Leg[],
  hits: readonly number[],
  market: MarketRules | null,
  breakEvenAfterTp1: boolean,
): DesiredStop | null {
  if (position.stopLoss === null) return null;
  const kept = { trigger: position.stopLoss, breakEven: false };
  if (hits.length === 0 || !breakEvenAfterTp1 || position.averageEntryPrice === null || !market) return kept;
  const breakEven = breakEvenPrice(position.side, position.averageEntryPrice, legs, market);
  const behind = position.side === 'long' ? position.stopLoss < breakEven : position.stopLoss > breakEven;
  return behind ? { trigger: breakEven, breakEven: true } : kept;
}

/** Too little to sell: below the market's minimum amount or minimum order value at `price`. */
export function isDust(market: MarketRules | null, held: number, price: number | null): boolean {
  if (!market) return false;
  const sellable = floorToStep(held, market.amountStep);
  if (sellable <= 0 || sellable < market.minAmount) return true;
  return market.minNotional > 0 && price !== null && sellable * price < market.minNotional;
}

/** Signal prices on the market's price step. */
export const onPriceStep = (prices: readonly number[], market: MarketRules | null): number[] =>
  prices.map((price) => (market ? roundToStep(price, market.priceStep) : price));

/** Conditional orders (stops and take-profit triggers) of these legs still working on a futures market. */
export const liveConditional = (legs: readonly Leg[], isLiveLeg: (leg: Leg) => boolean): number =>
  legs.filter(
    (leg) =>
      (leg.type === 'stop-loss' || leg.type === 'take-profit') && kindOf(leg) !== 'entry' && isLiveLeg(leg),
  ).length;
