import type { MarketType } from '../../domain/account';
import type { MarketRules } from '../../domain/market';
import type { Candle, Quote } from '../gateway';

/**
 * Where paper trading gets markets and prices: the exchange's PUBLIC data (no key involved). The ccxt
 * implementation (src/exchange/ccxt/marketData.ts) uses one keyless instance per exchange, shared by
 * every paper account; tests point it at the simulator's public endpoints.
 */
export interface MarketDataSource {
  markets(exchangeId: string, marketType: MarketType): Promise<ReadonlyMap<string, MarketRules>>;
  quote(exchangeId: string, marketType: MarketType, symbol: string): Promise<Quote>;
  /** Public candles, oldest first (optional: sources without history leave it out). */
  candles?(exchangeId: string, marketType: MarketType, symbol: string, timeframe: string, limit: number): Promise<Candle[]>;
}
