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
 */
import type { MarketType } from '../../domain/account';
import { chargeAtFill } from '../../domain/fees';
import type { FeeCharge } from '../../domain/fees';
import type { MarketRules } from '../../domain/market';
import { dec, roundToStep, toNumber } from '../../domain/precision';
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
import { initialPaperState } from './state';
import type { PaperOrder, PaperPosition, PaperState, PaperStore, PaperTrade } from './state';

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
const DEFAULT_LEVERAGE = 1;

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

/** Money and quantities: exact decimals at a fixed scale (no 0.30000000000000004 in a wallet). */
const fix = (value: number): number => toNumber(dec(value.toFixed(10)));

const isMultipleOf = (value: number, step: number): boolean => {
  const q = dec(value).div(dec(step));
  return q.eq(q.round(0, 0));
};

const isOpen = (order: PaperOrder): boolean => order.status === 'open' || order.status === 'partially-filled';

interface Ctx {
  state: PaperState;
  dirty: boolean;
  quotes: Map<string, Quote>;
}

export class PaperGateway implements ExchangeGateway {
  readonly exchangeId: string;
  readonly marketType: MarketType;
  readonly recvWindowMs = 5000;
  private readonly slippage: number;
  private readonly makerFee: number;
  private readonly takerFee: number;
  private readonly currency: string;

