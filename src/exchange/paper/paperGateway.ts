/**
 * Paper trading behind the same port. Never sees a key. Prices come from the exchange's public data
 * (MarketDataSource); the wallet lives in the database (PaperStore) so it survives restarts.
 *
 * Rules, chosen to behave like Binance where the engine can notice:
 * - Orders are checked against the market's filters (step, minimum, notional) → invalid-order; a
 *   client order id seen before → duplicate-client-id; not enough money → insufficient-funds.
 * - Market orders fill at once at the ask (buy) or bid (sell) moved against us by `slippageBps`,
 *   taker fee. Limit orders that cross fill at once as taker; others rest and fill at their price
 *   (maker fee) when the market reaches them.
 * - Stop-loss and take-profit legs rest until the last price crosses their trigger, then fill as
 *   market orders; at most the market's `maxConditionalOrders` of them rest per symbol. Triggers
 *   are evaluated whenever the gateway is polled (balance, assetBalances, quote, fetchOrder,
 *   openOrders, positions, tradesSince) or by `tick()`.
 * - Futures: one-way positions (a buy reduces a short first), margin = notional / leverage, realised
 *   PnL and fees settle in the wallet; reduce-only orders never open or flip a position (Binance -2022).
 * - Spot: assets are held; a sell needs the asset; resting orders lock what they would spend.
 * Each account's operations run one at a time (load → change → save), so concurrent calls never lose
 * an update.
 *
 * Its size: one class implementing the exchange port's twenty methods over the paper wallet; the matching itself is paperBook.ts.
 */
import type { MarketType } from '../../domain/account';
import { chargeAtFill } from '../../domain/fees';
import type { FeeCharge } from '../../domain/fees';
import type { MarketRules } from '../../domain/market';

import { parsePair } from '../../domain/symbols';
import { ExchangeError } from '../errors';
import type {
  AccountPreflight,
  AssetBalance,
  Balance,
  Candle,
  ExchangeGateway,
  KeyAudit,
  MarginMode,
  OrderIntent,
  OrderOrigin,
  OrderState,
  PlaceOrderOptions,
  PositionState,
  Quote,
  Trade,
  TradeCursor,
} from '../gateway';
import type { MarketDataSource } from './marketData';
import { crosses, fix, isOpen, marketPrice, nextId, PaperBook, pnl, restingLimitReached, triggered } from './paperBook';
import { initialPaperState } from './state';
import type { PaperOrder, PaperState, PaperStore } from './state';

export interface PaperGatewayOptions {
  accountId: string;
  exchangeId: string;
  marketType: MarketType;
  store: PaperStore;
  marketData: MarketDataSource;
  now: () => number;
  /** Market fills move this many basis points against the order (default 5). */
  slippageBps?: number;
  /** Defaults: Binance's base rates (spot 10/10 bps, USDⓈ-M 2/5 bps). */
  makerFeeBps?: number;
  takerFeeBps?: number;
  /** A new paper wallet starts with this much of the settlement currency. */
  startingBalanceUsd: number;
  /** Settlement currency (default USDT). */
  currency?: string;
}

const CLIENT_ORDER_ID = /^[A-Za-z0-9]{1,32}$/;
const KEEP_FINISHED_ORDERS = 500;
const KEEP_TRADES = 2000;

/** One queue per paper account in this process: operations on one wallet never interleave. */
const queues = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, run: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(run, run);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return next;
}

interface Ctx {
  state: PaperState;
  dirty: boolean;
  quotes: Map<string, Quote>;
}

export class PaperGateway implements ExchangeGateway {
  readonly exchangeId: string;
  readonly marketType: MarketType;
  readonly recvWindowMs = 5000;
  /** The wallet's rules and matching (paperBook.ts). */
  private readonly book: PaperBook;

