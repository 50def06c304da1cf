/**
 * The bot's book of a closed futures position against the exchange's own records of it (Binance
 * income: REALIZED_PNL per fill, COMMISSION per fill in the asset charged, FUNDING_FEE per payment),
 * component by component, so an owner sees where any difference comes from. Pure; the service reads.
 */
import { feeAmountIn, feesInQuote, type FeeCharge } from './fees';
import { dec, toNumber } from './precision';

/** What the bot booked for one closed position. */
export interface BookedPosition {
  /** Realised PnL as booked: trading (exits − entries − fees) plus funding. */
  readonly realised: number;
  readonly funding: number;
  /** Every fee its orders paid, per currency, with the fill-time quote values. */
  readonly fees: readonly FeeCharge[];
  readonly quote: string;
}

/** The exchange's records in the position's life, on its symbol. */
export interface ExchangeRecords {
  readonly realizedPnl: readonly number[];
  readonly commission: readonly { currency: string; amount: number }[];
  readonly funding: readonly number[];
}

export interface ComponentCheck {
  readonly bot: number;
  readonly exchange: number;
  readonly difference: number;
}

export interface Reconciliation {
  /** Exits against entries, before fees. */
  readonly gross: ComponentCheck;
  /** Per currency charged, in that currency (paid is positive). */
  readonly fees: readonly (ComponentCheck & { currency: string })[];
  readonly funding: ComponentCheck;
  /** Realised PnL in the quote; the exchange's commission valued at the bot's fill-time rates. null: a currency the bot has no rate for. */
  readonly total: ComponentCheck | null;
  /** Some component is a cent or more apart (fees: the eighth decimal). */
  readonly matches: boolean;
}

const CENT = dec('0.01');
const check = (bot: ReturnType<typeof dec>, exchange: ReturnType<typeof dec>): ComponentCheck => ({
  bot: toNumber(bot.round(8, 1)),
  exchange: toNumber(exchange.round(8, 1)),
  difference: toNumber(exchange.minus(bot).round(8, 1)),
});
const total = (xs: readonly number[]) => xs.reduce((acc, x) => acc.plus(dec(x)), dec(0));

export function reconcile(booked: BookedPosition, records: ExchangeRecords): Reconciliation {
  const botFees = feesInQuote(booked.fees);
  const botTrading = dec(booked.realised).minus(dec(booked.funding));
  const gross = check(botTrading.plus(botFees), total(records.realizedPnl));
  const funding = check(dec(booked.funding), total(records.funding));

  const currencies = [...new Set([...booked.fees, ...records.commission].map((c) => c.currency.toUpperCase()))].sort();
  const fees = currencies.map((currency) => {
    const paid = records.commission.filter((c) => c.currency.toUpperCase() === currency).reduce((acc, c) => acc.minus(dec(c.amount)), dec(0));
    return { currency, ...check(feeAmountIn(booked.fees, currency), paid) };
  });

  // The exchange's commission in the quote, at the rate the bot valued that currency at (its fills' prices).
  let commissionValue: ReturnType<typeof dec> | null = dec(0);
  for (const fee of fees) {
    if (fee.exchange === 0) continue;
    const rate = rateOf(booked, fee.currency);
    commissionValue = commissionValue === null || rate === null ? null : commissionValue.plus(dec(fee.exchange).times(rate));
  }
  const totalCheck = commissionValue === null ? null : check(dec(booked.realised), total(records.realizedPnl).minus(commissionValue).plus(total(records.funding)));

  const apart = (c: ComponentCheck) => dec(c.difference).abs().gte(CENT);
  const matches = !apart(gross) && !apart(funding) && fees.every((f) => f.difference === 0) && (totalCheck === null || !apart(totalCheck));
  return { gross, fees, funding, total: totalCheck, matches };
}

/** Quote per unit of a fee currency, from what the bot booked (the quote itself is 1). */
function rateOf(booked: BookedPosition, currency: string): ReturnType<typeof dec> | null {
  if (currency === booked.quote.toUpperCase()) return dec(1);
  const charged = booked.fees.filter((c) => c.currency.toUpperCase() === currency && c.quoteValue !== null);
  const amount = charged.reduce((acc, c) => acc.plus(dec(c.amount)), dec(0));
  if (!amount.gt(0)) return null;
  return charged.reduce((acc, c) => acc.plus(dec(c.quoteValue!)), dec(0)).div(amount);
}
