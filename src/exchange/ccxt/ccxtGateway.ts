/**
 * The ccxt implementation of the port, for one account. Every call goes through `call()`, which
 * attaches the shared markets, runs the ccxt method and translates whatever it throws (translate.ts).
 * Where exchanges differ (position sides, conditional orders, lookups by client id, fees, history
 * windows, key audit, preflight, leverage brackets) the account's venue dialect answers (venues/);
 * the rest is ccxt's unified methods.
 *
 * Its size: one class implementing the exchange port's twenty methods over ccxt, each a short translated call; what differs per exchange is in venues/.
 */
import type { Exchange, Order } from 'ccxt';
import type { MarketType } from '../../domain/account';
import type { MarketRules } from '../../domain/market';
import { feesSettled } from '../../domain/fees';
import { isStable, STABLE_QUOTES } from '../../domain/symbols';
import { ExchangeError, isExchangeError } from '../errors';
import type {
  AccountPreflight,
  AssetBalance,
  Balance,
  Candle,
  ExchangeGateway,
  IncomeQuery,
  IncomeRead,
  KeyAudit,
  MarginMode,
  OrderIntent,
  OrderState,
  OrderOrigin,
  PlaceOrderOptions,
  PositionMode,
  PositionState,
  Quote,
  Trade,
  TradeCursor,
} from '../gateway';
import { exchangeCapabilities } from './capabilities';
import { withOrderStamp } from './exchange';
import type { ExchangeClock } from './exchangeClock';
import type { FeeValuation } from './feeValuation';
import type { SharedMarkets } from './markets';
import { num, orderStateOf, orderTypeOf, positionStateOf, rawFeesOf, rec, toAssetBalances, toCandles, tradeOf, type OrderFallback } from './orderState';
import type { ExchangeRateLimiter } from './rateLimiter';
import { isAlreadySet, isMarginModeLocked, isMultiAssetsRefusal, isOrderNotFound, translateError } from './translate';
import { venueFor, type Venue, type VenueCalls } from './venues';

const CLIENT_ORDER_ID = /^[A-Za-z0-9]{1,32}$/;

/** Per-account state kept with the ccxt instance (same LRU entry, same lifetime). */
export interface AccountInstance {
  exchange: Exchange & { __marketsGeneration?: number };
  /** symbol → "leverage:marginMode" last set successfully. */
  leverage: Map<string, string>;
  /** client order id → sent as a conditional order (its venue keeps those apart); bounded. */
  algoOrders: Map<string, boolean>;
}

export interface CcxtGatewaySpec {
  exchangeId: string;
  marketType: MarketType;
  mode: 'live' | 'demo';
  /** As stored by the last preflight; hedge mode puts a position side on every futures order. */
  positionMode?: PositionMode;
}

export interface CcxtGatewayDeps {
  spec: CcxtGatewaySpec;
  /** The account's instance (from the runtime's LRU; rebuilt when evicted). */
  instance: () => AccountInstance;
  markets: SharedMarkets;
  /** The offset to this exchange's clock: what ccxt signs is corrected by it. */
  clock: ExchangeClock;
  limiter: ExchangeRateLimiter;
  /** Values fees paid in a third currency (BNB); shared by the exchange's accounts. */
  feeValuation: FeeValuation;
  now: () => number;
}

const MAX_REMEMBERED_ALGO = 2000;

export class CcxtGateway implements ExchangeGateway {
  readonly exchangeId: string;
  readonly marketType: MarketType;
  readonly recvWindowMs: number;
  private readonly venue: Venue;
  /** The gateway's calls a dialect's longer conversations use. */
  private readonly venueCalls: VenueCalls;

  constructor(private readonly deps: CcxtGatewayDeps) {
    this.exchangeId = deps.spec.exchangeId;
    this.marketType = deps.spec.marketType;
    const recv = num(rec(deps.instance().exchange.options)['recvWindow']);
    this.recvWindowMs = recv ?? 5000;
    this.venue = venueFor({
      exchangeId: this.exchangeId,
      marketType: this.marketType,
      mode: deps.spec.mode,
      positionMode: deps.spec.positionMode,
      exchangeNow: () => this.exchangeNow(),
    });
    this.venueCalls = {
      call: (action, run) => this.call(action, run),
      ready: async () => (await this.ready()).exchange,
      leverageCaps: () => this.loadLeverageCaps(),
    };
  }

