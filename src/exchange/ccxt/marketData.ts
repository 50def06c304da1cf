/**
 * Public market data for paper accounts: the shared keyless instance of the exchange (live hosts),
 * with quotes cached briefly and concurrent requests for one symbol merged, so a thousand paper
 * accounts polling one symbol cost one request per `quoteTtlMs`.
 */
import type { MarketType } from '../../domain/account';
import type { MarketRules } from '../../domain/market';
import { ExchangeError } from '../errors';
import type { Candle, Quote } from '../gateway';
import { toCandles } from './orderState';
import type { MarketDataSource } from '../paper/marketData';
import type { SharedMarkets } from './markets';
import { translateError } from './translate';
import { inSignalLane } from '../requestLane';

export class CcxtMarketData implements MarketDataSource {
  private readonly quotes = new Map<string, { quote: Quote; at: number }>();
  private readonly inflight = new Map<string, Promise<Quote>>();
  quoteTtlMs = 1000;

  constructor(
    private readonly shared: SharedMarkets,
    private readonly now: () => number,
  ) {}

  markets(exchangeId: string, marketType: MarketType): Promise<ReadonlyMap<string, MarketRules>> {
    return this.shared.rules(exchangeId, 'live', marketType);
  }

  async quote(exchangeId: string, _marketType: MarketType, symbol: string): Promise<Quote> {
    const key = `${exchangeId}|${symbol}`;
    const cached = this.quotes.get(key);
    if (cached && this.now() - cached.at < this.quoteTtlMs) return cached.quote;
    const running = this.inflight.get(key);
    if (running) return running;
    // Shared by every caller of this price, a signal's among them: read in the signal lane.
    const request = inSignalLane(async () => {
      try {
        const exchange = await this.shared.publicInstance(exchangeId, 'live');
        const ticker = await exchange.fetchTicker(symbol);
        const last = ticker.last ?? ticker.close ?? undefined;
        if (last === undefined || last === null) throw new ExchangeError('unknown-outcome', `${exchangeId}: no price for ${symbol}`);
        const quote: Quote = { symbol, bid: ticker.bid ?? last, ask: ticker.ask ?? last, last, at: ticker.timestamp ?? this.now() };
        this.quotes.set(key, { quote, at: this.now() });
        return quote;
      } catch (error) {
        throw translateError(error, { exchangeId, action: `fetching the price of ${symbol}` });
      } finally {
        this.inflight.delete(key);
      }
    });
    this.inflight.set(key, request);
    return request;
  }

  /** Public candles from the keyless instance; market type picks spot or the linear swap symbol's data. */
  async candles(exchangeId: string, _marketType: MarketType, symbol: string, timeframe: string, limit: number): Promise<Candle[]> {
    try {
      const exchange = await this.shared.publicInstance(exchangeId, 'live');
      return toCandles(await exchange.fetchOHLCV(symbol, timeframe, undefined, limit));
    } catch (error) {
      throw translateError(error, { exchangeId, action: `fetching ${timeframe} candles of ${symbol}` });
    }
  }
}