  constructor(private readonly options: PaperGatewayOptions) {
    this.exchangeId = options.exchangeId;
    this.marketType = options.marketType;
    const futures = options.marketType === 'futures';
    this.book = new PaperBook({
      exchangeId: this.exchangeId,
      marketType: this.marketType,
      slippage: (options.slippageBps ?? 5) / 10_000,
      makerFee: (options.makerFeeBps ?? (futures ? 2 : 10)) / 10_000,
      takerFee: (options.takerFeeBps ?? (futures ? 5 : 10)) / 10_000,
      currency: options.currency ?? 'USDT',
      now: () => this.now(),
    });
  }

  // ---------------------------------------------------------------- plumbing

  private now(): number {
    return this.options.now();
  }

  /** Loads the wallet, runs `change` with it, saves it when changed; one at a time per account. */
  private withState<T>(change: (ctx: Ctx) => Promise<T>): Promise<T> {
    return serialized(`${this.options.accountId}`, async () => {
      const loaded = await this.options.store.load(this.options.accountId);
      const ctx: Ctx = {
        state: loaded ?? initialPaperState(this.book.currency, this.options.startingBalanceUsd),
        dirty: loaded === null,
        quotes: new Map(),
      };
      const result = await change(ctx);
      if (ctx.dirty) {
        this.trim(ctx.state);
        await this.options.store.save(this.options.accountId, ctx.state);
      }
      return result;
    });
  }

  private trim(state: PaperState): void {
    const finished = state.orders.filter((o) => !isOpen(o));
    if (finished.length > KEEP_FINISHED_ORDERS) {
      const drop = new Set(finished.slice(0, finished.length - KEEP_FINISHED_ORDERS));
      state.orders = state.orders.filter((o) => !drop.has(o));
    }
    if (state.trades.length > KEEP_TRADES) state.trades = state.trades.slice(-KEEP_TRADES);
  }

  /** Paper accounts read the exchange's public candles (no key involved). */
  async candles(symbol: string, timeframe: string, limit: number): Promise<Candle[]> {
    const source = this.options.marketData;
    if (!source.candles) throw new ExchangeError('not-supported', `${this.exchangeId} paper: no candle data source`);
    return source.candles(this.exchangeId, this.marketType, symbol, timeframe, limit);
  }

  private async rules(): Promise<ReadonlyMap<string, MarketRules>> {
    return this.options.marketData.markets(this.exchangeId, this.marketType);
  }

  private async rule(symbol: string): Promise<MarketRules> {
    const rule = (await this.rules()).get(symbol);
    if (!rule) throw new ExchangeError('invalid-order', `${this.exchangeId} paper: ${symbol} is not a ${this.marketType} market`);
    return rule;
  }

  private async quoteIn(ctx: Ctx, symbol: string): Promise<Quote> {
    const known = ctx.quotes.get(symbol);
    if (known) return known;
    const quote = await this.options.marketData.quote(this.exchangeId, this.marketType, symbol);
    ctx.quotes.set(symbol, quote);
    return quote;
  }

  // ---------------------------------------------------------------- reads

  markets(): Promise<ReadonlyMap<string, MarketRules>> {
    return this.rules();
  }

  async quote(symbol: string): Promise<Quote> {
    await this.rule(symbol);
    return this.withState(async (ctx) => {
      const quote = await this.quoteIn(ctx, symbol);
      await this.evaluate(ctx, [symbol]);
      return quote;
    });
  }

  async balance(): Promise<Balance> {
    return this.withState(async (ctx) => {
      await this.evaluate(ctx);
      const { state } = ctx;
      const cash = state.balances[this.book.currency] ?? 0;
      if (this.marketType === 'futures') {
        let unrealized = 0;
        let margin = 0;
        for (const position of state.positions) {
          const quote = await this.safeQuote(ctx, position.symbol);
          const mark = quote?.last ?? position.entryPrice;
          unrealized += pnl(position.side, position.entryPrice, mark, position.quantity);
          margin += (position.entryPrice * position.quantity) / position.leverage;
        }
        const equity = fix(cash + unrealized);
        return { currency: this.book.currency, free: fix(Math.max(0, equity - margin)), equity, asOf: this.now() };
      }
      let equity = cash;
      for (const [asset, amount] of Object.entries(state.balances)) {
        if (asset === this.book.currency || amount === 0) continue;
        const quote = await this.safeQuote(ctx, `${asset}/${this.book.currency}`);
        if (quote) equity += amount * quote.last;
      }
      const free = cash - this.book.locked(state, this.book.currency);
      return { currency: this.book.currency, free: fix(free), equity: fix(equity), asOf: this.now() };
    });
  }