  private get mode(): 'live' | 'demo' {
    return this.deps.spec.mode;
  }

  private get ccxtType(): 'spot' | 'swap' {
    return this.venue.ccxtType;
  }

  /** The instance with the shared markets attached, signing with the exchange's time. */
  private async ready(): Promise<AccountInstance> {
    const instance = this.deps.instance();
    await this.deps.markets.attach(instance.exchange, this.exchangeId, this.mode);
    await this.deps.clock.sync();
    this.signWithExchangeTime(instance);
    return instance;
  }

  /** ccxt signs `milliseconds() - options.timeDifference` (Binance's nonce): the exchange's time. */
  private signWithExchangeTime(instance: AccountInstance): void {
    (instance.exchange.options as Record<string, unknown>)['timeDifference'] = this.deps.clock.offsetMs();
  }

  /** The exchange's clock as estimated here: the local clock corrected by the measured offset. */
  exchangeNow(): number {
    return this.deps.now() - this.deps.clock.offsetMs();
  }

  /**
   * Runs one ccxt operation and translates its failure. A definite rejection before matching
   * (-1021) re-reads the exchange's clock at once, and anything but an order is then repeated once:
   * it changed nothing. Orders are the engine's decision (the order-safety protocol), so placeOrder
   * opts out; its own repeat finds the clock corrected.
   */
  private async call<T>(
    action: string,
    run: (exchange: Exchange, instance: AccountInstance) => Promise<T>,
    options: { repeatDefiniteRejection?: boolean } = {},
  ): Promise<T> {
    const instance = await this.ready();
    const attempt = async (): Promise<T> => {
      const signedWith = this.deps.clock.generation();
      this.signWithExchangeTime(instance);
      try {
        return await run(instance.exchange, instance);
      } catch (error) {
        const blocked = this.deps.limiter.blockedForMs();
        const translated = translateError(error, { exchangeId: this.exchangeId, action, ...(blocked > 0 ? { retryAfterMs: blocked } : {}) });
        // The exchange refused the timestamp (-1021): measure its clock again before any repeat.
        if (translated.kind === 'retryable' && !(error instanceof ExchangeError)) await this.deps.clock.resync(signedWith);
        throw translated;
      }
    };
    try {
      return await attempt();
    } catch (error) {
      if (options.repeatDefiniteRejection !== false && isExchangeError(error, 'retryable')) return attempt();
      throw error;
    }
  }

  /** A ccxt order as the port's state, read with the venue's own status fields. */
  private toState(order: Order, fallback: OrderFallback): OrderState {
    return orderStateOf(order, fallback, this.venue.statusOf(order), this.deps.now());
  }

  async markets(): Promise<ReadonlyMap<string, MarketRules>> {
    await this.ready();
    if (this.venue.readsLeverageCaps && !this.deps.markets.hasLeverageBrackets(this.exchangeId, this.mode)) {
      // Leverage caps are signed data; the first account that asks fills them in for everyone.
      try {
        await this.loadLeverageCaps();
      } catch {
        // Without them the rules carry the conservative fallback cap.
      }
    }
    try {
      return await this.deps.markets.rules(this.exchangeId, this.mode, this.marketType);
    } catch (error) {
      throw translateError(error, { exchangeId: this.exchangeId, action: 'loading markets' });
    }
  }

  /** Reads the venue's leverage caps and shares them with every account of the exchange. */
  private async loadLeverageCaps(): Promise<Map<string, number>> {
    return this.call('reading leverage brackets', async (exchange) => {
      const caps = await this.venue.readLeverageCaps(exchange);
      this.deps.markets.setLeverageBrackets(this.exchangeId, this.mode, caps);
      return caps;
    });
  }