  constructor(private readonly options: PaperGatewayOptions) {
    this.exchangeId = options.exchangeId;
    this.marketType = options.marketType;
    this.slippage = (options.slippageBps ?? 5) / 10_000;
    const futures = options.marketType === 'futures';
    this.makerFee = (options.makerFeeBps ?? (futures ? 2 : 10)) / 10_000;
    this.takerFee = (options.takerFeeBps ?? (futures ? 5 : 10)) / 10_000;
    this.currency = options.currency ?? 'USDT';
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
        state: loaded ?? initialPaperState(this.currency, this.options.startingBalanceUsd),
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

  private nextId(state: PaperState): string {
    const id = state.nextId;
    state.nextId += 1;
    return String(id);
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
      const cash = state.balances[this.currency] ?? 0;
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
        return { currency: this.currency, free: fix(Math.max(0, equity - margin)), equity, asOf: this.now() };
      }
      let equity = cash;
      for (const [asset, amount] of Object.entries(state.balances)) {
        if (asset === this.currency || amount === 0) continue;
        const quote = await this.safeQuote(ctx, `${asset}/${this.currency}`);
        if (quote) equity += amount * quote.last;
      }
      const free = cash - this.locked(state, this.currency);
      return { currency: this.currency, free: fix(free), equity: fix(equity), asOf: this.now() };
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
        const cash = state.balances[this.currency] ?? 0;
        const marks = new Map<string, number>();
        for (const position of state.positions) {
          const quote = await this.safeQuote(ctx, position.symbol);
          if (quote) marks.set(position.symbol, quote.last);
        }
        const free = fix(Math.max(0, this.futuresAvailable(state, marks)));
        out.set(this.currency, { free, used: fix(Math.max(0, cash - free)) });
        return out;
      }
      for (const [asset, amount] of Object.entries(state.balances)) {
        if (!(amount > 0)) continue;
        const used = Math.min(amount, this.locked(state, asset));
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
      this.validate(intent, rule, quote);
      this.checkConditionalLimit(state, intent, rule);
      const order: PaperOrder = {
        clientOrderId: intent.clientOrderId,
        exchangeOrderId: this.nextId(state),
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
      this.checkFunds(state, order, rule, quote);
      state.orders.push(order);
      ctx.dirty = true;
      if (order.type === 'market') {
        this.fill(state, order, rule, marketPrice(order.side, quote, this.slippage, rule.priceStep), false);
      } else if (order.type === 'limit' && crosses(order, quote)) {
        const taker = marketPrice(order.side, quote, this.slippage, rule.priceStep);
        const price = order.side === 'buy' ? Math.min(taker, order.price ?? taker) : Math.max(taker, order.price ?? taker);
        this.fill(state, order, rule, price, false);
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

  // ---------------------------------------------------------------- rules

  private validate(intent: OrderIntent, rule: MarketRules, quote: Quote): void {
    const reject = (why: string, code: string): never => {
      throw new ExchangeError('invalid-order', `${this.exchangeId} paper: ${why}`, { exchangeCode: code });
    };
    if (!(intent.quantity > 0) || !isMultipleOf(intent.quantity, rule.amountStep)) {
      reject(`quantity ${intent.quantity} is not a multiple of the step ${rule.amountStep} (LOT_SIZE)`, 'paper-lot-size');
    }
    if (intent.quantity < rule.minAmount) reject(`quantity ${intent.quantity} is below the minimum ${rule.minAmount} (LOT_SIZE)`, 'paper-lot-size');
    if (rule.maxAmount !== null && intent.quantity > rule.maxAmount) {
      reject(`quantity ${intent.quantity} is above the maximum ${rule.maxAmount} (LOT_SIZE)`, 'paper-lot-size');
    }
    if (intent.type === 'limit') {
      if (intent.price === undefined || !(intent.price > 0)) reject('a limit order needs a price', 'paper-price');
      if (!isMultipleOf(intent.price as number, rule.priceStep)) reject(`price ${intent.price} is not a multiple of the tick ${rule.priceStep} (PRICE_FILTER)`, 'paper-price');
    }
    if (intent.type === 'stop-loss' || intent.type === 'take-profit') {
      const trigger = intent.triggerPrice;
      if (trigger === undefined || !(trigger > 0)) reject(`a ${intent.type} order needs a trigger price`, 'paper-price');
      if (!isMultipleOf(trigger as number, rule.priceStep)) reject(`trigger ${trigger} is not a multiple of the tick ${rule.priceStep} (PRICE_FILTER)`, 'paper-price');
      if (triggered(intent.type, intent.side, trigger as number, quote.last)) {
        reject(`the ${intent.type} trigger ${trigger} would trigger immediately at the last price ${quote.last}`, 'paper-immediate-trigger');
      }
    }
    const reference = intent.type === 'limit' ? (intent.price as number) : intent.type === 'market' ? quote.last : (intent.triggerPrice as number);
    const reduceOnlyFutures = this.marketType === 'futures' && (intent.reduceOnly || intent.type !== 'market' && intent.type !== 'limit');
    if (!reduceOnlyFutures && intent.quantity * reference * rule.contractSize < rule.minNotional) {
      reject(
        `order value ${fix(intent.quantity * reference)} ${rule.quote} is below the minimum notional ${rule.minNotional} (NOTIONAL)`,
        'paper-min-notional',
      );
    }
  }

  /** The market's cap on open conditional orders per account (Binance MAX_NUM_ALGO_ORDERS, -4045). */
  private checkConditionalLimit(state: PaperState, intent: OrderIntent, rule: MarketRules): void {
    const conditional = (type: OrderIntent['type']): boolean => type === 'stop-loss' || type === 'take-profit';
    if (!conditional(intent.type) || rule.maxConditionalOrders === null) return;
    const open = state.orders.filter((o) => isOpen(o) && o.symbol === intent.symbol && conditional(o.type)).length;
    if (open >= rule.maxConditionalOrders) {
      throw new ExchangeError(
        'conditional-limit',
        `${this.exchangeId} paper: ${intent.symbol} already has ${open} open stop-loss / take-profit orders, the most the exchange allows (MAX_NUM_ALGO_ORDERS)`,
        { exchangeCode: 'paper-max-conditional-orders' },
      );
    }
  }

  /** Spot: what open orders hold back of an asset. */
  private locked(state: PaperState, asset: string): number {
    let total = 0;
    for (const order of state.orders) {
      if (!isOpen(order)) continue;
      const [base, quote] = splitSymbol(order.symbol);
      const remaining = order.quantity - order.filledQuantity;
      if (order.side === 'sell' && base === asset) total += remaining;
      if (order.side === 'buy' && order.type === 'limit' && quote === asset) total += remaining * (order.price ?? 0) * (1 + this.takerFee);
    }
    return total;
  }

  private checkFunds(state: PaperState, order: PaperOrder, rule: MarketRules, quote: Quote): void {
    const insufficient = (why: string): never => {
      throw new ExchangeError('insufficient-funds', `${this.exchangeId} paper: ${why}`, { exchangeCode: 'paper-insufficient' });
    };
    if (this.marketType === 'spot') {
      const [base, quoteAsset] = splitSymbol(order.symbol);
      if (order.side === 'sell') {
        const free = (state.balances[base] ?? 0) - this.locked(state, base);
        if (free + 1e-12 < order.quantity) insufficient(`${order.quantity} ${base} to sell, ${fix(free)} free`);
      } else if (order.type === 'market' || order.type === 'limit') {
        const price = order.type === 'limit' ? (order.price ?? quote.ask) : marketPrice('buy', quote, this.slippage, rule.priceStep);
        const cost = order.quantity * price * (1 + this.takerFee);
        const free = (state.balances[quoteAsset] ?? 0) - this.locked(state, quoteAsset);
        if (free + 1e-9 < cost) insufficient(`${fix(cost)} ${quoteAsset} needed, ${fix(free)} free`);
      }
      return;
    }
    // Futures.
    const position = this.positionOf(state, order.symbol);
    if (order.reduceOnly && (order.type === 'market' || order.type === 'limit')) {
      const reduces = position !== undefined && position.side !== sideOpenedBy(order.side);
      if (!reduces) {
        throw new ExchangeError('invalid-order', `${this.exchangeId} paper: reduce-only order would not reduce a position (ReduceOnly Order is rejected)`, {
          exchangeCode: 'paper-reduce-only',
        });
      }
    }
    if (!order.reduceOnly && (order.type === 'market' || order.type === 'limit')) {
      const reducing = position !== undefined && position.side !== sideOpenedBy(order.side) ? Math.min(position.quantity, order.quantity) : 0;
      const opening = order.quantity - reducing;
      if (opening > 0) {
        const price = order.type === 'limit' ? (order.price ?? quote.last) : quote.last;
        const leverage = state.leverage[order.symbol]?.leverage ?? DEFAULT_LEVERAGE;
        const needed = (opening * price * rule.contractSize) / leverage + opening * price * this.takerFee;
        const available = this.futuresAvailable(state, quoteMap(quote));
        if (available + 1e-9 < needed) insufficient(`${fix(needed)} ${this.currency} margin needed, ${fix(available)} available`);
      }
    }
  }

  private futuresAvailable(state: PaperState, quotes: Map<string, number>): number {
    let equity = state.balances[this.currency] ?? 0;
    let margin = 0;
    for (const position of state.positions) {
      const mark = quotes.get(position.symbol) ?? position.entryPrice;
      equity += pnl(position.side, position.entryPrice, mark, position.quantity);
      margin += (position.entryPrice * position.quantity) / position.leverage;
    }
    return equity - margin;
  }

  private positionOf(state: PaperState, symbol: string): PaperPosition | undefined {
    return state.positions.find((p) => p.symbol === symbol);
  }

  // ---------------------------------------------------------------- matching

  /** Fills `order` completely at `price`. */
  private fill(state: PaperState, order: PaperOrder, rule: MarketRules, price: number, maker: boolean): void {
    let quantity = order.quantity - order.filledQuantity;
    const feeRate = maker ? this.makerFee : this.takerFee;
    let realized = 0;
    if (this.marketType === 'futures') {
      const position = this.positionOf(state, order.symbol);
      const opens = sideOpenedBy(order.side);
      if (order.reduceOnly) {
        if (!position || position.side === opens) {
          // Nothing left to reduce (the position closed meanwhile): the order lapses, as on Binance.
          order.status = 'expired';
          order.updatedAt = this.now();
          return;
        }
        quantity = Math.min(quantity, position.quantity);
      }
      const fee = fix(quantity * price * rule.contractSize * feeRate);
      realized = this.applyFuturesFill(state, order.symbol, opens, quantity, price, rule);
      state.balances[this.currency] = fix((state.balances[this.currency] ?? 0) + realized - fee);
      this.record(state, order, price, quantity, fee, realized, maker);
      return;
    }
    const [base, quoteAsset] = splitSymbol(order.symbol);
    const notional = quantity * price;
    const fee = fix(notional * feeRate);
    if (order.side === 'buy') {
      const cost = notional + fee;
      if ((state.balances[quoteAsset] ?? 0) + 1e-9 < cost) {
        order.status = 'rejected';
        order.updatedAt = this.now();
        return;
      }
      state.balances[quoteAsset] = fix((state.balances[quoteAsset] ?? 0) - cost);
      state.balances[base] = fix((state.balances[base] ?? 0) + quantity);
    } else {
      if ((state.balances[base] ?? 0) + 1e-12 < quantity) {
        order.status = 'rejected';
        order.updatedAt = this.now();
        return;
      }
      state.balances[base] = fix((state.balances[base] ?? 0) - quantity);
      state.balances[quoteAsset] = fix((state.balances[quoteAsset] ?? 0) + notional - fee);
    }
    this.record(state, order, price, quantity, fee, 0, maker);
  }

  /** Nets a fill into the symbol's one-way position; returns the realised PnL. */
  private applyFuturesFill(state: PaperState, symbol: string, opens: 'long' | 'short', quantity: number, price: number, rule: MarketRules): number {
    const position = this.positionOf(state, symbol);
    const leverage = state.leverage[symbol]?.leverage ?? DEFAULT_LEVERAGE;
    const marginMode = state.leverage[symbol]?.marginMode ?? 'cross';
    if (!position) {
      state.positions.push({ symbol, side: opens, quantity, entryPrice: price, leverage, marginMode });
      return 0;
    }
    if (position.side === opens) {
      const total = position.quantity + quantity;
      position.entryPrice = roundToStep((position.entryPrice * position.quantity + price * quantity) / total, rule.priceStep / 100);
      position.quantity = fix(total);
      return 0;
    }
    const closed = Math.min(position.quantity, quantity);
    const realized = fix(pnl(position.side, position.entryPrice, price, closed) * rule.contractSize);
    const remaining = fix(position.quantity - closed);
    const flipped = fix(quantity - closed);
    state.positions = state.positions.filter((p) => p !== position);
    if (remaining > 0) state.positions.push({ ...position, quantity: remaining });
    if (flipped > 0) state.positions.push({ symbol, side: opens, quantity: flipped, entryPrice: price, leverage, marginMode });
    return realized;
  }

  private record(state: PaperState, order: PaperOrder, price: number, quantity: number, fee: number, realizedPnl: number, maker: boolean): void {
    const at = this.now();
    const filledBefore = order.filledQuantity;
    order.filledQuantity = fix(filledBefore + quantity);
    order.averagePrice = fix(((order.averagePrice ?? 0) * filledBefore + price * quantity) / order.filledQuantity);
    order.fee = fix(order.fee + fee);
    order.feeCurrency = this.currency;
    order.status = order.filledQuantity + 1e-12 >= order.quantity ? 'filled' : 'partially-filled';
    order.updatedAt = at;
    const trade: PaperTrade = {
      id: this.nextId(state),
      orderId: order.exchangeOrderId,
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      price,
      quantity,
      fee,
      feeCurrency: this.currency,
      realizedPnl,
      maker,
      timestamp: at,
    };
    state.trades.push(trade);
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
        this.fill(state, order, rule, order.price, true);
      } else if ((order.type === 'stop-loss' || order.type === 'take-profit') && order.triggerPrice !== null) {
        if (!triggered(order.type, order.side, order.triggerPrice, quote.last)) continue;
        this.fill(state, order, rule, marketPrice(order.side, quote, this.slippage, rule.priceStep), false);
      } else {
        continue;
      }
      ctx.dirty = true;
      if (order.status === 'filled') filled += 1;
    }
    return filled;
  }
}

function splitSymbol(symbol: string): [string, string] {
  const [pair = symbol] = symbol.split(':');
  const [base = pair, quote = ''] = pair.split('/');
  return [base, quote];
}

const sideOpenedBy = (side: 'buy' | 'sell'): 'long' | 'short' => (side === 'buy' ? 'long' : 'short');

const pnl = (side: 'long' | 'short', entry: number, exit: number, quantity: number): number =>
  (side === 'long' ? exit - entry : entry - exit) * quantity;

const quoteMap = (quote: Quote): Map<string, number> => new Map([[quote.symbol, quote.last]]);

/** A market fill: the touch price moved against the order by the slippage, on the tick grid. */
function marketPrice(side: 'buy' | 'sell', quote: Quote, slippage: number, tick: number): number {
  const touch = side === 'buy' ? quote.ask : quote.bid;
  const moved = side === 'buy' ? touch * (1 + slippage) : touch * (1 - slippage);
  return Math.max(tick, roundToStep(moved, tick));
}

/** A new limit order that can trade at once. */
function crosses(order: PaperOrder, quote: Quote): boolean {
  if (order.price === null) return false;
  return order.side === 'buy' ? order.price >= quote.ask : order.price <= quote.bid;
}

/** A resting limit order the market has reached. */
function restingLimitReached(side: 'buy' | 'sell', price: number, quote: Quote): boolean {
  return side === 'buy' ? quote.ask <= price || quote.last <= price : quote.bid >= price || quote.last >= price;
}

/**
 * Whether a leg's trigger is reached at `last`. A sell stop-loss protects a long (price falls to it);
 * a buy stop-loss protects a short (price rises to it); take-profits the other way round.
 */
export function triggered(type: 'stop-loss' | 'take-profit', side: 'buy' | 'sell', trigger: number, last: number): boolean {
  const fallsTo = (type === 'stop-loss') === (side === 'sell');
  return fallsTo ? last <= trigger : last >= trigger;
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
