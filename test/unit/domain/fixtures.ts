/** Shared builders for the domain unit tests: realistic Binance-like markets and account settings. */
import type { AccountSettings } from '../../../src/domain/account';
import type { MarketRules } from '../../../src/domain/market';
import type { TradeSignal } from '../../../src/domain/signal';
import type { BalanceSnapshot } from '../../../src/domain/sizing';

export const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

/** Binance USDⓈ-M BTCUSDT as ccxt reports it (steps as decimals). */
export function btcPerp(overrides: Partial<MarketRules> = {}): MarketRules {
  return {
    symbol: 'BTC/USDT:USDT',
    base: 'BTC',
    quote: 'USDT',
    type: 'swap',
    amountStep: 0.001,
    priceStep: 0.1,
    minAmount: 0.001,
    maxAmount: 1000,
    minNotional: 100,
    maxLeverage: 125,
    contractSize: 1,
    maxConditionalOrders: 10,
    ...overrides,
  };
}

export function btcSpot(overrides: Partial<MarketRules> = {}): MarketRules {
  return {
    symbol: 'BTC/USDT',
    base: 'BTC',
    quote: 'USDT',
    type: 'spot',
    amountStep: 0.00001,
    priceStep: 0.01,
    minAmount: 0.00001,
    maxAmount: 9000,
    minNotional: 5,
    maxLeverage: 1,
    contractSize: 1,
    maxConditionalOrders: 5,
    ...overrides,
  };
}

export function settings(overrides: Partial<AccountSettings> = {}): AccountSettings {
  return {
    marketType: 'futures',
    sizingMode: 'fixed',
    sizingValue: 100,
    riskPerTradePct: 2,
    maxPositionUsd: 1000,
    leverage: 10,
    maxDailyTrades: 5,
    maxDailyLossPct: 5,
    stopOnLoss: true,
    minNotionalPolicy: 'skip',
    symbolAllow: [],
    symbolBlock: [],
    ...overrides,
  };
}

export function balance(available: number, overrides: Partial<BalanceSnapshot> = {}): BalanceSnapshot {
  return { asset: 'USDT', available, equity: available, asOf: NOW - 10_000, ...overrides };
}

export function longSignal(overrides: Partial<TradeSignal> = {}): TradeSignal {
  return {
    symbol: 'BTC/USDT',
    side: 'long',
    entryType: 'market',
    entries: [],
    stopLoss: 48_000,
    takeProfits: [52_000, 54_000],
    leverage: null,
    ...overrides,
  };
}