  async balance(): Promise<Balance> {
    return this.call('fetching the balance', async (exchange) => {
      const balance = await exchange.fetchBalance({ type: this.ccxtType });
      const currency = 'USDT';
      const entry = rec(rec(balance)[currency]);
      const free = num(entry['free']) ?? 0;
      const total = num(entry['total']) ?? free;
      const info = rec(balance.info);
      // Futures (Binance's fields, where given): margin balance = wallet + unrealised PnL.
      // Spot: the coins held count at market (risk sizing and the daily-loss base are equity, and a
      // wallet holding only coins is not worth zero); one all-symbols price read (weight 4).
      const equity = this.marketType === 'futures' ? (num(info['totalMarginBalance']) ?? total) : total + (await this.coinsValue(exchange, balance, currency));
      const available = this.marketType === 'futures' ? (num(info['availableBalance']) ?? free) : free;
      // As of the read: ccxt's timestamp is Binance's updateTime, when the account last CHANGED (an
      // account that has not traded for an hour would read as an hour stale, and skip every signal).
      return { currency, free: available, equity, asOf: this.deps.now() };
    });
  }

  /**
   * USD value of a spot wallet's coins other than `currency`, at last prices against a dollar quote:
   * one all-symbols price read where the exchange has it (Binance, weight 4), else the held coins'
   * tickers. A price read that fails values the coins at nothing rather than failing the balance:
   * equity then errs low (smaller risk sizes, an earlier daily-loss pause), never high.
   */
  private async coinsValue(exchange: Exchange, balance: unknown, currency: string): Promise<number> {
    const held = [...toAssetBalances(rec(balance))]
      .map(([asset, amounts]) => ({ asset, amount: amounts.free + amounts.used }))
      .filter(({ asset, amount }) => asset !== currency && amount > 0);
    if (held.length === 0) return 0;
    const priced = held.filter(({ asset }) => !isStable(asset));
    const prices = new Map<string, number>();
    if (priced.length > 0) {
      try {
        const wanted = priced.flatMap(({ asset }) => STABLE_QUOTES.map((quote) => `${asset}/${quote}`)).filter((symbol) => exchange.markets?.[symbol]);
        const read = exchange.has['fetchLastPrices']
          ? await exchange.fetchLastPrices(undefined, { type: 'spot' })
          : await exchange.fetchTickers(wanted);
        for (const [symbol, entry] of Object.entries(read as Record<string, { price?: number; last?: number }>)) {
          const price = num(entry?.price) ?? num(entry?.last);
          if (price !== undefined) prices.set(symbol, price);
        }
      } catch {
        return held.filter(({ asset }) => isStable(asset)).reduce((sum, { amount }) => sum + amount, 0);
      }
    }
    let value = 0;
    for (const { asset, amount } of held) {
      const price = isStable(asset) ? 1 : STABLE_QUOTES.map((quote) => prices.get(`${asset}/${quote}`)).find((p) => p !== undefined);
      // A coin with no dollar market is left out (it cannot be sold for dollars here either).
      if (price !== undefined) value += amount * price;
    }
    return value;
  }

  async assetBalances(): Promise<ReadonlyMap<string, AssetBalance>> {
    return this.call('fetching the asset balances', async (exchange) => toAssetBalances(rec(await exchange.fetchBalance({ type: this.ccxtType }))));
  }

  async quote(symbol: string): Promise<Quote> {
    return this.call(`fetching the price of ${symbol}`, async (exchange) => {
      const ticker = await exchange.fetchTicker(symbol);
      const last = ticker.last ?? ticker.close ?? ticker.bid ?? ticker.ask;
      if (last === undefined || last === null) throw new ExchangeError('unknown-outcome', `${this.exchangeId}: no price for ${symbol}`);
      return {
        symbol,
        bid: ticker.bid ?? last,
        ask: ticker.ask ?? last,
        last,
        at: ticker.timestamp ?? this.deps.now(),
      };
    });
  }

