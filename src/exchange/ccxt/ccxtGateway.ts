/**
 * The ccxt implementation of the port, for one account. Every call goes through `call()`, which
 * attaches the shared markets, runs the ccxt method and translates whatever it throws (translate.ts).
 * Binance specifics (algo orders for futures SL/TP, position side in hedge mode, key audit, preflight)
 * are explicit branches; other exchanges use ccxt's unified methods.
 */
import type { Exchange, Order, Position, Trade as CcxtTrade } from 'ccxt';
import type { MarketType } from '../../domain/account';
import type { MarketRules } from '../../domain/market';
import { feesSettled } from '../../domain/fees';
import { describeReason } from '../../domain/reasons';
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
  OrderStatus,
  OrderOrigin,
  OrderType,
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
import { chargesAtFill, listedFees } from './feeValuation';
import { readIncome } from './income';
import type { FeeValuation, RawFee } from './feeValuation';
import type { SharedMarkets } from './markets';
import type { ExchangeRateLimiter } from './rateLimiter';
import { isAlreadySet, isMarginModeLocked, isMultiAssetsRefusal, isOrderNotFound, translateError } from './translate';

const CLIENT_ORDER_ID = /^[A-Za-z0-9]{1,32}$/;

/** Per-account state kept with the ccxt instance (same LRU entry, same lifetime). */
export interface AccountInstance {
  exchange: Exchange & { __marketsGeneration?: number };
  /** symbol → "leverage:marginMode" last set successfully. */
  leverage: Map<string, string>;
  /** client order id → sent as a Binance algo (conditional) order; bounded. */
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

const num = (value: unknown): number | undefined => {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : NaN;
  return Number.isFinite(n) ? n : undefined;
};

const rec = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

const MAX_REMEMBERED_ALGO = 2000;

export class CcxtGateway implements ExchangeGateway {
  readonly exchangeId: string;
  readonly marketType: MarketType;
  readonly recvWindowMs: number;
  private readonly isBinance: boolean;

  constructor(private readonly deps: CcxtGatewayDeps) {
    this.exchangeId = deps.spec.exchangeId;
    this.marketType = deps.spec.marketType;
    this.isBinance = this.exchangeId === 'binance' || this.exchangeId === 'binanceusdm';
    const recv = num(rec(deps.instance().exchange.options)['recvWindow']);
    this.recvWindowMs = recv ?? 5000;
  }

