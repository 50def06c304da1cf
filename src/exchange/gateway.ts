import type { MarketType } from '../domain/account';
import type { MarketRules } from '../domain/market';
import type { FeeCharge } from '../domain/fees';

/**
 * The narrow port every account trades through. The engine never knows whether it talks to a live
 * exchange, a demo account or paper trading. Symbols here are the exchange's unified symbols
 * (`BTC/USDT`, `BTC/USDT:USDT`); quantities and prices are already rounded to the market's steps.
 */

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop-loss' | 'take-profit';
export type MarginMode = 'isolated' | 'cross';
export type PositionMode = 'one-way' | 'hedge';

export interface OrderIntent {
  /** Caller-supplied, deterministic per (signal, account, leg): the key of the safety protocol. */
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  quantity: number;
  /** Limit price (limit orders). */
  price?: number;
  /** Trigger price (stop-loss and take-profit legs). */
  triggerPrice?: number;
  reduceOnly: boolean;
  /** Hedge-mode accounts need the position side on every order. */
  positionSide?: 'long' | 'short';
  /**
   * Entry orders only, on exchanges that attach protection to the entry (Bybit; see
   * `exchangeCapabilities(id).protection === 'attached-to-entry'`): stop-loss and take-profit trigger
   * prices sent with the entry itself. Gateways that place them as separate orders refuse these
   * (not-supported) rather than silently drop them.
   */
  attachedStopLoss?: number;
  attachedTakeProfit?: number;
}

export type OrderStatus = 'open' | 'partially-filled' | 'filled' | 'cancelled' | 'rejected' | 'expired';

export interface OrderState {
  clientOrderId: string;
  exchangeOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  status: OrderStatus;
  quantity: number;
  filledQuantity: number;
  averagePrice: number | null;
  /** Fees paid so far, per currency with each one's quote value at fill time (empty when none yet). */
  fees: readonly FeeCharge[];
  /**
   * True when the order filled and its fees could not be read (the answer carried none and the trades
   * that carry them could not be read): `fees` is then no answer, not "no fee".
   */
  feesUnknown?: boolean;
  /** Exchange time of the last update (ms). */
  updatedAt: number;
  /**
   * The exchange order that carries the fills when it is not this one (a triggered Binance algo order
   * fills through the order it placed: its trades name that order's id).
   */
  fillOrderId?: string;
}

export interface Balance {
  /** The settlement asset the figures are in (USDT for Binance spot/linear). */
  currency: string;
  /** Available to open new positions. */
  free: number;
  /** Wallet equity including unrealised PnL. */
  equity: number;
  asOf: number;
}

/** One asset of the account's wallet: available, and held back by resting orders (or margin). */
export interface AssetBalance {
  free: number;
  used: number;
}

export interface Quote {
  symbol: string;
  bid: number;
  ask: number;
  last: number;
  at: number;
}

export interface PositionState {
  symbol: string;
  side: 'long' | 'short';
  /** In the market's amount unit, as orders' quantities: contracts on a swap (of `contractSize` coins each). */
  quantity: number;
  entryPrice: number;
  markPrice: number | null;
  unrealizedPnl: number;
  leverage: number | null;
}

export interface Trade {
  id: string;
  orderId: string;
  clientOrderId: string | null;
  symbol: string;
  side: OrderSide;
  price: number;
  quantity: number;
  fees: readonly FeeCharge[];
  timestamp: number;
}

/** What the exchange booked to a futures wallet: funding paid or received, realised PnL, commission. */
export type IncomeKind = 'funding' | 'realized-pnl' | 'commission';

export interface IncomeQuery {
  kinds: readonly IncomeKind[];
  since: number;
  until: number;
  symbol?: string;
}

export interface IncomeEntry {
  /** The exchange's id (Binance tranId: unique within one kind of one account). */
  id: string;
  kind: IncomeKind;
  /** Unified symbol (`BTC/USDT:USDT`). */
  symbol: string;
  /** Received (+) or paid (−), in `currency`. */
  amount: number;
  currency: string;
  at: number;
  /** The trade it came from (realised PnL and commission), when the exchange says. */
  tradeId: string | null;
}