  async lastPrices(symbols: readonly string[]): Promise<ReadonlyMap<string, number>> {
    return this.call('fetching last prices', async (exchange) => {
      if (!exchange.has['fetchLastPrices']) throw new ExchangeError('not-supported', `${this.exchangeId}: no last prices of all symbols in one read`);
      // All of the market's symbols (what the read returns anyway): ccxt refuses a list with one it does not know.
      const answer = rec(await exchange.fetchLastPrices(undefined, { type: this.ccxtType }));
      const prices = new Map<string, number>();
      for (const symbol of symbols) {
        const price = num(rec(answer[symbol])['price']);
        if (price !== undefined && price > 0) prices.set(symbol, price);
      }
      return prices;
    });
  }

  async markPrice(symbol: string): Promise<number> {
    if (this.marketType !== 'futures') return (await this.quote(symbol)).last;
    return this.call(`fetching the mark price of ${symbol}`, async (exchange) => {
      const ticker = await exchange.fetchMarkPrice(symbol);
      const mark = num(ticker.markPrice) ?? num(rec(ticker.info)['markPrice']);
      if (mark === undefined) throw new ExchangeError('unknown-outcome', `${this.exchangeId}: no mark price for ${symbol}`);
      return mark;
    });
  }

  async income(query: IncomeQuery): Promise<IncomeRead> {
    // Other exchanges page and order their histories differently (newest first, other sizes): not read until each is modelled.
    if (!this.venue.readsIncome) throw new ExchangeError('not-supported', `${this.exchangeId}: the income history is read on Binance futures only`);
    return this.call('reading the income history', async (exchange) => this.venue.readIncome(exchange, query));
  }

  async candles(symbol: string, timeframe: string, limit: number): Promise<Candle[]> {
    return this.call(`fetching ${timeframe} candles of ${symbol}`, async (exchange) => toCandles(await exchange.fetchOHLCV(symbol, timeframe, undefined, limit)));
  }

  async ensureLeverage(symbol: string, leverage: number, marginMode: MarginMode): Promise<void> {
    if (this.marketType !== 'futures') return;
    const wanted = `${leverage}:${marginMode}`;
    const instance = this.deps.instance();
    if (instance.leverage.get(symbol) === wanted) return;
    let settled = true;
    await this.call(`setting ${marginMode} margin on ${symbol}`, async (exchange) => {
      try {
        await exchange.setMarginMode(marginMode, symbol);
      } catch (error) {
        // Multi-Assets mode: every symbol is cross margin already and isolated is refused (-4168).
        // Trading cross is the only way such an account trades; /account verify says so.
        if (isAlreadySet(error) || (marginMode === 'isolated' && isMultiAssetsRefusal(error))) return;
        // A position or order already open on the symbol (the member's own, another signal's) fixes
        // its mode until it is gone: the order joins that position in its mode, as the exchange would.
        if (isMarginModeLocked(error)) {
          settled = false;
          return;
        }
        throw error;
      }
    });
    await this.call(`setting leverage ${leverage}× on ${symbol}`, async (exchange) => {
      try {
        await exchange.setLeverage(leverage, symbol);
      } catch (error) {
        if (!isAlreadySet(error)) throw error;
      }
    });
    // Asked again next time while the mode could not be set.
    if (settled) instance.leverage.set(symbol, wanted);
  }

  private orderParams(intent: OrderIntent): Record<string, unknown> {
    const params: Record<string, unknown> = { clientOrderId: intent.clientOrderId };
    if (intent.type === 'stop-loss') params['stopLossPrice'] = requireTrigger(intent);
    if (intent.type === 'take-profit') params['takeProfitPrice'] = requireTrigger(intent);
    if (this.marketType === 'futures') Object.assign(params, this.venue.positionParams(intent));
    const attachedSl = intent.attachedStopLoss;
    const attachedTp = intent.attachedTakeProfit;
    if (attachedSl !== undefined || attachedTp !== undefined) {
      if (exchangeCapabilities(this.exchangeId).protection !== 'attached-to-entry') {
        throw new ExchangeError('not-supported', `${this.exchangeId} places stop-loss and take-profit as separate orders, not attached to the entry`);
      }
      if (attachedSl !== undefined) params['stopLoss'] = { triggerPrice: attachedSl };
      if (attachedTp !== undefined) params['takeProfit'] = { triggerPrice: attachedTp };
    }
    return params;
  }

