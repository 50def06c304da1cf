/**
 * Pure readings of ccxt's unified structures (orders, positions, trades, balances, candles) into the
 * port's types. What one venue's own fields say beyond them comes in from its dialect (venues/).
 */
import type { Order, Position, Trade as CcxtTrade } from 'ccxt';
import type { AssetBalance, Candle, OrderIntent, OrderState, OrderStatus, OrderType, PositionState, Trade } from '../gateway';
import { chargesAtFill, listedFees, type RawFee } from './feeValuation';

export const num = (value: unknown): number | undefined => {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : NaN;
  return Number.isFinite(n) ? n : undefined;
};

export const rec = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** What the caller knew of the order when it asked (its own id, its symbol, what it sent). */
export type OrderFallback = Partial<OrderIntent> & { clientOrderId: string; symbol: string };

/**
 * A ccxt order as the port's state. `venueStatus` is what the venue's own fields say where ccxt's
 * unified status is wrong (a Binance algo order); `now` stamps an order with no time of its own.
 */
export function orderStateOf(order: Order, fallback: OrderFallback, venueStatus: OrderStatus | undefined, now: number): OrderState {
  const quantity = order.amount ?? fallback.quantity ?? 0;
  const filled = order.filled ?? 0;
  const symbol = order.symbol ?? fallback.symbol;
  const averagePrice = order.average ?? (filled > 0 ? (order.price ?? null) : null);
  const updatedAt = order.lastUpdateTimestamp ?? order.lastTradeTimestamp ?? order.timestamp ?? now;
  return {
    clientOrderId: order.clientOrderId ?? fallback.clientOrderId,
    exchangeOrderId: String(order.id ?? ''),
    symbol,
    side: order.side === 'sell' ? 'sell' : order.side === 'buy' ? 'buy' : (fallback.side ?? 'buy'),
    type: orderTypeOf(order, fallback.type),
    status: venueStatus ?? statusOf(order.status, filled, quantity),
    quantity,
    filledQuantity: filled,
    averagePrice,
    fees: chargesAtFill(symbol, rawFeesOf(order, averagePrice ?? 0, order.lastTradeTimestamp ?? updatedAt)),
    updatedAt,
  };
}

/** The fees an order or trade lists, to be valued in the quote at `price` as of `at`. */
export function rawFeesOf(source: Parameters<typeof listedFees>[0], price: number, at: number): RawFee[] {
  return listedFees(source).map((fee) => ({ currency: fee.currency, cost: fee.cost, price, at }));
}

/** The fees already on an order's state, to be valued again (no request but prices). */
export function stateFees(state: OrderState): RawFee[] {
  return state.fees.map((fee) => ({ currency: fee.currency, cost: fee.amount, price: state.averagePrice ?? 0, at: state.updatedAt }));
}

export function statusOf(status: string | undefined, filled: number, quantity: number): OrderStatus {
  switch (status) {
    case 'closed':
      return 'filled';
    case 'canceled':
    case 'canceling':
      return 'cancelled';
    case 'rejected':
      return 'rejected';
    case 'expired':
      return 'expired';
    default:
      return filled > 0 && filled < quantity ? 'partially-filled' : 'open';
  }
}

export function orderTypeOf(order: Order, fallback: OrderType | undefined): OrderType {
  const info = rec(order.info);
  const raw = String(info['type'] ?? info['orderType'] ?? info['stopOrderType'] ?? order.type ?? '').toUpperCase();
  if (raw.includes('TAKE_PROFIT') || raw.includes('TAKEPROFIT')) return 'take-profit';
  if (raw.includes('STOP')) return 'stop-loss';
  if (order.takeProfitPrice !== undefined && order.takeProfitPrice !== null) return 'take-profit';
  if (order.stopLossPrice !== undefined && order.stopLossPrice !== null) return 'stop-loss';
  if (raw === 'LIMIT' || raw === 'LIMIT_MAKER') return 'limit';
  if (raw === 'MARKET') return 'market';
  return fallback ?? (order.type === 'limit' ? 'limit' : 'market');
}

/**
 * A ccxt position as the port's, its quantity in contracts: the unit orders are placed in (ccxt's
 * amount on a swap), so a close or a reduction sized from it is right on a venue whose contract is
 * not one coin (an OKX BTC swap's is 0.01 BTC). Binance's USDⓈ-M contracts are one coin each.
 */
export function positionStateOf(position: Position): PositionState[] {
  const contracts = Math.abs(position.contracts ?? 0);
  if (!(contracts > 0) || !position.symbol) return [];
  const side: 'long' | 'short' = position.side === 'short' ? 'short' : 'long';
  return [
    {
      symbol: position.symbol,
      side,
      quantity: contracts,
      entryPrice: position.entryPrice ?? 0,
      markPrice: position.markPrice ?? null,
      unrealizedPnl: position.unrealizedPnl ?? 0,
      leverage: position.leverage ?? null,
    },
  ];
}

/** A ccxt trade as the port's, its fees charged at fill (valued later by the caller). */
export function tradeOf(trade: CcxtTrade, symbol: string): Trade {
  const info = rec(trade.info);
  const clientOrderId = typeof info['clientOrderId'] === 'string' ? info['clientOrderId'] : null;
  return {
    id: String(trade.id),
    orderId: String(trade.order ?? ''),
    clientOrderId,
    symbol: trade.symbol ?? symbol,
    side: trade.side === 'sell' ? 'sell' : 'buy',
    price: trade.price ?? 0,
    quantity: trade.amount ?? 0,
    fees: chargesAtFill(trade.symbol ?? symbol, rawFeesOf(trade, trade.price ?? 0, trade.timestamp ?? 0)),
    timestamp: trade.timestamp ?? 0,
  };
}

const BALANCE_KEYS = new Set(['info', 'timestamp', 'datetime', 'free', 'used', 'total', 'debt']);

/**
 * ccxt's unified balance (one `{ free, used, total }` entry per currency code) as the port's asset
 * balances; a missing free or used is what the total leaves of the other; empty assets are left out.
 */
export function toAssetBalances(balance: Record<string, unknown>): Map<string, AssetBalance> {
  const out = new Map<string, AssetBalance>();
  for (const [currency, value] of Object.entries(balance)) {
    if (BALANCE_KEYS.has(currency) || typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const entry = rec(value);
    const total = num(entry['total']);
    let free = num(entry['free']);
    let used = num(entry['used']);
    if (free === undefined && used === undefined) {
      if (total === undefined) continue;
      free = total;
    }
    free ??= Math.max(0, (total ?? 0) - (used ?? 0));
    used ??= Math.max(0, (total ?? free) - free);
    if (free === 0 && used === 0) continue;
    out.set(currency, { free, used });
  }
  return out;
}

/** ccxt's OHLCV rows ([time, open, high, low, close, volume]) as candles; incomplete rows are dropped. */
export function toCandles(rows: readonly (readonly (number | undefined)[])[]): Candle[] {
  const out: Candle[] = [];
  for (const [openTime, open, high, low, close, volume] of rows) {
    if (openTime === undefined || open === undefined || high === undefined || low === undefined || close === undefined) continue;
    out.push({ openTime, open, high, low, close, volume: volume ?? 0 });
  }
  return out;
}
