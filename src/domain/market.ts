/**
 * What an exchange allows for one market, as the gateway reports it. Steps are decimal step sizes
 * (0.001, not a digit count), so rounding is one rule for every exchange.
 */
export interface MarketRules {
  /** The exchange's unified symbol: `BTC/USDT` (spot) or `BTC/USDT:USDT` (linear perpetual). */
  symbol: string;
  base: string;
  quote: string;
  type: 'spot' | 'swap';
  amountStep: number;
  priceStep: number;
  minAmount: number;
  maxAmount: number | null;
  /** Minimum order value in quote currency (0 when the exchange sets none). */
  minNotional: number;
  /** Highest leverage the market allows (1 for spot). */
  maxLeverage: number;
  /** Base units per contract (1 on Binance linear). */
  contractSize: number;
  /** Taker fee rate the exchange lists for the market (0.0005 = 0.05 %), when known. */
  takerFee?: number;
  /**
   * How many conditional orders (stop-loss and take-profit legs) one account may have open on this
   * market at once; the next is refused (Binance MAX_NUM_ALGO_ORDERS: 10 per USDⓈ-M symbol, -4045).
   * null when the exchange publishes no such limit.
   */
  maxConditionalOrders: number | null;
}