  async placeOrder(intent: OrderIntent, options: PlaceOrderOptions = {}): Promise<OrderState> {
    if (!CLIENT_ORDER_ID.test(intent.clientOrderId)) {
      throw new ExchangeError('invalid-order', `client order id must be 1–32 letters and digits: ${JSON.stringify(intent.clientOrderId)}`);
    }
    if (!(intent.quantity > 0)) throw new ExchangeError('invalid-order', `quantity must be positive: ${intent.quantity}`);
    const params = this.orderParams(intent);
    const ccxtType = intent.type === 'limit' ? 'limit' : 'market';
    if (intent.type === 'limit' && intent.price === undefined) throw new ExchangeError('invalid-order', 'a limit order needs a price');
    const conditional = this.venue.isConditional(intent);
    return this.call(`placing order ${intent.clientOrderId}`, async (exchange, instance) => {
      remember(instance.algoOrders, intent.clientOrderId, conditional);
      const order = await withOrderStamp(options.onStamp, () =>
        exchange.createOrder(
          intent.symbol,
          ccxtType,
          intent.side,
          intent.quantity,
          intent.type === 'limit' ? intent.price : undefined,
          params,
        ),
      );
      return this.toState(order, { ...intent, type: intent.type });
    }, { repeatDefiniteRejection: false });
  }

  /**
   * One operation by client order id where the venue keeps conditional orders apart: the side this
   * gateway placed it on first, then the other (an order placed before a restart has no hint).
   * Not found on either side is null.
   */
  private async byClientId(
    instance: AccountInstance,
    clientOrderId: string,
    run: (conditional: boolean) => Promise<Order | null>,
  ): Promise<Order | null> {
    const once = async (conditional: boolean): Promise<Order | null> => {
      try {
        return await run(conditional);
      } catch (error) {
        if (isOrderNotFound(error)) return null;
        throw error;
      }
    };
    if (!this.venue.conditionalOrdersApart) return once(false);
    const first = instance.algoOrders.get(clientOrderId) === true;
    return (await once(first)) ?? (await once(!first));
  }

  async orderOrigin(symbol: string, orderId: string): Promise<OrderOrigin | null> {
    return this.call(`looking up order ${orderId}`, async (exchange) => {
      let order: Order;
      try {
        order = await exchange.fetchOrder(orderId, symbol);
      } catch (error) {
        if (isOrderNotFound(error)) return null;
        throw error;
      }
      // Binance keeps what a triggered order was placed as in origType (type says MARKET or LIMIT).
      const info = rec(order.info);
      const origin = info['origType'] ?? info['orderType'];
      const type = orderTypeOf(origin === undefined ? order : { ...order, info: { ...info, type: origin } }, undefined);
      const clientOrderId = order.clientOrderId ?? (typeof info['clientOrderId'] === 'string' ? info['clientOrderId'] : null);
      return { type, clientOrderId: clientOrderId || null };
    });
  }

  async fetchOrder(symbol: string, clientOrderId: string): Promise<OrderState | null> {
    return this.call(`looking up order ${clientOrderId}`, async (exchange, instance) => {
      const order = await this.byClientId(instance, clientOrderId, (conditional) => this.venue.fetchByClientId(exchange, symbol, clientOrderId, conditional));
      if (!order) return null;
      // Looked up by this id: report it even where the answer names another (cancel ids, algo ids).
      const state = { ...this.toState(order, { clientOrderId, symbol }), clientOrderId };
      const filled = await this.venue.completeFill(exchange, order, state, (placed, fallback) => this.toState(placed, fallback));
      return this.withFees(exchange, order, filled);
    });
  }