  /**
   * Spot: every asset held, `used` what resting orders lock of it (sells: the remaining quantity;
   * limit buys: the quote they would spend). Futures: the settlement currency only, `free` the margin
   * available and `used` the rest of the wallet, as Binance USDⓈ-M reports it.
   */
  async assetBalances(): Promise<ReadonlyMap<string, AssetBalance>> {
    return this.withState(async (ctx) => {
      await this.evaluate(ctx);
      const { state } = ctx;
      const out = new Map<string, AssetBalance>();
      if (this.marketType === 'futures') {
        const cash = state.balances[this.book.currency] ?? 0;
        const marks = new Map<string, number>();
        for (const position of state.positions) {
          const quote = await this.safeQuote(ctx, position.symbol);
          if (quote) marks.set(position.symbol, quote.last);
        }
        const free = fix(Math.max(0, this.book.futuresAvailable(state, marks)));
        out.set(this.book.currency, { free, used: fix(Math.max(0, cash - free)) });
        return out;
      }
      for (const [asset, amount] of Object.entries(state.balances)) {
        if (!(amount > 0)) continue;
        const used = Math.min(amount, this.book.locked(state, asset));
        out.set(asset, { free: fix(amount - used), used: fix(used) });
      }
      return out;
    });
  }

  private async safeQuote(ctx: Ctx, symbol: string): Promise<Quote | null> {
    try {
      return await this.quoteIn(ctx, symbol);
    } catch {
      return null;
    }
  }

  async fetchOrder(symbol: string, clientOrderId: string): Promise<OrderState | null> {
    return this.withState(async (ctx) => {
      await this.evaluate(ctx, [symbol]);
      const order = ctx.state.orders.find((o) => o.clientOrderId === clientOrderId && o.symbol === symbol);
      return order ? toOrderState(order) : null;
    });
  }

  async orderOrigin(symbol: string, orderId: string): Promise<OrderOrigin | null> {
    return this.withState(async (ctx) => {
      const order = ctx.state.orders.find((o) => o.exchangeOrderId === orderId && o.symbol === symbol);
      return order ? { type: order.type, clientOrderId: order.clientOrderId } : null;
    });
  }

  async openOrders(symbol?: string): Promise<OrderState[]> {
    return this.withState(async (ctx) => {
      await this.evaluate(ctx, symbol === undefined ? undefined : [symbol]);
      return ctx.state.orders.filter((o) => isOpen(o) && (symbol === undefined || o.symbol === symbol)).map(toOrderState);
    });
  }

  async positions(): Promise<PositionState[]> {
    if (this.marketType !== 'futures') return [];
    return this.withState(async (ctx) => {
      await this.evaluate(ctx);
      const out: PositionState[] = [];
      for (const position of ctx.state.positions) {
        const quote = await this.safeQuote(ctx, position.symbol);
        const mark = quote?.last ?? null;
        out.push({
          symbol: position.symbol,
          side: position.side,
          quantity: position.quantity,
          entryPrice: position.entryPrice,
          markPrice: mark,
          unrealizedPnl: mark === null ? 0 : fix(pnl(position.side, position.entryPrice, mark, position.quantity)),
          leverage: position.leverage,
        });
      }
      return out;
    });
  }

