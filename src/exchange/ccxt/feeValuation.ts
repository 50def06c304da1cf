/**
 * Fees as ccxt reports them (per trade or per order, each in its own currency) turned into the port's
 * per-currency charges, each valued in the market's quote at fill time. A fee in the quote is its own
 * value; in the base it is worth the fill price; in a third currency (BNB) it is worth that currency's
 * price in the quote at the fill's minute: the close of the 1-minute candle of `BNB/USDT` holding the
 * fill (the last price while that minute is still open). Prices are facts of the past, so they are
 * cached per exchange, pair and minute, bounded.
 */
import type { Exchange } from 'ccxt';
import { LRUCache } from 'lru-cache';
import { chargeAtFill, mergeFees } from '../../domain/fees';
import type { FeeCharge } from '../../domain/fees';
import { dec, toNumber } from '../../domain/precision';
import { parsePair } from '../../domain/symbols';
import { inSignalLane } from '../requestLane';

/** One fee as ccxt lists it, with the fill it belongs to. */
export interface RawFee {
  readonly currency: string | undefined;
  readonly cost: number | undefined;
  /** Price of the fill (average price for an order-level fee). */
  readonly price: number;
  /** Time of the fill (ms, exchange time). */
  readonly at: number;
}

const MINUTE = 60_000;

/** ccxt's `fees` list of an order or trade, or its single `fee`. */
export function listedFees(source: { fee?: unknown; fees?: unknown }): { cost?: number; currency?: string }[] {
  const asFee = (value: unknown): { cost?: number; currency?: string } | null => {
    if (typeof value !== 'object' || value === null) return null;
    const { cost, currency } = value as { cost?: unknown; currency?: unknown };
    return { ...(typeof cost === 'number' ? { cost } : {}), ...(typeof currency === 'string' ? { currency } : {}) };
  };
  const listed = Array.isArray(source.fees) ? source.fees.map(asFee).filter((f) => f !== null) : [];
  if (listed.length > 0) return listed;
  const single = asFee(source.fee);
  return single ? [single] : [];
}

/** The charges whose value needs no lookup; third-currency charges come back unvalued. */
export function chargesAtFill(symbol: string, fees: readonly RawFee[]): FeeCharge[] {
  const pair = parsePair(symbol);
  const charges = fees
    .filter((f) => f.currency !== undefined && (f.cost ?? 0) > 0)
    .map((f) => (pair ? chargeAtFill(f.currency as string, f.cost as number, f.price, pair) : { currency: f.currency as string, amount: f.cost as number, quoteValue: null }));
  return mergeFees(charges);
}

/** How long the price of a minute still open is reused: fills in one minute read one candle. */
const OPEN_MINUTE_REUSE_MS = 20_000;

export class FeeValuation {
  /** Closed minutes for good; the open minute for a few seconds (`until`). */
  private readonly prices = new LRUCache<string, { price: number | null; until: number }>({ max: 5_000 });
  /** Reads under way: many fills of one minute wait for the same request. */
  private readonly reading = new Map<string, Promise<number | null>>();

  constructor(private readonly exchangeKey: string) {}

  /**
   * Charges valued in the quote: base and quote at once, third currencies at their price in the fill's
   * minute. A price that cannot be read leaves that charge unvalued (the caller looks again later);
   * it never fails the lookup it rides on.
   */
  async value(exchange: Exchange, symbol: string, fees: readonly RawFee[], exchangeNow: number): Promise<FeeCharge[]> {
    const pair = parsePair(symbol);
    if (!pair) return chargesAtFill(symbol, fees);
    const charges: FeeCharge[] = [];
    for (const fee of fees) {
      if (fee.currency === undefined || !((fee.cost ?? 0) > 0)) continue;
      const charge = chargeAtFill(fee.currency, fee.cost as number, fee.price, pair);
      if (charge.quoteValue !== null) {
        charges.push(charge);
        continue;
      }
      const price = await this.priceAt(exchange, `${charge.currency.toUpperCase()}/${pair.quote}`, fee.at, exchangeNow);
      charges.push(price === null ? charge : { ...charge, quoteValue: toNumber(dec(charge.amount).times(dec(price)).round(12, 1)) });
    }
    return mergeFees(charges);
  }

  private async priceAt(exchange: Exchange, pairSymbol: string, at: number, exchangeNow: number): Promise<number | null> {
    const minute = Math.floor(at / MINUTE) * MINUTE;
    const key = `${this.exchangeKey}|${pairSymbol}|${minute}`;
    const cached = this.prices.get(key);
    if (cached && cached.until > exchangeNow) return cached.price;
    if (!exchange.markets?.[pairSymbol]) return null;
    let pending = this.reading.get(key);
    if (!pending) {
      // Shared by whoever asks next: read in the signal lane, whoever started it.
      pending = inSignalLane(() => this.readCandle(exchange, pairSymbol, minute))
        .then((price) => {
          // A closed minute is final; the open one is the price so far, good for a few seconds.
          if (price !== null) this.prices.set(key, { price, until: minute + MINUTE <= exchangeNow ? Infinity : exchangeNow + OPEN_MINUTE_REUSE_MS });
          return price;
        })
        .finally(() => this.reading.delete(key));
      this.reading.set(key, pending);
    }
    return pending;
  }

  private async readCandle(exchange: Exchange, pairSymbol: string, minute: number): Promise<number | null> {
    try {
      const [candle] = await exchange.fetchOHLCV(pairSymbol, '1m', minute, 1);
      const close = candle?.[4];
      return candle?.[0] === minute && typeof close === 'number' && close > 0 ? close : null;
    } catch {
      return null;
    }
  }
}