  /**
   * The port promises the fees paid so far, valued in the quote; where the venue answers lookups
   * without them (Binance), they come from the order's trades, one request only while they are not
   * known and valued; a fee in a third currency (BNB) is valued at its price at fill time. The
   * order's state is already known here: a fee that cannot be read yet is left for a later look,
   * never a failed lookup.
   */
  private async withFees(exchange: Exchange, order: Order, state: OrderState): Promise<OrderState> {
    if (state.filledQuantity <= 0 || feesSettled(state.fees)) return state;
    try {
      const raw = await this.venue.fillFees(exchange, order, state);
      if (raw.length === 0) return state;
      return { ...state, fees: await this.deps.feeValuation.value(exchange, state.symbol, raw, this.exchangeNow()) };
    } catch {
      return { ...state, feesUnknown: true };
    }
  }

  async cancelOrder(symbol: string, clientOrderId: string): Promise<OrderState | null> {
    return this.call(`cancelling order ${clientOrderId}`, async (exchange, instance) => {
      const order = await this.byClientId(instance, clientOrderId, (conditional) => this.venue.cancelByClientId(exchange, symbol, clientOrderId, conditional));
      // Binance spot answers a cancel with the cancel request's own clientOrderId; ours is the order's.
      return order ? { ...this.toState(order, { clientOrderId, symbol }), clientOrderId } : null;
    });
  }

  async openOrders(symbol?: string): Promise<OrderState[]> {
    return this.call('listing open orders', async (exchange) => {
      const params = { type: this.ccxtType };
      const regular = await exchange.fetchOpenOrders(symbol, undefined, undefined, params);
      const conditional = this.venue.conditionalOrdersApart ? await exchange.fetchOpenOrders(symbol, undefined, undefined, { ...params, trigger: true }) : [];
      return [...regular, ...conditional].map((order) => this.toState(order, { clientOrderId: '', symbol: order.symbol ?? symbol ?? '' }));
    });
  }

  async positions(): Promise<PositionState[]> {
    if (this.marketType !== 'futures') return [];
    return this.call('listing positions', async (exchange) => (await exchange.fetchPositions()).flatMap(positionStateOf));
  }

  async tradesSince(symbol: string, cursor: TradeCursor): Promise<Trade[]> {
    return this.call(`fetching trades of ${symbol}`, async (exchange) => {
      const after = cursor.afterId !== undefined && /^\d+$/.test(cursor.afterId) ? BigInt(cursor.afterId) : undefined;
      const trades = await this.venue.myTrades(exchange, symbol, cursor, after);
      const fresh = trades
        .filter((trade) => (trade.timestamp ?? 0) >= cursor.sinceMs)
        .filter((trade) => after === undefined || !/^\d+$/.test(String(trade.id)) || BigInt(String(trade.id)) > after);
      const out: Trade[] = [];
      for (const trade of fresh) {
        const raw = rawFeesOf(trade, trade.price ?? 0, trade.timestamp ?? 0);
        out.push({ ...tradeOf(trade, symbol), fees: await this.deps.feeValuation.value(exchange, trade.symbol ?? symbol, raw, this.exchangeNow()) });
      }
      return out;
    });
  }

  async serverTime(): Promise<number> {
    return this.call('reading the exchange clock', async (exchange) => {
      const time = await exchange.fetchTime({ type: this.ccxtType });
      if (time === undefined || time === null) throw new ExchangeError('unknown-outcome', `${this.exchangeId}: no server time`);
      return time;
    });
  }

  async auditKey(): Promise<KeyAudit> {
    return this.venue.auditKey(this.venueCalls);
  }

  async preflight(): Promise<AccountPreflight> {
    if (this.marketType === 'spot') {
      return { positionMode: 'one-way', marginMode: null, multiAssets: null, futuresEnabled: false, maxLeverage: 1, problems: [] };
    }
    return this.venue.preflightFutures(this.venueCalls);
  }
}

function requireTrigger(intent: OrderIntent): number {
  if (intent.triggerPrice === undefined || !(intent.triggerPrice > 0)) {
    throw new ExchangeError('invalid-order', `a ${intent.type} order needs a trigger price`);
  }
  return intent.triggerPrice;
}

function remember(map: Map<string, boolean>, key: string, value: boolean): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_REMEMBERED_ALGO) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
