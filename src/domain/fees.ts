/**
 * Trading fees kept per currency. An exchange charges a fill's fee in the quote, in the base (Binance
 * spot buys) or in a third currency (BNB when the account pays fees in BNB); adding those amounts
 * together is meaningless, so every charge keeps its currency, and its value in the market's quote
 * currency at fill time, which is what PnL uses.
 */
import { dec, toNumber } from './precision';

export interface FeeCharge {
  readonly currency: string;
  readonly amount: number;
  /**
   * Worth in the market's quote currency at the fill's time: the amount itself for the quote, amount ×
   * fill price for the base, amount × that currency's price then for a third one. null: not valued
   * yet (the price could not be read); PnL leaves it out and says so.
   */
  readonly quoteValue: number | null;
}

type Decimal = ReturnType<typeof dec>;

const same = (a: string, b: string) => a.toUpperCase() === b.toUpperCase();

/** The quote value of one charge whose price is known without a lookup (quote or base currency). */
export function chargeAtFill(currency: string, amount: number, fillPrice: number, market: { base: string; quote: string }): FeeCharge {
  if (same(currency, market.quote)) return { currency, amount, quoteValue: amount };
  if (same(currency, market.base)) return { currency, amount, quoteValue: toNumber(dec(amount).times(dec(fillPrice)).round(12, 1)) };
  return { currency, amount, quoteValue: null };
}

/**
 * Charges merged per currency (amounts and values added). The valued and the not-yet-valued parts of
 * one currency stay apart: one unreadable minute must not drop the value of the rest.
 */
export function mergeFees(...lists: readonly (readonly FeeCharge[])[]): FeeCharge[] {
  const byCurrency = new Map<string, { currency: string; amount: Decimal; value: Decimal | null }>();
  for (const charge of lists.flat()) {
    if (!(charge.amount > 0)) continue;
    const key = `${charge.currency.toUpperCase()}:${charge.quoteValue === null ? 'unvalued' : 'valued'}`;
    const seen = byCurrency.get(key);
    const value = charge.quoteValue === null ? null : dec(charge.quoteValue);
    if (!seen) byCurrency.set(key, { currency: charge.currency, amount: dec(charge.amount), value });
    else {
      seen.amount = seen.amount.plus(dec(charge.amount));
      seen.value = seen.value === null || value === null ? null : seen.value.plus(value);
    }
  }
  return [...byCurrency.values()].map((c) => ({ currency: c.currency, amount: toNumber(c.amount), quoteValue: c.value === null ? null : toNumber(c.value) }));
}

/** A share of each charge (a fill split between positions, a part of a position). */
export function scaleFees(fees: readonly FeeCharge[], share: Decimal | number): FeeCharge[] {
  const s = dec(share);
  return fees.map((c) => ({
    currency: c.currency,
    amount: toNumber(dec(c.amount).times(s).round(12, 1)),
    quoteValue: c.quoteValue === null ? null : toNumber(dec(c.quoteValue).times(s).round(12, 1)),
  }));
}

/** The fees' value in the quote currency (charges not valued yet are left out). */
export function feesInQuote(fees: readonly FeeCharge[]): Decimal {
  return fees.reduce((acc, c) => (c.quoteValue === null ? acc : acc.plus(dec(c.quoteValue))), dec(0));
}

/** How much of one currency was charged (a spot buy's fee in the base shrinks what can be sold). */
export function feeAmountIn(fees: readonly FeeCharge[], currency: string): Decimal {
  return fees.reduce((acc, c) => (same(c.currency, currency) ? acc.plus(dec(c.amount)) : acc), dec(0));
}

/** Currencies charged that have no quote value yet. */
export function unvaluedCurrencies(fees: readonly FeeCharge[]): string[] {
  return [...new Set(fees.filter((c) => c.quoteValue === null).map((c) => c.currency.toUpperCase()))];
}

/** True once a filled order's fees are known and valued: nothing left to look up. */
export const feesSettled = (fees: readonly FeeCharge[]): boolean => fees.length > 0 && fees.every((c) => c.quoteValue !== null);

/** The same charges, whatever their order or the key order a database gave them back in. */
export function sameFees(a: readonly FeeCharge[], b: readonly FeeCharge[]): boolean {
  const key = (fees: readonly FeeCharge[]) =>
    fees
      .map((c) => `${c.currency.toUpperCase()}|${dec(c.amount).toString()}|${c.quoteValue === null ? '-' : dec(c.quoteValue).toString()}`)
      .sort()
      .join(';');
  return key(a) === key(b);
}