export interface IncomeRead {
  entries: IncomeEntry[];
  /** Everything up to here (inclusive) was read. */
  readUntil: number;
}

/** One OHLCV candle; `openTime` in ms (exchange time). */
export interface Candle {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface OrderOrigin {
  type: OrderType;
  clientOrderId: string | null;
}

export interface TradeCursor {
  /** Only trades at or after this time (ms). */
  sinceMs: number;
  /** Skip trades up to and including this id (ids increase per symbol). */
  afterId?: string;
  /**
   * Which end of a long history one answer (at most 1,000 trades) holds: the oldest after `sinceMs`
   * (default: a cursor walking forward) or the newest (how a position just closed was closed).
   */
  from?: 'oldest' | 'newest';
}

export interface KeyAudit {
  /** ok: may trade live; refused: never store; unknown: the exchange cannot tell (owner confirms). */
  verdict: 'ok' | 'refused' | 'unknown';
  canWithdraw: boolean | null;
  canTransfer: boolean | null;
  ipRestricted: boolean | null;
  futuresEnabled: boolean | null;
  /**
   * When the key loses its trading permission (ms; Binance takes it from keys not restricted to trusted
   * IPs after a while); null: no such date reported.
   */
  tradingExpiresAt: number | null;
  /** Plain words for the owner: why refused, or what to improve (no IP restriction). */
  notes: string[];
}

export interface AccountPreflight {
  positionMode: PositionMode;
  /** The margin mode the account trades in; always cross in Binance's Multi-Assets mode. */
  marginMode: MarginMode | null;
  /**
   * Binance futures Multi-Assets mode (several assets back one cross margin; isolated margin is
   * refused, so the bot trades such an account in cross margin). null when not applicable or unknown.
   */
  multiAssets: boolean | null;
  futuresEnabled: boolean;
  maxLeverage: number | null;
  /** Plain-words problems that would make orders fail later; empty when all is well. */
  problems: string[];
}

/** How one order request is placed (see ExchangeGateway.placeOrder). */
export interface PlaceOrderOptions {
  /**
   * Called after any wait for rate-limit budget and BEFORE the request leaves, with an upper bound
   * (exchange clock, ms) of the timestamp the exchange will judge the request by; the request waits
   * for the returned promise, and is not sent if it rejects. The order-safety protocol persists it:
   * a row with no stamp was never sent, and once the exchange's clock is past stamp + recvWindow the
   * request can no longer be accepted. Every gateway must call it before anything leaves.
   */
  onStamp?: (exchangeTimeMs: number) => Promise<void>;
}

export interface ExchangeGateway {
  readonly exchangeId: string;
  readonly marketType: MarketType;
  /** Every tradable market of this gateway's market type, by unified symbol. Shared, read-only. */
  markets(): Promise<ReadonlyMap<string, MarketRules>>;
  balance(): Promise<Balance>;
  /**
   * Every asset of the account's own wallet for its market type (the spot wallet of a spot account,
   * the futures wallet of a futures one), by currency code as the exchange names it (`BTC`, `USDT`):
   * `free` is available, `used` is locked (in resting orders, or as margin). Assets with nothing in
   * them may be left out, so a missing asset reads as zero. One exchange call; fails like balance().
   * Optional only so narrow test fakes need not offer it: the ccxt and paper gateways both do, and
   * the position sync needs it to see spot positions sold outside the bot.
   */
  assetBalances(): Promise<ReadonlyMap<string, AssetBalance>>;
  quote(symbol: string): Promise<Quote>;
  /**
   * Last prices of several symbols of this gateway's market in one read (Binance: ticker/price of all
   * symbols, weight 2 on futures and 4 on spot, where one per symbol costs 1 or 2 each). Symbols the
   * answer lacks are left out. Optional: without it, prices are read one symbol at a time.
   */
  lastPrices?(symbols: readonly string[]): Promise<ReadonlyMap<string, number>>;
  /**
   * Futures: the exchange's mark price (what it values open positions and liquidations at; Binance
   * premiumIndex, weight 1). Optional: without it, unrealised PnL uses the last price.
   */
  markPrice?(symbol: string): Promise<number>;
  /**
   * Futures: the account's income history (Binance GET /fapi/v1/income, weight 30 a page of 1,000),
   * oldest first, for `since`..`until` inclusive, and how far it was read completely (`until`, or less
   * when the history was too long for one call). Optional: without it there is no funding to book
   * (paper accounts pay none) and no reconciliation; throws `not-supported` on exchanges whose history
   * is not read yet (only Binance's is).
   */
  income?(query: IncomeQuery): Promise<IncomeRead>;
  /**
   * Sets leverage and margin mode once per symbol; "already set" is not an error. Where the account
   * allows only cross margin (Binance Multi-Assets mode), isolated becomes cross instead of an error.
   */
  ensureLeverage(symbol: string, leverage: number, marginMode: MarginMode): Promise<void>;
  placeOrder(intent: OrderIntent, options?: PlaceOrderOptions): Promise<OrderState>;
  /** null when the exchange says the order does not exist (may be transient right after creation). */
  fetchOrder(symbol: string, clientOrderId: string): Promise<OrderState | null>;
  /**
   * What an order was placed as, by the exchange's own order id (trades name it; Binance's carry
   * neither client id nor type): its type (a triggered stop or take-profit answers its origin, not the
   * market or limit order it became) and its client order id. null when the exchange knows no such order.
   */
  orderOrigin(symbol: string, orderId: string): Promise<OrderOrigin | null>;
  /** null when there was nothing to cancel. */
  cancelOrder(symbol: string, clientOrderId: string): Promise<OrderState | null>;
  openOrders(symbol?: string): Promise<OrderState[]>;
  positions(): Promise<PositionState[]>;
  tradesSince(symbol: string, cursor: TradeCursor): Promise<Trade[]>;
  /** The newest `limit` candles of `timeframe` (ccxt names: 1m, 15m, 1h, 4h, 1d), oldest first. Optional. */
  candles?(symbol: string, timeframe: string, limit: number): Promise<Candle[]>;
  auditKey(): Promise<KeyAudit>;
  preflight(): Promise<AccountPreflight>;
  /** The exchange's clock (ms), read from the exchange now, for the recvWindow rule of the safety protocol. */
  serverTime(): Promise<number>;
  /**
   * The exchange's clock (ms) as estimated without a request: the local clock corrected by the offset
   * last measured against the exchange (what signed requests carry as their timestamp). The engine's
   * own time stays its injected clock; use this to compare with exchange timestamps (an order's
   * signed timestamp against recvWindow). Paper: the local clock.
   */
  exchangeNow(): number;
  /** How long after its timestamp the exchange still accepts a signed request (ms). */
  readonly recvWindowMs: number;
}

/** One order as an account's user-data stream reported it (ccxt's unified symbol and status). */
export interface StreamedOrder {
  readonly symbol: string;
  readonly clientOrderId: string | null;
  /** `triggered`: a conditional order whose trigger fired (on its way to the matching engine). */
  readonly status: 'open' | 'closed' | 'canceled' | 'expired' | 'rejected' | 'triggered' | 'other';
  /** Quantity filled so far. */
  readonly filled: number;
}

/** What an account's user-data stream reported since the last `next()`. */
export interface AccountChange {
  readonly orders: readonly StreamedOrder[];
  /**
   * An order event arrived that the stream could not hand over (it came before anyone was waiting
   * for it): something changed that `orders` does not show, and the account wants a visit.
   */
  readonly missed?: boolean;
}

/**
 * One account's user-data stream (orders, algo orders, fills): a hint that its state changed, never a
 * source of truth (the REST reads are). Connects on the first `next()`.
 */
export interface AccountStream {
  /**
   * The next change. Rejects when the connection is lost or cannot be made: events may have been
   * missed; a later call connects again. `onOpen` is told each time a connection opens.
   */
  next(): Promise<AccountChange>;
  /**
   * Told each time a connection starts listening (the first one and every reconnect): from then on
   * every order event is reported (in `orders`, or as `missed`); those before were heard by no one.
   */
  onOpen(listener: () => void): void;
  /**
   * Told when the exchange reports that the account's balances changed (a fill, a fee, funding, a
   * transfer): a balance read before it is out of date. Silence on an open connection means unchanged.
   */
  onBalanceChange(listener: () => void): void;
  close(): Promise<void>;
}
