/**
 * Realised PnL of one position from its fills: exit value − entry value of what was exited (for a
 * long; the other way round for a short), minus every fee paid on either side at its quote value at
 * fill time (see fees.ts: base-asset fees at the fill price, BNB at BNB's price then). Decimal
 * arithmetic; the result is rounded to 8 decimals. Quantities are in the market's amount unit, so
 * values are quantity × price × contractSize (coins per contract on a swap; 1 on spot and Binance).
 */
import { feesInQuote, unvaluedCurrencies } from './fees';
import type { FeeCharge } from './fees';
import { dec, toNumber } from './precision';
import type { Side } from './signal';

export interface Fill {
  readonly quantity: number;
  /** Average fill price. */
  readonly price: number;
  readonly fees: readonly FeeCharge[];
}

export interface PositionPnl {
  readonly entryQuantity: number;
  readonly exitQuantity: number;
  readonly averageEntryPrice: number | null;
  readonly averageExitPrice: number | null;
  /** Fees in the quote currency, both sides. */
  readonly fees: number;
  /** Currencies of fees that could not be valued yet, so `fees` leaves them out. */
  readonly unvaluedFees: readonly string[];
  readonly realizedPnl: number;
  /** Realised PnL over the margin of what was exited (entry value ÷ leverage), in percent. */
  readonly returnPct: number | null;
}

const round8 = (value: ReturnType<typeof dec>): number => toNumber(value.round(8, 1));
const sum = (fills: readonly Fill[], f: (fill: Fill) => ReturnType<typeof dec>) => fills.reduce((acc, fill) => acc.plus(f(fill)), dec(0));

/** The fee of one fill in the quote currency. */
export const feeInQuote = (fill: Fill): ReturnType<typeof dec> => feesInQuote(fill.fees);

export function positionPnl(side: Side, entries: readonly Fill[], exits: readonly Fill[], leverage: number, contractSize = 1): PositionPnl {
  const coins = dec(contractSize > 0 ? contractSize : 1);
  const entryQty = sum(entries, (f) => dec(f.quantity));
  const exitQty = sum(exits, (f) => dec(f.quantity));
  const entryValue = sum(entries, (f) => dec(f.quantity).times(dec(f.price)));
  const exitValue = sum(exits, (f) => dec(f.quantity).times(dec(f.price)));
  const fees = sum([...entries, ...exits], feeInQuote);
  const averageEntry = entryQty.gt(0) ? entryValue.div(entryQty) : null;
  const averageExit = exitQty.gt(0) ? exitValue.div(exitQty) : null;
  const exitedCost = averageEntry ? averageEntry.times(exitQty) : dec(0);
  const gross = (side === 'long' ? exitValue.minus(exitedCost) : exitedCost.minus(exitValue)).times(coins);
  const realized = gross.minus(fees);
  const margin = exitedCost.times(coins).div(dec(leverage > 0 ? leverage : 1));
  return {
    entryQuantity: round8(entryQty),
    exitQuantity: round8(exitQty),
    averageEntryPrice: averageEntry ? round8(averageEntry) : null,
    averageExitPrice: averageExit ? round8(averageExit) : null,
    fees: round8(fees),
    unvaluedFees: unvaluedCurrencies([...entries, ...exits].flatMap((f) => f.fees)),
    realizedPnl: round8(realized),
    returnPct: margin.gt(0) ? toNumber(realized.div(margin).times(100).round(2, 1)) : null,
  };
}

/**
 * Realised PnL so far of a position still open: what its exits (take-profits hit, partial closes)
 * gained against the average entry, minus their own fees and the entry fees' share of what was
 * exited (the rest of the entry fees belongs to what is still held). Decimal, rounded to 8 places.
 */
export function realisedSoFar(side: Side, entries: readonly Fill[], exits: readonly Fill[], contractSize = 1): number {
  const entryQty = sum(entries, (f) => dec(f.quantity));
  const exitQty = sum(exits, (f) => dec(f.quantity));
  if (!entryQty.gt(0) || !exitQty.gt(0)) return 0;
  const averageEntry = sum(entries, (f) => dec(f.quantity).times(dec(f.price))).div(entryQty);
  const exitValue = sum(exits, (f) => dec(f.quantity).times(dec(f.price)));
  const exitedCost = averageEntry.times(exitQty);
  const gross = (side === 'long' ? exitValue.minus(exitedCost) : exitedCost.minus(exitValue)).times(dec(contractSize > 0 ? contractSize : 1));
  const exitFees = sum(exits, feeInQuote);
  const entryFeesShare = sum(entries, feeInQuote).times(exitQty.gt(entryQty) ? dec(1) : exitQty.div(entryQty));
  return round8(gross.minus(exitFees).minus(entryFeesShare));
}