  async tradesSince(symbol: string, cursor: TradeCursor): Promise<Trade[]> {
    return this.withState(async (ctx) => {
      await this.evaluate(ctx, [symbol]);
      const after = cursor.afterId === undefined ? undefined : Number(cursor.afterId);
      return ctx.state.trades
        .filter((t) => t.symbol === symbol && t.timestamp >= cursor.sinceMs && (after === undefined || Number(t.id) > after))
        .map((t) => ({
          id: t.id,
          orderId: t.orderId,
          clientOrderId: t.clientOrderId,
          symbol: t.symbol,
          side: t.side,
          price: t.price,
          quantity: t.quantity,
          fees: paperFees(t.symbol, t.fee, t.feeCurrency, t.price),
          timestamp: t.timestamp,
        }));
    });
  }

  async auditKey(): Promise<KeyAudit> {
    return {
      verdict: 'ok',
      canWithdraw: false,
      canTransfer: false,
      ipRestricted: null,
      futuresEnabled: this.marketType === 'futures',
      tradingExpiresAt: null,
      notes: ['Paper trading: no exchange key is used, nothing can be withdrawn.'],
    };
  }

  async preflight(): Promise<AccountPreflight> {
    if (this.marketType === 'spot') {
      return { positionMode: 'one-way', marginMode: null, multiAssets: null, futuresEnabled: false, maxLeverage: 1, problems: [] };
    }
    const rules = await this.rules();
    let maxLeverage = 1;
    for (const rule of rules.values()) maxLeverage = Math.max(maxLeverage, rule.maxLeverage);
    return { positionMode: 'one-way', marginMode: 'cross', multiAssets: null, futuresEnabled: true, maxLeverage, problems: [] };
  }

  async serverTime(): Promise<number> {
    return this.now();
  }

  exchangeNow(): number {
    return this.now();
  }

  // ---------------------------------------------------------------- writes

  async ensureLeverage(symbol: string, leverage: number, marginMode: MarginMode): Promise<void> {
    if (this.marketType !== 'futures') return;
    await this.rule(symbol);
    // Public data carries no leverage brackets, so paper accepts Binance's widest range.
    if (!Number.isInteger(leverage) || leverage < 1 || leverage > 125) {
      throw new ExchangeError('invalid-order', `${this.exchangeId} paper: leverage ${leverage} is outside 1–125 for ${symbol}`);
    }
    await this.withState(async (ctx) => {
      const current = ctx.state.leverage[symbol];
      if (current && current.leverage === leverage && current.marginMode === marginMode) return;
      ctx.state.leverage[symbol] = { leverage, marginMode };
      ctx.dirty = true;
    });
  }

  /** Evaluates resting orders and triggers against the latest prices; returns how many filled. */
  async tick(): Promise<number> {
    return this.withState((ctx) => this.evaluate(ctx));
  }

  async placeOrder(intent: OrderIntent, options: PlaceOrderOptions = {}): Promise<OrderState> {
    if (!CLIENT_ORDER_ID.test(intent.clientOrderId)) {
      throw new ExchangeError('invalid-order', `client order id must be 1–32 letters and digits: ${JSON.stringify(intent.clientOrderId)}`);
    }
    if (intent.attachedStopLoss !== undefined || intent.attachedTakeProfit !== undefined) {
      throw new ExchangeError('not-supported', `${this.exchangeId} paper places stop-loss and take-profit as separate orders`);
    }
    // The paper exchange's clock is ours: the stamp is exact.
    await options.onStamp?.(this.now());
    const rule = await this.rule(intent.symbol);
    return this.withState(async (ctx) => {
      const { state } = ctx;
      if (state.orders.some((o) => o.clientOrderId === intent.clientOrderId)) {
        throw new ExchangeError('duplicate-client-id', `${this.exchangeId} paper: an order with client order id ${intent.clientOrderId} exists`, {
          exchangeCode: 'paper-duplicate',
        });
      }
      const quote = await this.quoteIn(ctx, intent.symbol);
      this.book.validate(intent, rule, quote);
      this.book.checkConditionalLimit(state, intent, rule);
      const order: PaperOrder = {
        clientOrderId: intent.clientOrderId,
        exchangeOrderId: nextId(state),
        symbol: intent.symbol,
        side: intent.side,
        type: intent.type,
        status: 'open',
        quantity: intent.quantity,
        filledQuantity: 0,
        averagePrice: null,
        price: intent.type === 'limit' ? (intent.price ?? null) : null,
        triggerPrice: intent.type === 'stop-loss' || intent.type === 'take-profit' ? (intent.triggerPrice ?? null) : null,
        reduceOnly: this.marketType === 'futures' && (intent.reduceOnly || intent.type === 'stop-loss' || intent.type === 'take-profit'),
        positionSide: intent.positionSide ?? null,
        fee: 0,
        feeCurrency: null,
        createdAt: this.now(),
        updatedAt: this.now(),
      };
      this.book.checkFunds(state, order, rule, quote);
      state.orders.push(order);
      ctx.dirty = true;
      if (order.type === 'market') {
        this.book.fill(state, order, rule, marketPrice(order.side, quote, this.book.slippage, rule.priceStep), false);
      } else if (order.type === 'limit' && crosses(order, quote)) {
        const taker = marketPrice(order.side, quote, this.book.slippage, rule.priceStep);
        const price = order.side === 'buy' ? Math.min(taker, order.price ?? taker) : Math.max(taker, order.price ?? taker);
        this.book.fill(state, order, rule, price, false);
      }
      return toOrderState(order);
    });
  }