  private get mode(): 'live' | 'demo' {
    return this.deps.spec.mode;
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

  private get ccxtType(): 'spot' | 'swap' {
    return this.marketType === 'futures' ? 'swap' : 'spot';
  }

  async markets(): Promise<ReadonlyMap<string, MarketRules>> {
    await this.ready();
    if (this.marketType === 'futures' && this.isBinance && !this.deps.markets.hasLeverageBrackets(this.exchangeId, this.mode)) {
      // Leverage caps are signed data; the first account that asks fills them in for everyone.
      try {
        await this.loadBinanceBrackets();
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

  private async loadBinanceBrackets(): Promise<Map<string, number>> {
    return this.call('reading leverage brackets', async (exchange) => {
      const raw = (await (exchange as unknown as Record<string, (p?: object) => Promise<unknown>>)['fapiPrivateGetLeverageBracket']!({})) as unknown;
      const caps = new Map<string, number>();
      for (const entry of Array.isArray(raw) ? raw : []) {
        const e = rec(entry);
        const brackets = Array.isArray(e['brackets']) ? (e['brackets'] as unknown[]) : [];
        const max = Math.max(0, ...brackets.map((b) => num(rec(b)['initialLeverage']) ?? 0));
        const marketId = typeof e['symbol'] === 'string' ? e['symbol'] : undefined;
        if (!marketId || max <= 0) continue;
        const market = exchange.safeMarket(marketId, undefined, undefined, 'swap');
        if (market?.symbol) caps.set(market.symbol, max);
      }
      this.deps.markets.setLeverageBrackets(this.exchangeId, this.mode, caps);
      return caps;
    });
  }

  async balance(): Promise<Balance> {
    return this.call('fetching the balance', async (exchange) => {
      const balance = await exchange.fetchBalance({ type: this.ccxtType });
      const currency = 'USDT';
      const entry = rec((balance as unknown as Record<string, unknown>)[currency]);
      const free = num(entry['free']) ?? 0;
      const total = num(entry['total']) ?? free;
      const info = rec(balance.info);
      // Binance futures: margin balance = wallet + unrealised PnL.
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
    const held = [...toAssetBalances(balance as Record<string, unknown>)]
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
    return this.call('fetching the asset balances', async (exchange) => {
      const balance = await exchange.fetchBalance({ type: this.ccxtType });
      return toAssetBalances(balance as unknown as Record<string, unknown>);
    });
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
    if (this.marketType !== 'futures' || !this.isBinance) throw new ExchangeError('not-supported', `${this.exchangeId}: the income history is read on Binance futures only`);
    return this.call('reading the income history', async (exchange) => readIncome(exchange, query));
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

  /** Binance hedge mode: every futures order names the side of the position it opens or closes. */
  private positionSide(intent: OrderIntent): 'LONG' | 'SHORT' | undefined {
    if (this.marketType !== 'futures') return undefined;
    if (intent.positionSide) return intent.positionSide === 'long' ? 'LONG' : 'SHORT';
    if (this.deps.spec.positionMode !== 'hedge') return undefined;
    const opensLong = intent.side === 'buy';
    const closing = intent.reduceOnly || intent.type === 'stop-loss' || intent.type === 'take-profit';
    return opensLong !== closing ? 'LONG' : 'SHORT';
  }

  private orderParams(intent: OrderIntent): Record<string, unknown> {
    const params: Record<string, unknown> = { clientOrderId: intent.clientOrderId };
    if (intent.type === 'stop-loss') params['stopLossPrice'] = requireTrigger(intent);
    if (intent.type === 'take-profit') params['takeProfitPrice'] = requireTrigger(intent);
    if (this.marketType === 'futures') {
      const side = this.isBinance ? this.positionSide(intent) : undefined;
      const reduces = intent.reduceOnly || intent.type === 'stop-loss' || intent.type === 'take-profit';
      if (side) {
        // Binance rejects reduceOnly in hedge mode: the position side says what is reduced.
        params['positionSide'] = side;
      } else if (reduces) {
        params['reduceOnly'] = true;
      }
      if (!this.isBinance && (intent.positionSide !== undefined || this.deps.spec.positionMode === 'hedge')) {
        // ccxt's unified hedge flag (Bybit positionIdx, OKX posSide) derives the side from side + reduceOnly.
        params['hedged'] = true;
      }
    }
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

  /** Binance USDⓈ-M conditional orders live in the algo service (/fapi/v1/algoOrder). */
  private isAlgo(intent: Pick<OrderIntent, 'type'>): boolean {
    return this.isBinance && this.marketType === 'futures' && (intent.type === 'stop-loss' || intent.type === 'take-profit');
  }

  async placeOrder(intent: OrderIntent, options: PlaceOrderOptions = {}): Promise<OrderState> {
    if (!CLIENT_ORDER_ID.test(intent.clientOrderId)) {
      throw new ExchangeError('invalid-order', `client order id must be 1–32 letters and digits: ${JSON.stringify(intent.clientOrderId)}`);
    }
    if (!(intent.quantity > 0)) throw new ExchangeError('invalid-order', `quantity must be positive: ${intent.quantity}`);
    const params = this.orderParams(intent);
    const ccxtType = intent.type === 'limit' ? 'limit' : 'market';
    if (intent.type === 'limit' && intent.price === undefined) throw new ExchangeError('invalid-order', 'a limit order needs a price');
    const algo = this.isAlgo(intent);
    return this.call(`placing order ${intent.clientOrderId}`, async (exchange, instance) => {
      remember(instance.algoOrders, intent.clientOrderId, algo);
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

  private async fetchOne(exchange: Exchange, symbol: string, clientOrderId: string, algo: boolean): Promise<Order | null> {
    try {
      if (this.exchangeId === 'bybit') return await this.fetchBybitByLinkId(exchange, symbol, clientOrderId);
      return await exchange.fetchOrder('', symbol, algo ? { clientOrderId, trigger: true } : { clientOrderId });
    } catch (error) {
      if (isOrderNotFound(error)) return null;
      throw error;
    }
  }

  /**
   * Bybit v5 looks orders up by orderLinkId (our client order id): open ones in /v5/order/realtime,
   * finished ones in /v5/order/history. ccxt's unified fetchOrder only takes Bybit's own order id.
   */
  private async fetchBybitByLinkId(exchange: Exchange, symbol: string, orderLinkId: string): Promise<Order | null> {
    const market = exchange.market(symbol);
    const api = exchange as unknown as Record<string, (p: object) => Promise<unknown>>;
    const request = { category: market.spot ? 'spot' : 'linear', symbol: market.id, orderLinkId };
    for (const endpoint of ['privateGetV5OrderRealtime', 'privateGetV5OrderHistory']) {
      const response = rec(await api[endpoint]!(request));
      const list = rec(response['result'])['list'];
      const first = Array.isArray(list) ? list[0] : undefined;
      if (first) return exchange.parseOrder(first as Record<string, unknown>, market);
    }
    return null;
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
      const canBeAlgo = this.isBinance && this.marketType === 'futures';
      const hint = instance.algoOrders.get(clientOrderId);
      const order = canBeAlgo
        ? hint === true
          ? ((await this.fetchOne(exchange, symbol, clientOrderId, true)) ?? (await this.fetchOne(exchange, symbol, clientOrderId, false)))
          : ((await this.fetchOne(exchange, symbol, clientOrderId, false)) ?? (await this.fetchOne(exchange, symbol, clientOrderId, true)))
        : await this.fetchOne(exchange, symbol, clientOrderId, false);
      if (!order) return null;
      // Looked up by this id: report it even where the answer names another (cancel ids, algo ids).
      const state = { ...this.toState(order, { clientOrderId, symbol }), clientOrderId };
      const filled = await this.withTriggeredFill(exchange, order, state);
      return this.withFees(exchange, order, filled);
    });
  }

  /**
   * The port promises the fees paid so far, valued in the quote. Binance answers order lookups
   * without commission, so a filled order's fees come from its trades (one request, only while they
   * are not known and valued); a fee in a third currency (BNB) is valued at its price at fill time.
   * The order's state is already known here: a fee that cannot be read yet is left for a later look,
   * never a failed lookup.
   */
  private async withFees(exchange: Exchange, order: Order, state: OrderState): Promise<OrderState> {
    if (state.filledQuantity <= 0 || feesSettled(state.fees)) return state;
    try {
      const raw = this.isBinance ? await this.tradeFees(exchange, order, state) : this.stateFees(state);
      if (raw.length === 0) return state;
      return { ...state, fees: await this.deps.feeValuation.value(exchange, state.symbol, raw, this.exchangeNow()) };
    } catch {
      return { ...state, feesUnknown: true };
    }
  }

  private async tradeFees(exchange: Exchange, order: Order, state: OrderState): Promise<RawFee[]> {
    const info = rec(order.info);
    const actual = info['actualOrderId'];
    const orderId = 'algoId' in info ? actual : order.id;
    if (orderId === undefined || orderId === null || orderId === '' || orderId === 0) return [];
    const trades = await exchange.fetchMyTrades(state.symbol, undefined, undefined, { type: this.ccxtType, orderId: String(orderId) });
    return trades.filter((trade) => String(trade.order ?? '') === String(orderId)).flatMap((trade) => this.rawFees(trade, trade.price ?? 0, trade.timestamp ?? state.updatedAt));
  }

  /** The fees an exchange listed on the order itself, to be valued again (no new request but prices). */
  private stateFees(state: OrderState): RawFee[] {
    return state.fees.map((fee) => ({ currency: fee.currency, cost: fee.amount, price: state.averagePrice ?? 0, at: state.updatedAt }));
  }

  private rawFees(source: Parameters<typeof listedFees>[0], price: number, at: number): RawFee[] {
    return listedFees(source).map((fee) => ({ currency: fee.currency, cost: fee.cost, price, at }));
  }

  /**
   * A triggered Binance algo order fills through the order it placed (actualOrderId): report that
   * order's state and fill. Without it (not placed yet, or not named yet) the algo order's own state
   * stands: still working.
   */
  private async withTriggeredFill(exchange: Exchange, order: Order, state: OrderState): Promise<OrderState> {
    const info = rec(order.info);
    const actualOrderId = info['actualOrderId'];
    if (!('algoId' in info) || actualOrderId === undefined || actualOrderId === null || actualOrderId === '' || actualOrderId === 0) return state;
    // Cancelled, rejected or expired as an algo order: its own status is the answer.
    const algoStatus = info['algoStatus'];
    if (algoStatus !== undefined && !['TRIGGERING', 'TRIGGERED', 'FINISHED'].includes(String(algoStatus))) return state;
    try {
      const actual = await exchange.fetchOrder(String(actualOrderId), state.symbol);
      const fill = this.toState(actual, { clientOrderId: state.clientOrderId, symbol: state.symbol });
      return {
        ...state,
        status: fill.status,
        filledQuantity: fill.filledQuantity,
        averagePrice: fill.averagePrice,
        fees: fill.fees,
        updatedAt: Math.max(state.updatedAt, fill.updatedAt),
        fillOrderId: String(actualOrderId),
      };
    } catch (error) {
      if (!isOrderNotFound(error)) throw error;
      // Binance forgets an order cancelled or expired without a fill 3 days on: a finished algo order
      // whose placed order is gone since filled nothing.
      if (info['algoStatus'] === 'FINISHED' && this.exchangeNow() - state.updatedAt > UNFILLED_ORDERS_KEPT_MS)
        return { ...state, status: 'expired' };
      // Placed on the matching engine but not shown yet (a fresh order is denied for a while): its
      // fill is unknown, not absent. No answer, so no one takes the algo order for one still working
      // (a flat exchange beside it would read as a close outside the bot).
      throw new ExchangeError(
        'unknown-outcome',
        `${this.exchangeId}: the order ${String(actualOrderId)} that ${state.clientOrderId} placed when it triggered is not shown yet`,
      );
    }
  }

  async cancelOrder(symbol: string, clientOrderId: string): Promise<OrderState | null> {
    return this.call(`cancelling order ${clientOrderId}`, async (exchange, instance) => {
      const canBeAlgo = this.isBinance && this.marketType === 'futures';
      const tryCancel = async (algo: boolean): Promise<Order | null> => {
        try {
          if (this.exchangeId === 'bybit') {
            // Bybit cancels by orderLinkId when no order id is given.
            return await exchange.cancelOrder(undefined as unknown as string, symbol, { orderLinkId: clientOrderId });
          }
          return await exchange.cancelOrder('', symbol, algo ? { clientOrderId, trigger: true } : { clientOrderId });
        } catch (error) {
          if (isOrderNotFound(error)) return null;
          throw error;
        }
      };
      const hint = instance.algoOrders.get(clientOrderId);
      const order = canBeAlgo
        ? hint === true
          ? ((await tryCancel(true)) ?? (await tryCancel(false)))
          : ((await tryCancel(false)) ?? (await tryCancel(true)))
        : await tryCancel(false);
      // Binance spot answers a cancel with the cancel request's own clientOrderId; ours is the order's.
      return order ? { ...this.toState(order, { clientOrderId, symbol }), clientOrderId } : null;
    });
  }

  async openOrders(symbol?: string): Promise<OrderState[]> {
    return this.call('listing open orders', async (exchange) => {
      const params = { type: this.ccxtType };
      const regular = await exchange.fetchOpenOrders(symbol, undefined, undefined, params);
      const conditional =
        this.isBinance && this.marketType === 'futures'
          ? await exchange.fetchOpenOrders(symbol, undefined, undefined, { ...params, trigger: true })
          : [];
      return [...regular, ...conditional].map((order) => this.toState(order, { clientOrderId: '', symbol: order.symbol ?? symbol ?? '' }));
    });
  }

  async positions(): Promise<PositionState[]> {
    if (this.marketType !== 'futures') return [];
    return this.call('listing positions', async (exchange) => {
      const positions = await exchange.fetchPositions();
      return positions.flatMap((position) => this.toPosition(position));
    });
  }

  private toPosition(position: Position): PositionState[] {
    const contracts = Math.abs(position.contracts ?? 0);
    if (!(contracts > 0) || !position.symbol) return [];
    const size = contracts * (position.contractSize ?? 1);
    const side: 'long' | 'short' = position.side === 'short' ? 'short' : 'long';
    return [
      {
        symbol: position.symbol,
        side,
        quantity: size,
        entryPrice: position.entryPrice ?? 0,
        markPrice: position.markPrice ?? null,
        unrealizedPnl: position.unrealizedPnl ?? 0,
        leverage: position.leverage ?? null,
      },
    ];
  }

  async tradesSince(symbol: string, cursor: TradeCursor): Promise<Trade[]> {
    return this.call(`fetching trades of ${symbol}`, async (exchange) => {
      const after = cursor.afterId !== undefined && /^\d+$/.test(cursor.afterId) ? BigInt(cursor.afterId) : undefined;
      const params: Record<string, unknown> = { type: this.ccxtType };
      let trades: CcxtTrade[];
      if (after !== undefined && this.isBinance) {
        // fromId pages by id (inclusive) with no time window; Binance does not combine it with times.
        trades = await exchange.fetchMyTrades(symbol, undefined, TRADES_PAGE, { ...params, fromId: (after + 1n).toString() });
      } else if (this.isBinance && this.marketType === 'futures') {
        trades = await this.tradesByWindow(exchange, symbol, cursor.sinceMs, cursor.from ?? 'oldest', params);
      } else if (this.isBinance) {
        // Spot: a start and end at most 24 hours apart; without them, the most recent trades.
        trades = await exchange.fetchMyTrades(symbol, undefined, TRADES_PAGE, params);
      } else {
        trades = await exchange.fetchMyTrades(symbol, cursor.sinceMs, TRADES_PAGE, params);
      }
      const fresh = trades
        .filter((trade) => (trade.timestamp ?? 0) >= cursor.sinceMs)
        .filter((trade) => after === undefined || !/^\d+$/.test(String(trade.id)) || BigInt(String(trade.id)) > after);
      const out: Trade[] = [];
      for (const trade of fresh) {
        const raw = this.rawFees(trade, trade.price ?? 0, trade.timestamp ?? 0);
        out.push({ ...this.toTrade(trade, symbol), fees: await this.deps.feeValuation.value(exchange, trade.symbol ?? symbol, raw, this.exchangeNow()) });
      }
      return out;
    });
  }

  /**
   * Binance USDⓈ-M answers trade history 7 days at a time (startTime to endTime) and nothing older
   * than 6 months: one window from `sinceMs` alone would never show a trade made a week later. The
   * walk goes window by window, from the oldest (a cursor's first read) or from now back (the trades
   * that just closed a position), until a page is full or the history is covered.
   */
  private async tradesByWindow(exchange: Exchange, symbol: string, sinceMs: number, from: 'oldest' | 'newest', params: Record<string, unknown>): Promise<CcxtTrade[]> {
    // The last window ends a minute past our estimate of the exchange's clock: a trade stamped just
    // now by a clock a little ahead of the estimate must not fall outside every window.
    const now = this.exchangeNow() + WINDOW_END_SLACK_MS;
    const first = Math.max(sinceMs, now - FUTURES_HISTORY_MS);
    const out: CcxtTrade[] = [];
    if (from === 'oldest') {
      for (let start = first; start <= now && out.length < TRADES_PAGE; start += FUTURES_TRADE_WINDOW_MS) {
        const end = Math.min(start + FUTURES_TRADE_WINDOW_MS - 1, now);
        out.push(...(await exchange.fetchMyTrades(symbol, start, TRADES_PAGE - out.length, { ...params, endTime: end })));
      }
      return out;
    }
    for (let end = now; end >= first && out.length < TRADES_PAGE; end -= FUTURES_TRADE_WINDOW_MS) {
      const start = Math.max(first, end - FUTURES_TRADE_WINDOW_MS + 1);
      const window = await exchange.fetchMyTrades(symbol, start, TRADES_PAGE, { ...params, endTime: end });
      // A full page is the window's OLDEST trades: the newest are read on by id to the window's end.
      for (let page = window; page.length === TRADES_PAGE; ) {
        const lastId = page.at(-1)?.id;
        if (lastId === undefined || !/^\d+$/.test(String(lastId))) break;
        page = (await exchange.fetchMyTrades(symbol, undefined, TRADES_PAGE, { ...params, fromId: (BigInt(String(lastId)) + 1n).toString() })).filter(
          (trade) => (trade.timestamp ?? 0) <= end,
        );
        window.push(...page);
      }
      out.unshift(...window.slice(-(TRADES_PAGE - out.length)));
    }
    return out;
  }

  private toTrade(trade: CcxtTrade, symbol: string): Trade {
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
      fees: chargesAtFill(trade.symbol ?? symbol, this.rawFees(trade, trade.price ?? 0, trade.timestamp ?? 0)),
      timestamp: trade.timestamp ?? 0,
    };
  }

  async serverTime(): Promise<number> {
    return this.call('reading the exchange clock', async (exchange) => {
      const time = await exchange.fetchTime({ type: this.ccxtType });
      if (time === undefined || time === null) throw new ExchangeError('unknown-outcome', `${this.exchangeId}: no server time`);
      return time;
    });
  }

  async auditKey(): Promise<KeyAudit> {
    if (this.isBinance) return this.auditBinance();
    if (this.exchangeId === 'bybit') return this.auditBybit();
    return {
      verdict: 'unknown',
      canWithdraw: null,
      canTransfer: null,
      ipRestricted: null,
      futuresEnabled: null,
      tradingExpiresAt: null,
      notes: [
        `Permissions unknown: ${this.exchangeId} does not report what an API key may do. Make sure withdrawals are off on the key, then confirm.`,
      ],
    };
  }

  private refused(reason: string): KeyAudit {
    return { verdict: 'refused', canWithdraw: null, canTransfer: null, ipRestricted: null, futuresEnabled: null, tradingExpiresAt: null, notes: [reason] };
  }

  private auditFailure(error: unknown): KeyAudit {
    const translated = translateError(error, { exchangeId: this.exchangeId, action: 'auditing the key' });
    if (translated.kind === 'auth-failed') {
      return this.refused(
        `${this.exchangeId} rejected this key (wrong key or secret, key deleted, or this server's IP is not allowed): it was not accepted.`,
      );
    }
    return this.refused(
      `The key's permissions could not be checked (${translated.kind}: ${translated.message}). It is not accepted for live trading until the check succeeds.`,
    );
  }

  private async auditBinance(): Promise<KeyAudit> {
    if (this.mode === 'demo') {
      return {
        verdict: 'ok',
        canWithdraw: false,
        canTransfer: false,
        ipRestricted: null,
        futuresEnabled: null,
        tradingExpiresAt: null,
        notes: ['Demo trading key: it moves no real funds, so its permissions are not audited.'],
      };
    }
    let raw: unknown;
    try {
      const instance = await this.ready();
      raw = await (instance.exchange as unknown as Record<string, (p?: object) => Promise<unknown>>)['sapiGetAccountApiRestrictions']!({});
    } catch (error) {
      return this.auditFailure(error);
    }
    const r = rec(raw);
    const flag = (name: string): boolean | undefined => (typeof r[name] === 'boolean' ? (r[name] as boolean) : undefined);
    const withdrawals = flag('enableWithdrawals');
    const internal = flag('enableInternalTransfer');
    const universal = flag('permitsUniversalTransfer');
    const ip = flag('ipRestrict');
    const futures = flag('enableFutures');
    const spot = flag('enableSpotAndMarginTrading');
    if (withdrawals === undefined || internal === undefined || universal === undefined || ip === undefined) {
      return this.refused(
        'Binance answered the permission check in a form we do not know, so we cannot prove the key cannot withdraw: it was not accepted.',
      );
    }
    const notes: string[] = [];
    const canTransfer = internal || universal;
    if (withdrawals) notes.push('Withdrawals are enabled on this key. Create a key with "Enable Withdrawals" off.');
    if (internal) notes.push('Internal transfer is enabled on this key. Turn "Enable Internal Transfer" off.');
    if (universal) notes.push('Universal transfer is enabled on this key. Turn "Permits Universal Transfer" off.');
    const refused = withdrawals || canTransfer;
    if (!ip) notes.push('The key is not restricted to trusted IPs. Restricting it to this server\'s IP makes a leaked key useless.');
    // Binance takes trading away from unrestricted keys on this date (the owner is reminded before).
    const expiry = r['tradingAuthorityExpirationTime'];
    const tradingExpiresAt = typeof expiry === 'number' && Number.isFinite(expiry) && expiry > 0 ? expiry : null;
    if (tradingExpiresAt !== null)
      notes.push(`Binance ends this key's trading permission on ${new Date(tradingExpiresAt).toISOString().slice(0, 10)} (UTC) unless it is restricted to trusted IPs.`);
    if (this.marketType === 'futures' && futures === false) notes.push('Futures trading is not enabled on this key ("Enable Futures").');
    if (this.marketType === 'spot' && spot === false) notes.push('Spot trading is not enabled on this key ("Enable Spot & Margin Trading").');
    return {
      verdict: refused ? 'refused' : 'ok',
      canWithdraw: withdrawals,
      canTransfer,
      ipRestricted: ip,
      futuresEnabled: futures ?? null,
      tradingExpiresAt,
      notes,
    };
  }

  private async auditBybit(): Promise<KeyAudit> {
    let raw: unknown;
    try {
      const instance = await this.ready();
      raw = await (instance.exchange as unknown as Record<string, (p?: object) => Promise<unknown>>)['privateGetV5UserQueryApi']!({});
    } catch (error) {
      return this.auditFailure(error);
    }
    const result = rec(rec(raw)['result']);
    const permissions = rec(result['permissions']);
    const wallet = permissions['Wallet'];
    const ips = result['ips'];
    if (!Array.isArray(wallet) || !Array.isArray(ips) || (result['readOnly'] !== 0 && result['readOnly'] !== 1)) {
      return this.refused('Bybit answered the permission check in a form we do not know, so we cannot prove the key cannot withdraw: it was not accepted.');
    }
    const walletPerms = wallet.map(String);
    const canWithdraw = walletPerms.includes('Withdraw');
    const canTransfer = walletPerms.some((p) => /transfer/i.test(p));
    const ipRestricted = ips.length > 0 && !ips.map(String).includes('*');
    const derivatives = permissions['ContractTrade'] ?? permissions['Derivatives'];
    const futuresEnabled = Array.isArray(derivatives) ? derivatives.length > 0 : null;
    const notes: string[] = [];
    if (canWithdraw) notes.push('Withdrawals are enabled on this key. Create a key without the "Withdrawal" permission.');
    if (canTransfer) notes.push('Transfers are enabled on this key. Remove the wallet transfer permissions.');
    if (result['readOnly'] === 1) notes.push('The key is read-only: it cannot place orders.');
    if (!ipRestricted) notes.push("The key is not restricted to trusted IPs. Restricting it to this server's IP makes a leaked key useless.");
    // Bybit ends keys without an IP binding after three months (expiredAt, an ISO date).
    const expiredAt = typeof result['expiredAt'] === 'string' ? Date.parse(result['expiredAt']) : Number.NaN;
    const tradingExpiresAt = Number.isFinite(expiredAt) && expiredAt > 0 ? expiredAt : null;
    return {
      verdict: canWithdraw || canTransfer || result['readOnly'] === 1 ? 'refused' : 'ok',
      canWithdraw,
      canTransfer,
      ipRestricted,
      futuresEnabled,
      tradingExpiresAt,
      notes,
    };
  }

  async preflight(): Promise<AccountPreflight> {
    if (this.marketType === 'spot') {
      return { positionMode: 'one-way', marginMode: null, multiAssets: null, futuresEnabled: false, maxLeverage: 1, problems: [] };
    }
    if (this.isBinance) return this.preflightBinance();
    return this.call('reading the account setup', async (exchange) => {
      let positionMode: PositionMode = 'one-way';
      if (exchange.has['fetchPositionMode']) {
        const mode = await exchange.fetchPositionMode(undefined, { subType: 'linear' });
        positionMode = mode.hedged ? 'hedge' : 'one-way';
      }
      return { positionMode, marginMode: null, multiAssets: null, futuresEnabled: true, maxLeverage: null, problems: this.modeProblems(positionMode) };
    });
  }

  private modeProblems(actual: PositionMode): string[] {
    const stored = this.deps.spec.positionMode;
    if (stored === undefined || stored === actual) return [];
    const name = (mode: PositionMode): string => (mode === 'hedge' ? 'Hedge' : 'One-way');
    return [
      `${this.exchangeId} reports ${name(actual)} position mode, but this account was set up in ${name(stored)} mode. ` +
        `Orders would be rejected ("position side does not match", Binance -4061). Saving this check stores the new mode; ` +
        `or switch the exchange back to ${name(stored)} mode (Futures → Preferences → Position Mode).`,
    ];
  }

  private async preflightBinance(): Promise<AccountPreflight> {
    const instance = await this.ready();
    const api = instance.exchange as unknown as Record<string, (p?: object) => Promise<unknown>>;
    let dual: unknown;
    try {
      dual = await api['fapiPrivateGetPositionSideDual']!({});
    } catch (error) {
      const translated = translateError(error, { exchangeId: this.exchangeId, action: 'reading the position mode' });
      if (translated.kind === 'auth-failed' || translated.kind === 'not-permitted') {
        return {
          positionMode: 'one-way',
          marginMode: null,
          multiAssets: null,
          futuresEnabled: false,
          maxLeverage: null,
          problems: [
            translated.kind === 'auth-failed'
              ? 'This key cannot use USDⓈ-M futures: enable "Futures" on the API key (a key made before the futures account was opened cannot be), then verify again.'
              : `Binance does not let this account use USDⓈ-M futures right now: ${describeReason(translated.reason ?? 'trading-restricted')}.`,
          ],
        };
      }
      throw translated;
    }
    const dualValue = rec(dual)['dualSidePosition'];
    const hedged = dualValue === true || dualValue === 'true';
    const positionMode: PositionMode = hedged ? 'hedge' : 'one-way';
    const problems = this.modeProblems(positionMode);
    let marginMode: MarginMode | null = null;
    let canTrade = true;
    try {
      const account = rec(await api['fapiPrivateV2GetAccount']!({}));
      if (account['canTrade'] === false) canTrade = false;
      const positions = Array.isArray(account['positions']) ? (account['positions'] as unknown[]) : [];
      const modes = new Set(positions.map((p) => (rec(p)['isolated'] === true ? 'isolated' : 'cross')));
      if (modes.size === 1) marginMode = [...modes][0] as MarginMode;
    } catch (error) {
      throw translateError(error, { exchangeId: this.exchangeId, action: 'reading the futures account' });
    }
    if (!canTrade) problems.push('Binance says this futures account cannot trade right now (canTrade is false).');
    let multiAssets: boolean | null = null;
    try {
      const mode = rec(await api['fapiPrivateGetMultiAssetsMargin']!({}))['multiAssetsMargin'];
      multiAssets = mode === true || mode === 'true';
    } catch (error) {
      const translated = translateError(error, { exchangeId: this.exchangeId, action: 'reading the asset mode' });
      problems.push(`The asset mode (Single-Asset or Multi-Assets) could not be read (${translated.message}).`);
    }
    if (multiAssets) {
      marginMode = 'cross';
      problems.push(
        'This futures account is in Multi-Assets mode, where Binance allows cross margin only: the bot trades it in cross margin ' +
          '(every position is backed by the whole futures wallet). For isolated margin, switch to Single-Asset mode ' +
          '(Futures → Preferences → Asset Mode) and verify again.',
      );
    }
    // The key's own futures permission: reads may work without it, orders then fail with -2015.
    if (this.mode === 'live') {
      try {
        const restrictions = rec(await api['sapiGetAccountApiRestrictions']!({}));
        if (restrictions['enableFutures'] === false) {
          canTrade = false;
          problems.push(
            'This API key is not allowed to trade futures: enable "Futures" on the key in Binance API management (a key made before the futures account was opened cannot be), then verify again.',
          );
        }
      } catch {
        // The key audit reports (and fails closed on) an unreadable permission check.
      }
    }
    let maxLeverage: number | null = null;
    try {
      const caps = await this.loadBinanceBrackets();
      maxLeverage = caps.size > 0 ? Math.max(...caps.values()) : null;
    } catch (error) {
      const translated = translateError(error, { exchangeId: this.exchangeId, action: 'reading leverage brackets' });
      problems.push(`Leverage limits could not be read (${translated.message}).`);
    }
    return { positionMode, marginMode, multiAssets, futuresEnabled: canTrade, maxLeverage, problems };
  }

  private toState(order: Order, fallback: Partial<OrderIntent> & { clientOrderId: string; symbol: string }): OrderState {
    const quantity = order.amount ?? fallback.quantity ?? 0;
    const filled = order.filled ?? 0;
    const symbol = order.symbol ?? fallback.symbol;
    const averagePrice = order.average ?? (filled > 0 ? (order.price ?? null) : null);
    const updatedAt = order.lastUpdateTimestamp ?? order.lastTradeTimestamp ?? order.timestamp ?? this.deps.now();
    return {
      clientOrderId: order.clientOrderId ?? fallback.clientOrderId,
      exchangeOrderId: String(order.id ?? ''),
      symbol,
      side: order.side === 'sell' ? 'sell' : order.side === 'buy' ? 'buy' : (fallback.side ?? 'buy'),
      type: orderTypeOf(order, fallback.type),
      status: algoStatusOf(rec(order.info)['algoStatus']) ?? statusOf(order.status, filled, quantity),
      quantity,
      filledQuantity: filled,
      averagePrice,
      fees: chargesAtFill(symbol, this.rawFees(order, averagePrice ?? 0, order.lastTradeTimestamp ?? updatedAt)),
      updatedAt,
    };
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

/** Binance keeps orders cancelled or expired without a fill for 3 days, then lookups say "does not exist". */
const UNFILLED_ORDERS_KEPT_MS = 3 * 86_400_000;

/**
 * A Binance USDⓈ-M algo (conditional) order's own status (Binance, ALGO_UPDATE): NEW untriggered;
 * TRIGGERING forwarded to the matching engine; TRIGGERED placed there (as actualOrderId); FINISHED
 * filled or cancelled there; CANCELED; REJECTED refused by the matching engine (margin check, nothing
 * to reduce); EXPIRED cancelled by the system. ccxt reads TRIGGERED and FINISHED as 'closed', which
 * would say "filled" with nothing filled: until the placed order itself is read (withTriggeredFill),
 * a triggered order is still working. Undefined for anything that is not an algo order.
 */
export function algoStatusOf(algoStatus: unknown): OrderStatus | undefined {
  switch (algoStatus) {
    case 'NEW':
    case 'TRIGGERING':
    case 'TRIGGERED':
    case 'FINISHED':
      return 'open';
    case 'CANCELED':
      return 'cancelled';
    case 'REJECTED':
      return 'rejected';
    case 'EXPIRED':
      return 'expired';
    default:
      return undefined;
  }
}

/** One answer of trade history (Binance's maximum). */
const TRADES_PAGE = 1000;
/** Binance USDⓈ-M: startTime and endTime at most 7 days apart; history kept 6 months. */
const FUTURES_TRADE_WINDOW_MS = 7 * 86_400_000;
/** How far past our estimate of the exchange's clock the newest history window reaches. */
const WINDOW_END_SLACK_MS = 60_000;
const FUTURES_HISTORY_MS = 180 * 86_400_000 - 3_600_000;

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