  async cancelOrder(symbol: string, clientOrderId: string): Promise<OrderState | null> {
    return this.withState(async (ctx) => {
      await this.evaluate(ctx, [symbol]);
      const order = ctx.state.orders.find((o) => o.clientOrderId === clientOrderId && o.symbol === symbol);
      if (!order || !isOpen(order)) return null;
      order.status = 'cancelled';
      order.updatedAt = this.now();
      ctx.dirty = true;
      return toOrderState(order);
    });
  }

  /** Fills resting limit orders that the market reached and triggers stop / take-profit legs. */
  private async evaluate(ctx: Ctx, symbols?: readonly string[]): Promise<number> {
    const { state } = ctx;
    const wanted = symbols ? new Set(symbols) : undefined;
    const pending = state.orders.filter((o) => isOpen(o) && (!wanted || wanted.has(o.symbol)));
    if (pending.length === 0) return 0;
    let filled = 0;
    const rules = await this.rules();
    for (const order of pending) {
      if (!isOpen(order)) continue;
      const rule = rules.get(order.symbol);
      const quote = await this.safeQuote(ctx, order.symbol);
      if (!rule || !quote) continue;
      if (order.type === 'limit' && order.price !== null && restingLimitReached(order.side, order.price, quote)) {
        this.book.fill(state, order, rule, order.price, true);
      } else if ((order.type === 'stop-loss' || order.type === 'take-profit') && order.triggerPrice !== null) {
        if (!triggered(order.type, order.side, order.triggerPrice, quote.last)) continue;
        this.book.fill(state, order, rule, marketPrice(order.side, quote, this.book.slippage, rule.priceStep), false);
      } else {
        continue;
      }
      ctx.dirty = true;
      if (order.status === 'filled') filled += 1;
    }
    return filled;
  }
}

function toOrderState(order: PaperOrder): OrderState {
  return {
    clientOrderId: order.clientOrderId,
    exchangeOrderId: order.exchangeOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    status: order.status,
    quantity: order.quantity,
    filledQuantity: order.filledQuantity,
    averagePrice: order.averagePrice,
    fees: paperFees(order.symbol, order.fee, order.feeCurrency, order.averagePrice ?? 0),
    updatedAt: order.updatedAt,
  };
}

/** Paper charges its fee in the settlement currency (the quote): one charge, worth itself. */
function paperFees(symbol: string, fee: number, currency: string | null, price: number): FeeCharge[] {
  const pair = parsePair(symbol);
  if (!(fee > 0) || !pair) return [];
  return [chargeAtFill(currency ?? pair.quote, fee, price, pair)];
}
