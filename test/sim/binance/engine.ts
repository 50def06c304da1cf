/**
 * The simulated exchange: accounts, balances, positions, orders and matching against a scripted
 * price per symbol. HTTP, auth, weights and faults live in server.ts; this file knows none of them.
 */
import { floorToStep, isMultiple, r8, roundToStep } from './decimal';
import { maintMarginRatio, leverageBrackets } from './markets';
import type { MarketDef } from './markets';

export class BinanceError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly status = 400,
  ) {
    super(msg);
    this.name = 'BinanceError';
  }
}

export type Side = 'BUY' | 'SELL';
export type PositionSide = 'BOTH' | 'LONG' | 'SHORT';
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'REJECTED';
export type AlgoStatus = 'NEW' | 'TRIGGERING' | 'TRIGGERED' | 'FINISHED' | 'CANCELED' | 'EXPIRED' | 'REJECTED';
export type SpotOrderType = 'LIMIT' | 'MARKET' | 'STOP_LOSS' | 'STOP_LOSS_LIMIT' | 'TAKE_PROFIT' | 'TAKE_PROFIT_LIMIT' | 'LIMIT_MAKER';
export type AlgoOrderType = 'STOP_MARKET' | 'TAKE_PROFIT_MARKET' | 'STOP' | 'TAKE_PROFIT';

export interface Restrictions {
  ipRestrict: boolean;
  enableReading: boolean;
  enableWithdrawals: boolean;
  enableInternalTransfer: boolean;
  enableMargin: boolean;
  enableFutures: boolean;
  permitsUniversalTransfer: boolean;
  enableVanillaOptions: boolean;
  enableFixApiTrade: boolean;
  enableFixReadOnly: boolean;
  enableSpotAndMarginTrading: boolean;
  enablePortfolioMarginTrading: boolean;
  /**
   * When the key's trading permission ends (ms). Binance reports it for keys not restricted to trusted
   * IPs; unset here: 90 days after the key's creation for such keys, none for restricted ones.
   */
  tradingAuthorityExpirationTime?: number;
}

/** What Binance decides about a futures account beyond its API key (verification, risk rules, asset mode). */
export interface AccountRules {
  /**
   * Highest leverage Binance lets the account set: accounts without Intermediate Personal
   * Verification, or younger than a month, get 20 at most. Higher answers -4202. null = the market's own maximum.
   */
  leverageLimit: number | null;
  /** Futures Trading Quantitative Rules violated: only reduce-only orders are accepted, others answer -4400. */
  quantitativeRulesViolated: boolean;
  /** Multi-Assets margin mode: every symbol is cross margin; switching one to isolated answers -4168. */
  multiAssetsMargin: boolean;
}

export interface AccountSpec {
  readonly apiKey: string;
  readonly secret: string;
  /** Spot wallet: asset → free amount. */
  readonly spot?: Readonly<Record<string, number>>;
  /** USDⓈ-M futures wallet: asset → wallet balance. */
  readonly futures?: Readonly<Record<string, number>>;
  readonly restrictions?: Partial<Restrictions>;
  /** Futures position mode: true = hedge (LONG/SHORT), false = one-way (BOTH). */
  readonly hedgeMode?: boolean;
  /** Initial leverage of every futures symbol (Binance's default is 20). */
  readonly leverage?: number;
  readonly rules?: Partial<AccountRules>;
}

export interface SpotOrder {
  readonly kind: 'spot';
  readonly apiKey: string;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: SpotOrderType;
  readonly timeInForce: string;
  readonly price: number;
  readonly stopPrice: number;
  origQty: number;
  readonly origQuoteOrderQty: number;
  executedQty: number;
  cumQuote: number;
  status: OrderStatus;
  readonly time: number;
  updateTime: number;
  workingTime: number;
  readonly lockAsset: string;
  locked: number;
}

export interface FuturesOrder {
  readonly kind: 'futures';
  readonly apiKey: string;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: 'LIMIT' | 'MARKET';
  readonly origType: string;
  readonly timeInForce: string;
  readonly price: number;
  readonly stopPrice: number;
  readonly origQty: number;
  executedQty: number;
  cumQuote: number;
  readonly reduceOnly: boolean;
  readonly closePosition: boolean;
  readonly positionSide: PositionSide;
  status: OrderStatus;
  readonly time: number;
  updateTime: number;
}

export interface AlgoOrder {
  readonly kind: 'algo';
  readonly apiKey: string;
  readonly algoId: number;
  readonly clientAlgoId: string;
  readonly orderType: AlgoOrderType;
  readonly symbol: string;
  readonly side: Side;
  readonly positionSide: PositionSide;
  readonly timeInForce: string;
  readonly quantity: number;
  readonly triggerPrice: number;
  readonly price: number;
  readonly reduceOnly: boolean;
  readonly closePosition: boolean;
  readonly workingType: string;
  readonly priceProtect: boolean;
  algoStatus: AlgoStatus;
  readonly createTime: number;
  updateTime: number;
  triggerTime: number;
  actualOrderId: number | undefined;
  actualPrice: number | undefined;
  /** Lookups that still answer an empty actualOrderId although the triggered order exists. */
  unlinkedLookups: number;
}

/**
 * How long a triggered algo order takes to reach the matching engine. Binance: TRIGGERING ("met the
 * triggering condition and forwarded to the matching engine", actualOrderId '') until the order is
 * placed (TRIGGERED), then FINISHED once it is filled or cancelled there; the link to the placed order
 * (actualOrderId) may show up later than the order itself.
 */
export interface AlgoTriggerDelay {
  /** Lookups (GET /fapi/v1/algoOrder) that answer TRIGGERING before the order is placed... */
  readonly lookups?: number;
  /** ...and at least this long on the simulator clock after the trigger. */
  readonly ms?: number;
  /** Once placed, this many lookups still answer an empty actualOrderId. */
  readonly unlinkedLookups?: number;
}

export interface SpotTrade {
  readonly id: number;
  readonly orderId: number;
  readonly symbol: string;
  readonly price: number;
  readonly qty: number;
  readonly quoteQty: number;
  readonly commission: number;
  readonly commissionAsset: string;
  readonly time: number;
  readonly isBuyer: boolean;
  readonly isMaker: boolean;
}

export interface FuturesTrade {
  readonly id: number;
  readonly orderId: number;
  readonly symbol: string;
  readonly side: Side;
  readonly positionSide: PositionSide;
  readonly price: number;
  readonly qty: number;
  readonly quoteQty: number;
  readonly commission: number;
  readonly commissionAsset: string;
  readonly realizedPnl: number;
  readonly time: number;
  readonly maker: boolean;
}

export interface Position {
  readonly symbol: string;
  readonly positionSide: PositionSide;
  /** Signed: negative for shorts (also for SHORT in hedge mode, as Binance reports it). */
  amt: number;
  entryPrice: number;
  updateTime: number;
}

export interface Account {
  readonly apiKey: string;
  readonly secret: string;
  readonly createTime: number;
  restrictions: Restrictions;
  rules: AccountRules;
  readonly spot: Map<string, { free: number; locked: number }>;
  readonly futures: Map<string, number>;
  futuresUpdateTime: number;
  spotUpdateTime: number;
  hedgeMode: boolean;
  readonly defaultLeverage: number;
  readonly leverage: Map<string, number>;
  readonly marginType: Map<string, 'CROSSED' | 'ISOLATED'>;
  readonly positions: Map<string, Position>;
  readonly spotOrders: SpotOrder[];
  readonly spotTrades: SpotTrade[];
  readonly futuresOrders: FuturesOrder[];
  readonly futuresTrades: FuturesTrade[];
  readonly algoOrders: AlgoOrder[];
  /** Pay trading fees in BNB at a discount when the wallet holds enough (spot "spotBNBBurn", futures "feeBurn"). */
  readonly bnbFeeBurn: { spot: boolean; futures: boolean };
  /** USDⓈ-M futures income history (GET /fapi/v1/income), oldest first. */
  readonly income: IncomeRecord[];
}

export type IncomeType = 'REALIZED_PNL' | 'COMMISSION' | 'FUNDING_FEE';

export interface IncomeRecord {
  readonly symbol: string;
  readonly incomeType: IncomeType;
  /** Signed: negative is paid out (commission, funding paid). */
  readonly income: number;
  readonly asset: string;
  readonly time: number;
  /** Unique within one income type of a user, as Binance says. */
  readonly tranId: number;
  readonly tradeId: number | null;
}

/** Binance's BNB discounts on trading fees: 25 % on spot, 10 % on USDⓈ-M futures. */
const BNB_DISCOUNT = { spot: 0.75, futures: 0.9 } as const;

export interface Fees {
  readonly maker: number;
  readonly taker: number;
}

/**
 * What the futures user-data stream reports (userStream.ts turns each into Binance's event JSON):
 * an order's execution report, an algo order's status change, and the account's balances and
 * positions after a fill.
 */
export type FuturesUserEvent =
  | { readonly kind: 'order'; readonly order: FuturesOrder; readonly execution: 'NEW' | 'TRADE' | 'CANCELED' | 'EXPIRED'; readonly trade?: FuturesTrade }
  | { readonly kind: 'algo'; readonly algo: AlgoOrder }
  | { readonly kind: 'account'; readonly account: Account; readonly reason: 'ORDER'; readonly symbol: string };

/** What the spot user-data stream reports: an order's execution report, and the balances it changed. */
export type SpotUserEvent =
  | { readonly kind: 'spotOrder'; readonly order: SpotOrder; readonly execution: 'NEW' | 'TRADE' | 'CANCELED' | 'EXPIRED'; readonly trade?: SpotTrade }
  | { readonly kind: 'spotBalances'; readonly account: Account; readonly assets: readonly string[] };

export interface EngineOptions {
  readonly now: () => number;
  readonly spotMarkets: ReadonlyMap<string, MarketDef>;
  readonly futuresMarkets: ReadonlyMap<string, MarketDef>;
  readonly spotFees: Fees;
  readonly futuresFees: Fees;
  /** Market orders fill this fraction worse than the price (0.001 = 0.1 %). */
  readonly slippage: number;
  /** When set, every fill takes only this share of the remaining quantity (at least one step). */
  readonly partialFillRatio: number | undefined;
}

const OPEN: ReadonlySet<OrderStatus> = new Set<OrderStatus>(['NEW', 'PARTIALLY_FILLED']);
export const isOpen = (o: { status: OrderStatus }): boolean => OPEN.has(o.status);
/** Untriggered: may trigger, may be cancelled. */
const algoOpen = (a: AlgoOrder): boolean => a.algoStatus === 'NEW';
/** Still in the algo service (untriggered, or triggered and not yet placed): counts as an open algo order. */
export const algoPending = (a: AlgoOrder): boolean => a.algoStatus === 'NEW' || a.algoStatus === 'TRIGGERING';
/** In hedge mode a SELL on LONG (or BUY on SHORT) closes; such orders can only reduce. */
const closesHedge = (ps: PositionSide, side: Side): boolean => (ps === 'LONG' ? side === 'SELL' : ps === 'SHORT' ? side === 'BUY' : false);
const onlyReduces = (o: FuturesOrder): boolean => o.reduceOnly || o.closePosition || closesHedge(o.positionSide, o.side);

const DEFAULT_RULES: AccountRules = { leverageLimit: null, quantitativeRulesViolated: false, multiAssetsMargin: false };

const DEFAULT_RESTRICTIONS: Restrictions = {
  ipRestrict: true,
  enableReading: true,
  enableWithdrawals: false,
  enableInternalTransfer: false,
  enableMargin: false,
  enableFutures: true,
  permitsUniversalTransfer: false,
  enableVanillaOptions: false,
  enableFixApiTrade: false,
  enableFixReadOnly: false,
  enableSpotAndMarginTrading: true,
  enablePortfolioMarginTrading: false,
};

/** Whether a stop / take-profit trigger condition holds at `price`. */
const triggered = (stopLike: boolean, side: Side, trigger: number, price: number): boolean =>
  stopLike ? (side === 'BUY' ? price >= trigger : price <= trigger) : side === 'BUY' ? price <= trigger : price >= trigger;

const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;

export interface SpotOrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly type: SpotOrderType;
  readonly timeInForce?: string;
  readonly quantity?: number;
  readonly quoteOrderQty?: number;
  readonly price?: number;
  readonly stopPrice?: number;
  readonly newClientOrderId?: string;
}

export interface FuturesOrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly type: string;
  readonly positionSide?: string;
  readonly timeInForce?: string;
  readonly quantity?: number;
  readonly price?: number;
  readonly reduceOnly?: boolean;
  readonly newClientOrderId?: string;
}

export interface AlgoOrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly type: string;
  readonly positionSide?: string;
  readonly timeInForce?: string;
  readonly quantity?: number;
  readonly price?: number;
  readonly triggerPrice: number;
  readonly reduceOnly?: boolean;
  readonly closePosition?: boolean;
  readonly workingType?: string;
  readonly priceProtect?: boolean;
  readonly clientAlgoId?: string;
}

export interface FuturesAccountView {
  readonly asset: string;
  readonly wallet: number;
  readonly unrealized: number;
  readonly positionMargin: number;
  readonly orderMargin: number;
  readonly maintMargin: number;
  readonly available: number;
}

/** A candle a test scripted: open time (ms) and OHLCV. */
export interface ScriptedKline {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume?: number;
}

export class Engine {
  readonly accounts = new Map<string, Account>();
  /** Scripted candle history per market (`spot:BTCUSDT`, `futures:BTCUSDT`); see BinanceSim.setKlines. */
  readonly scriptedKlines = new Map<string, ScriptedKline[]>();
  private readonly spotPrices = new Map<string, number>();
  private readonly futuresPrices = new Map<string, number>();
  private readonly openSpot = new Map<string, Set<SpotOrder>>();
  private readonly openFutures = new Map<string, Set<FuturesOrder>>();
  private readonly openAlgo = new Map<string, Set<AlgoOrder>>();
  private nextSpotOrderId = 10_000_001;
  private nextFuturesOrderId = 800_000_001;
  private nextAlgoId = 3_000_001;
  private nextSpotTradeId = 50_000_001;
  private nextFuturesTradeId = 700_000_001;
  private nextTranId = 9_689_322_392;
  private nextClientSeq = 1;
  /** Triggered algo orders waiting out `algoTriggerDelay`. */
  private readonly triggering = new Map<AlgoOrder, { lookups: number; readyAt: number }>();
  /** Matching-engine order id → the algo order that placed it (FINISHED when it ends). */
  private readonly algoOfActual = new Map<number, AlgoOrder>();
  /** Placed orders whose algo order became FINISHED and whose stream update is still to be sent. */
  private readonly finishedAlgos = new Set<number>();
  /** See AlgoTriggerDelay; none by default (triggered orders are placed at once). */
  algoTriggerDelay: AlgoTriggerDelay = {};
  /** Told every futures order, algo order and account change, as the user-data stream reports them. */
  onFuturesEvent: ((apiKey: string, event: FuturesUserEvent) => void) | undefined;
  /** Told every spot order change and the balances it moved, as the spot user-data stream reports them. */
  onSpotEvent: ((apiKey: string, event: SpotUserEvent) => void) | undefined;

  constructor(private readonly o: EngineOptions) {}

  get now(): number {
    return this.o.now();
  }

  // ── accounts ──────────────────────────────────────────────────────────────

  addAccount(spec: AccountSpec): Account {
    if (this.accounts.has(spec.apiKey)) throw new Error(`account ${spec.apiKey} exists`);
    const now = this.now;
    const acc: Account = {
      apiKey: spec.apiKey,
      secret: spec.secret,
      createTime: now,
      restrictions: { ...DEFAULT_RESTRICTIONS, ...spec.restrictions },
      rules: { ...DEFAULT_RULES, ...spec.rules },
      spot: new Map(Object.entries(spec.spot ?? {}).map(([a, v]) => [a, { free: r8(v), locked: 0 }])),
      futures: new Map(Object.entries(spec.futures ?? {}).map(([a, v]) => [a, r8(v)])),
      futuresUpdateTime: now,
      spotUpdateTime: now,
      hedgeMode: spec.hedgeMode ?? false,
      defaultLeverage: spec.leverage ?? 20,
      leverage: new Map(),
      marginType: new Map(),
      positions: new Map(),
      spotOrders: [],
      spotTrades: [],
      futuresOrders: [],
      futuresTrades: [],
      algoOrders: [],
      bnbFeeBurn: { spot: false, futures: false },
      income: [],
    };
    this.accounts.set(spec.apiKey, acc);
    return acc;
  }

  account(apiKey: string): Account {
    const acc = this.accounts.get(apiKey);
    if (!acc) throw new Error(`no account ${apiKey}`);
    return acc;
  }

  /** Credits (or debits, when negative) a wallet, as a deposit or transfer would. */
  fund(apiKey: string, wallet: 'spot' | 'futures', asset: string, amount: number): void {
    const acc = this.account(apiKey);
    if (wallet === 'spot') {
      const b = this.spotBalance(acc, asset);
      b.free = r8(b.free + amount);
      acc.spotUpdateTime = this.now;
    } else {
      acc.futures.set(asset, r8((acc.futures.get(asset) ?? 0) + amount));
      acc.futuresUpdateTime = this.now;
    }
  }

  private spotBalance(acc: Account, asset: string): { free: number; locked: number } {
    let b = acc.spot.get(asset);
    if (!b) {
      b = { free: 0, locked: 0 };
      acc.spot.set(asset, b);
    }
    return b;
  }

  // ── markets and prices ───────────────────────────────────────────────────

  spotMarketsList(): MarketDef[] {
    return [...this.o.spotMarkets.values()];
  }

  futuresMarketsList(): MarketDef[] {
    return [...this.o.futuresMarkets.values()];
  }

  spotMarket(symbol: string): MarketDef {
    const m = this.o.spotMarkets.get(symbol);
    if (!m) throw new BinanceError(-1121, 'Invalid symbol.');
    return m;
  }

  futuresMarket(symbol: string): MarketDef {
    const m = this.o.futuresMarkets.get(symbol);
    if (!m) throw new BinanceError(-1121, 'Invalid symbol.');
    return m;
  }

  spotPrice(symbol: string): number {
    return this.spotPrices.get(symbol) ?? this.spotMarket(symbol).initialPrice;
  }

  futuresPrice(symbol: string): number {
    return this.futuresPrices.get(symbol) ?? this.futuresMarket(symbol).initialPrice;
  }

  /** Sets the price of a symbol (spot, futures or both) and runs matching at that price. */
  setPrice(symbol: string, price: number, which: 'spot' | 'futures' | 'both' = 'both'): void {
    if (!(price > 0) || !Number.isFinite(price)) throw new Error(`bad price ${price}`);
    const spot = this.o.spotMarkets.has(symbol) && which !== 'futures';
    const fut = this.o.futuresMarkets.has(symbol) && which !== 'spot';
    if (!spot && !fut) throw new Error(`unknown symbol ${symbol}`);
    if (spot) {
      this.spotPrices.set(symbol, price);
      this.matchSpot(symbol);
    }
    if (fut) {
      this.futuresPrices.set(symbol, price);
      this.matchFutures(symbol);
    }
  }

  private slip(side: Side, price: number, m: MarketDef): number {
    if (this.o.slippage === 0) return price;
    const p = side === 'BUY' ? price * (1 + this.o.slippage) : price * (1 - this.o.slippage);
    return Math.max(m.tick, roundToStep(p, m.tick));
  }

  /** Quantity a fill takes: all remaining, or a share of it when partial fills are on. */
  private fillQty(remaining: number, step: number, ratio: number | undefined): number {
    const r = ratio ?? this.o.partialFillRatio;
    if (r === undefined || r >= 1) return remaining;
    const q = floorToStep(remaining * r, step);
    return Math.min(remaining, Math.max(q, step));
  }

  private index<T>(map: Map<string, Set<T>>, symbol: string): Set<T> {
    let s = map.get(symbol);
    if (!s) {
      s = new Set();
      map.set(symbol, s);
    }
    return s;
  }

  // ── spot ─────────────────────────────────────────────────────────────────

  private checkSpotFilters(m: MarketDef, r: SpotOrderRequest, qty: number | undefined, refPrice: number): void {
    const priced = r.price !== undefined;
    for (const [name, p] of [
      ['price', r.price],
      ['stopPrice', r.stopPrice],
    ] as const) {
      if (p === undefined) continue;
      if (p < m.minP || p > m.maxP || !isMultiple(p, m.tick)) throw new BinanceError(-1013, 'Filter failure: PRICE_FILTER');
      if (name === 'price' && !isMultiple(p, 1e-8)) throw new BinanceError(-1111, `Parameter 'price' has too much precision.`);
    }
    if (qty !== undefined) {
      if (!isMultiple(qty, 1e-8)) throw new BinanceError(-1111, `Parameter 'quantity' has too much precision.`);
      const isMarket = r.type === 'MARKET' || r.type === 'STOP_LOSS' || r.type === 'TAKE_PROFIT';
      if (qty < m.minQ || qty > m.maxQ || !isMultiple(qty, m.step)) throw new BinanceError(-1013, 'Filter failure: LOT_SIZE');
      if (isMarket && qty > m.marketMaxQ) throw new BinanceError(-1013, 'Filter failure: MARKET_LOT_SIZE');
      const notional = qty * (priced ? (r.price ?? refPrice) : r.stopPrice ?? refPrice);
      if (notional < m.minNotionalN - 1e-12) throw new BinanceError(-1013, 'Filter failure: NOTIONAL');
    }
    if (priced && r.price !== undefined) {
      const cur = this.spotPrice(m.symbol);
      if (r.price > cur * m.up || r.price < cur * m.down) throw new BinanceError(-1013, 'Filter failure: PERCENT_PRICE_BY_SIDE');
    }
  }

  placeSpot(acc: Account, r: SpotOrderRequest, partial?: number): { order: SpotOrder; fills: SpotTrade[] } {
    const m = this.spotMarket(r.symbol);
    if (!acc.restrictions.enableSpotAndMarginTrading) throw new BinanceError(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    const need = (name: string, v: unknown): void => {
      if (v === undefined) throw new BinanceError(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
    };
    const limitLike = r.type === 'LIMIT' || r.type === 'STOP_LOSS_LIMIT' || r.type === 'TAKE_PROFIT_LIMIT';
    if (limitLike) need('timeInForce', r.timeInForce);
    if (limitLike || r.type === 'LIMIT_MAKER') need('price', r.price);
    if (r.type !== 'LIMIT' && r.type !== 'MARKET' && r.type !== 'LIMIT_MAKER') need('stopPrice', r.stopPrice);
    if (r.type === 'MARKET') {
      if (r.quantity === undefined && r.quoteOrderQty === undefined)
        throw new BinanceError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!");
      if (r.quantity !== undefined && r.quoteOrderQty !== undefined) throw new BinanceError(-1106, "Parameter 'quoteOrderQty' sent when not required.");
    } else {
      need('quantity', r.quantity);
      if (r.quoteOrderQty !== undefined) throw new BinanceError(-1106, "Parameter 'quoteOrderQty' sent when not required.");
    }
    if (r.price !== undefined && (r.type === 'MARKET' || r.type === 'STOP_LOSS' || r.type === 'TAKE_PROFIT'))
      throw new BinanceError(-1106, "Parameter 'price' sent when not required.");
    if (r.timeInForce !== undefined && !limitLike) throw new BinanceError(-1106, "Parameter 'timeInForce' sent when not required.");
    const clientOrderId = r.newClientOrderId ?? this.autoClientId();
    if (!/^[a-zA-Z0-9-_]{1,36}$/.test(clientOrderId))
      throw new BinanceError(-1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.");
    if (acc.spotOrders.some((o) => isOpen(o) && o.clientOrderId === clientOrderId)) throw new BinanceError(-2010, 'Duplicate order sent.');

    const cur = this.spotPrice(r.symbol);
    const exec = this.slip(r.side, cur, m);
    let qty = r.quantity;
    if (qty === undefined && r.quoteOrderQty !== undefined) {
      if (!isMultiple(r.quoteOrderQty, 1e-8)) throw new BinanceError(-1111, "Parameter 'quoteOrderQty' has too much precision.");
      qty = floorToStep(r.quoteOrderQty / exec, m.step);
      if (qty <= 0) throw new BinanceError(-1013, 'Filter failure: LOT_SIZE');
    }
    this.checkSpotFilters(m, r, qty, cur);
    if (qty === undefined) throw new BinanceError(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.");

    const stopLike = r.type === 'STOP_LOSS' || r.type === 'STOP_LOSS_LIMIT';
    const conditional = r.type !== 'LIMIT' && r.type !== 'MARKET' && r.type !== 'LIMIT_MAKER';
    if (conditional && r.stopPrice !== undefined && triggered(stopLike, r.side, r.stopPrice, cur))
      throw new BinanceError(-2010, 'Order would trigger immediately.');
    if (r.type === 'LIMIT_MAKER' && r.price !== undefined && (r.side === 'BUY' ? r.price >= cur : r.price <= cur))
      throw new BinanceError(-2010, 'Order would immediately match and take.');

    // Funds are reserved at placement, at the order's own price (market orders at the fill price).
    const lockAsset = r.side === 'BUY' ? m.quote : m.base;
    let lockAmount: number;
    if (r.side === 'SELL') lockAmount = qty;
    else if (r.type === 'MARKET') lockAmount = r.quoteOrderQty ?? r8(qty * exec);
    else lockAmount = r8(qty * (r.price ?? r.stopPrice ?? cur));
    const bal = this.spotBalance(acc, lockAsset);
    if (bal.free + 1e-12 < lockAmount) throw new BinanceError(-2010, 'Account has insufficient balance for requested action.');

    const now = this.now;
    const order: SpotOrder = {
      kind: 'spot',
      apiKey: acc.apiKey,
      orderId: this.nextSpotOrderId++,
      clientOrderId,
      symbol: r.symbol,
      side: r.side,
      type: r.type,
      timeInForce: r.timeInForce ?? 'GTC',
      price: r.price ?? 0,
      stopPrice: r.stopPrice ?? 0,
      origQty: qty,
      origQuoteOrderQty: r.quoteOrderQty ?? 0,
      executedQty: 0,
      cumQuote: 0,
      status: 'NEW',
      time: now,
      updateTime: now,
      workingTime: conditional ? -1 : now,
      lockAsset,
      locked: 0,
    };
    bal.free = r8(bal.free - lockAmount);
    bal.locked = r8(bal.locked + lockAmount);
    order.locked = lockAmount;
    acc.spotOrders.push(order);
    acc.spotUpdateTime = now;
    this.onSpotEvent?.(acc.apiKey, { kind: 'spotOrder', order, execution: 'NEW' });
    this.onSpotEvent?.(acc.apiKey, { kind: 'spotBalances', account: acc, assets: [lockAsset] });

    const fills: SpotTrade[] = [];
    if (r.type === 'MARKET') {
      const q = this.fillQty(qty, m.step, partial);
      fills.push(this.spotFill(acc, order, q, exec, false));
      if (order.executedQty < order.origQty) this.finishSpot(order, 'EXPIRED');
    } else if (r.type === 'LIMIT' && r.price !== undefined) {
      const crosses = r.side === 'BUY' ? r.price >= cur : r.price <= cur;
      if (crosses) {
        const q = r.timeInForce === 'FOK' ? qty : this.fillQty(qty, m.step, partial);
        fills.push(this.spotFill(acc, order, q, cur, false));
      }
      if (isOpen(order) && (r.timeInForce === 'IOC' || r.timeInForce === 'FOK')) this.finishSpot(order, 'EXPIRED');
    }
    if (isOpen(order)) this.index(this.openSpot, order.symbol).add(order);
    return { order, fills };
  }

  private spotFill(acc: Account, order: SpotOrder, qty: number, price: number, maker: boolean): SpotTrade {
    const m = this.spotMarket(order.symbol);
    const fee = maker ? this.o.spotFees.maker : this.o.spotFees.taker;
    const remainingBefore = order.origQty - order.executedQty;
    const release = remainingBefore <= 0 ? order.locked : r8((order.locked * qty) / remainingBefore);
    const lock = this.spotBalance(acc, order.lockAsset);
    lock.locked = r8(lock.locked - release);
    lock.free = r8(lock.free + release);
    order.locked = r8(order.locked - release);
    const quoteQty = r8(qty * price);
    let commission: number;
    let commissionAsset: string;
    const inBnb = this.spotBnbFee(acc, m, quoteQty, fee);
    if (order.side === 'BUY') {
      const quote = this.spotBalance(acc, m.quote);
      quote.free = r8(quote.free - quoteQty);
      commission = inBnb ?? r8(qty * fee);
      commissionAsset = inBnb !== null ? 'BNB' : m.base;
      const base = this.spotBalance(acc, m.base);
      base.free = r8(base.free + qty - (inBnb !== null ? 0 : commission));
    } else {
      const base = this.spotBalance(acc, m.base);
      base.free = r8(base.free - qty);
      commission = inBnb ?? r8(quoteQty * fee);
      commissionAsset = inBnb !== null ? 'BNB' : m.quote;
      const quote = this.spotBalance(acc, m.quote);
      quote.free = r8(quote.free + quoteQty - (inBnb !== null ? 0 : commission));
    }
    if (inBnb !== null) {
      const bnb = this.spotBalance(acc, 'BNB');
      bnb.free = r8(bnb.free - inBnb);
    }
    const now = this.now;
    order.executedQty = r8(order.executedQty + qty);
    order.cumQuote = r8(order.cumQuote + quoteQty);
    order.updateTime = now;
    order.status = order.executedQty >= order.origQty - 1e-12 ? 'FILLED' : 'PARTIALLY_FILLED';
    if (order.status === 'FILLED') this.finishSpot(order, 'FILLED');
    acc.spotUpdateTime = now;
    const trade: SpotTrade = {
      id: this.nextSpotTradeId++,
      orderId: order.orderId,
      symbol: order.symbol,
      price,
      qty,
      quoteQty,
      commission,
      commissionAsset,
      time: now,
      isBuyer: order.side === 'BUY',
      isMaker: maker,
    };
    acc.spotTrades.push(trade);
    this.onSpotEvent?.(acc.apiKey, { kind: 'spotOrder', order, execution: 'TRADE', trade });
    this.onSpotEvent?.(acc.apiKey, { kind: 'spotBalances', account: acc, assets: [...new Set([m.base, m.quote, commissionAsset])] });
    return trade;
  }

  /** The USDT price of an asset on the spot book (1 for USDT itself); null when no such market. */
  usdPrice(asset: string): number | null {
    if (asset === 'USDT') return 1;
    return this.o.spotMarkets.has(`${asset}USDT`) ? this.spotPrice(`${asset}USDT`) : null;
  }

  /**
   * The fee in BNB when the account pays fees in BNB and holds enough (Binance falls back to the usual
   * asset otherwise): the fee's USDT value at the discount, over BNB's price now. Trades in BNB itself
   * pay in BNB anyway, so they are left to the usual rule.
   */
  private bnbFee(acc: Account, wallet: 'spot' | 'futures', quoteAsset: string, quoteQty: number, rate: number, held: number): number | null {
    if (!acc.bnbFeeBurn[wallet]) return null;
    const quoteUsd = this.usdPrice(quoteAsset);
    const bnbUsd = this.usdPrice('BNB');
    if (quoteUsd === null || bnbUsd === null) return null;
    const fee = r8((quoteQty * quoteUsd * rate * BNB_DISCOUNT[wallet]) / bnbUsd);
    return fee > 0 && held + 1e-12 >= fee ? fee : null;
  }

  private spotBnbFee(acc: Account, m: MarketDef, quoteQty: number, rate: number): number | null {
    if (m.base === 'BNB') return null;
    return this.bnbFee(acc, 'spot', m.quote, quoteQty, rate, this.spotBalance(acc, 'BNB').free);
  }

  /** Futures market orders walk the book: filled in this many trades, each a tick worse (1 = one trade). */
  marketSweepParts = 1;

  setBnbFeeBurn(apiKey: string, wallet: 'spot' | 'futures', on: boolean): void {
    this.account(apiKey).bnbFeeBurn[wallet] = on;
  }

  private recordIncome(acc: Account, row: Omit<IncomeRecord, 'tranId' | 'time'>, time = this.now): void {
    acc.income.push({ ...row, time, tranId: this.nextTranId++ });
  }

  /**
   * A funding payment on every open position of the symbol at the mark price (the simulator's futures
   * price): longs pay shorts when the rate is positive. Booked to the USDT wallet and the income history,
   * stamped at the funding time (the hour: Binance pays funding at hh:00:00 UTC).
   */
  payFunding(symbol: string, rate: number): void {
    const fundingTime = Math.floor(this.now / 3_600_000) * 3_600_000;
    const m = this.futuresMarket(symbol);
    const mark = this.futuresPrice(symbol);
    for (const acc of this.accounts.values()) {
      for (const p of acc.positions.values()) {
        if (p.symbol !== symbol || p.amt === 0) continue;
        const payment = r8(-p.amt * mark * rate);
        if (payment === 0) continue;
        acc.futures.set(m.quote, r8((acc.futures.get(m.quote) ?? 0) + payment));
        acc.futuresUpdateTime = this.now;
        this.recordIncome(acc, { symbol, incomeType: 'FUNDING_FEE', income: payment, asset: m.quote, tradeId: null }, fundingTime);
      }
    }
  }

  /** Moves an order to a final state and gives back what it still had reserved. */
  private finishSpot(order: SpotOrder, status: OrderStatus): void {
    order.status = status;
    order.updateTime = this.now;
    if (order.locked > 0) {
      const acc = this.account(order.apiKey);
      const b = this.spotBalance(acc, order.lockAsset);
      b.locked = r8(b.locked - order.locked);
      b.free = r8(b.free + order.locked);
      order.locked = 0;
      acc.spotUpdateTime = this.now;
    }
    this.openSpot.get(order.symbol)?.delete(order);
    // A fill is reported with its trade (spotFill); a cancel or expiry here.
    if (status === 'CANCELED' || status === 'EXPIRED') {
      this.onSpotEvent?.(order.apiKey, { kind: 'spotOrder', order, execution: status });
      this.onSpotEvent?.(order.apiKey, { kind: 'spotBalances', account: this.account(order.apiKey), assets: [order.lockAsset] });
    }
  }

  findSpot(acc: Account, symbol: string, orderId?: number, clientOrderId?: string): SpotOrder | undefined {
    for (let i = acc.spotOrders.length - 1; i >= 0; i--) {
      const o = acc.spotOrders[i];
      if (!o || o.symbol !== symbol) continue;
      if (orderId !== undefined ? o.orderId === orderId : o.clientOrderId === clientOrderId) return o;
    }
    return undefined;
  }

  cancelSpot(acc: Account, symbol: string, orderId?: number, clientOrderId?: string): SpotOrder {
    this.spotMarket(symbol);
    const o = this.findSpot(acc, symbol, orderId, clientOrderId);
    if (!o || !isOpen(o)) throw new BinanceError(-2011, 'Unknown order sent.');
    this.finishSpot(o, 'CANCELED');
    return o;
  }

  private matchSpot(symbol: string): void {
    const open = this.openSpot.get(symbol);
    if (!open || open.size === 0) return;
    const price = this.spotPrice(symbol);
    const m = this.spotMarket(symbol);
    for (const o of [...open].sort((a, b) => a.orderId - b.orderId)) {
      if (!isOpen(o)) continue;
      const acc = this.account(o.apiKey);
      const remaining = r8(o.origQty - o.executedQty);
      if (o.workingTime === -1) {
        const stopLike = o.type === 'STOP_LOSS' || o.type === 'STOP_LOSS_LIMIT';
        if (!triggered(stopLike, o.side, o.stopPrice, price)) continue;
        o.workingTime = this.now;
        if (o.type === 'STOP_LOSS' || o.type === 'TAKE_PROFIT') {
          const exec = this.slip(o.side, price, m);
          if (o.side === 'BUY' && this.spotBalance(acc, m.quote).free + o.locked < remaining * exec) {
            this.finishSpot(o, 'EXPIRED');
            continue;
          }
          this.spotFill(acc, o, remaining, exec, false);
          continue;
        }
        // A triggered stop-limit enters the book and takes at once when it crosses.
        if (o.side === 'BUY' ? o.price >= price : o.price <= price) this.spotFill(acc, o, this.fillQty(remaining, m.step, undefined), price, false);
        continue;
      }
      if (o.side === 'BUY' ? price <= o.price : price >= o.price) this.spotFill(acc, o, this.fillQty(remaining, m.step, undefined), o.price, true);
    }
  }

  // ── futures ──────────────────────────────────────────────────────────────

  leverageOf(acc: Account, symbol: string): number {
    return acc.leverage.get(symbol) ?? Math.min(acc.defaultLeverage, this.futuresMarket(symbol).maxLeverage);
  }

  marginTypeOf(acc: Account, symbol: string): 'CROSSED' | 'ISOLATED' {
    return acc.marginType.get(symbol) ?? 'CROSSED';
  }

  position(acc: Account, symbol: string, side: PositionSide): Position {
    const key = `${symbol}|${side}`;
    let p = acc.positions.get(key);
    if (!p) {
      p = { symbol, positionSide: side, amt: 0, entryPrice: 0, updateTime: 0 };
      acc.positions.set(key, p);
    }
    return p;
  }

  /** Positions of the account's mode, including flat ones that have traded before. */
  positionsOf(acc: Account): Position[] {
    return [...acc.positions.values()].filter((p) => (acc.hedgeMode ? p.positionSide !== 'BOTH' : p.positionSide === 'BOTH'));
  }

  futuresView(acc: Account, asset = 'USDT'): FuturesAccountView {
    const wallet = acc.futures.get(asset) ?? 0;
    let unrealized = 0;
    let positionMargin = 0;
    let maintMargin = 0;
    for (const p of acc.positions.values()) {
      if (p.amt === 0) continue;
      const m = this.futuresMarket(p.symbol);
      if (m.quote !== asset) continue;
      const mark = this.futuresPrice(p.symbol);
      const notional = Math.abs(p.amt) * mark;
      unrealized += p.amt * (mark - p.entryPrice);
      positionMargin += notional / this.leverageOf(acc, p.symbol);
      maintMargin += notional * maintMarginRatio(m, notional);
    }
    let orderMargin = 0;
    for (const o of acc.futuresOrders) {
      if (!isOpen(o) || o.reduceOnly || o.type !== 'LIMIT') continue;
      const m = this.futuresMarket(o.symbol);
      if (m.quote !== asset) continue;
      orderMargin += ((o.origQty - o.executedQty) * o.price) / this.leverageOf(acc, o.symbol);
    }
    unrealized = r8(unrealized);
    positionMargin = r8(positionMargin);
    orderMargin = r8(orderMargin);
    return {
      asset,
      wallet,
      unrealized,
      positionMargin,
      orderMargin,
      maintMargin: r8(maintMargin),
      available: r8(Math.max(0, wallet + unrealized - positionMargin - orderMargin)),
    };
  }

  private resolvePositionSide(acc: Account, raw: string | undefined): PositionSide {
    const ps = raw ?? 'BOTH';
    if (ps !== 'BOTH' && ps !== 'LONG' && ps !== 'SHORT') throw new BinanceError(-4006, 'Invalid position side.');
    if (acc.hedgeMode ? ps === 'BOTH' : ps !== 'BOTH') throw new BinanceError(-4061, "Order's position side does not match user's setting.");
    return ps;
  }

  /** How much of an order on (side, positionSide) reduces the current position. */
  private reducible(acc: Account, symbol: string, side: Side, ps: PositionSide): number {
    const p = this.position(acc, symbol, ps);
    if (ps === 'BOTH') return (side === 'SELL' && p.amt > 0) || (side === 'BUY' && p.amt < 0) ? Math.abs(p.amt) : 0;
    if (ps === 'LONG') return side === 'SELL' ? Math.max(0, p.amt) : 0;
    return side === 'BUY' ? Math.max(0, -p.amt) : 0;
  }

  private checkFuturesQty(m: MarketDef, qty: number, market: boolean): void {
    if (!isMultiple(qty, m.step)) throw new BinanceError(-1111, 'Precision is over the maximum defined for this asset.');
    if (qty <= 0) throw new BinanceError(-4003, 'Quantity less than or equal to zero.');
    if (qty < m.minQ - 1e-12) throw new BinanceError(-4004, 'Quantity less than min quantity.');
    if (qty > (market ? m.marketMaxQ : m.maxQ)) throw new BinanceError(-4005, 'Quantity greater than max quantity.');
  }

  private checkFuturesPrice(m: MarketDef, price: number, percent: boolean): void {
    if (!isMultiple(price, m.tick)) {
      if (!isMultiple(price, 10 ** -m.pricePrecision)) throw new BinanceError(-1111, 'Precision is over the maximum defined for this asset.');
      throw new BinanceError(-4014, 'Price not increased by tick size.');
    }
    if (price < m.minP) throw new BinanceError(-4013, 'Price less than min price.');
    if (price > m.maxP) throw new BinanceError(-4002, 'Price greater than max price.');
    if (percent) {
      const mark = this.futuresPrice(m.symbol);
      const cap = roundToStep(mark * m.up, m.tick);
      const floor = roundToStep(mark * m.down, m.tick);
      if (price > cap) throw new BinanceError(-4016, `Limit price can't be higher than ${cap}.`);
      if (price < floor) throw new BinanceError(-4024, `Limit price can't be lower than ${floor}.`);
    }
  }

  private checkFuturesClientId(acc: Account, id: string): void {
    if (!CLIENT_ID.test(id)) throw new BinanceError(-4015, 'Client order id is not valid.');
    if (acc.futuresOrders.some((o) => isOpen(o) && o.clientOrderId === id) || acc.algoOrders.some((a) => algoPending(a) && a.clientAlgoId === id))
      throw new BinanceError(-4116, 'ClientOrderId is duplicated.');
  }

  /** An account flagged by Binance's Futures Trading Quantitative Rules may only reduce. */
  private checkQuantitativeRules(acc: Account, reduces: boolean): void {
    if (acc.rules.quantitativeRulesViolated && !reduces)
      throw new BinanceError(-4400, 'Futures Trading Quantitative Rules violated, only reduceOnly order is allowed, please try again later.');
  }

  private checkMargin(acc: Account, m: MarketDef, side: Side, ps: PositionSide, qty: number, price: number): void {
    const opening = Math.max(0, qty - this.reducible(acc, m.symbol, side, ps));
    if (opening <= 0) return;
    const need = (opening * price) / this.leverageOf(acc, m.symbol);
    const view = this.futuresView(acc, m.quote);
    if (need > view.available + 1e-9) throw new BinanceError(-2019, 'Margin is insufficient.');
  }

  placeFutures(acc: Account, r: FuturesOrderRequest, partial?: number): FuturesOrder {
    const m = this.futuresMarket(r.symbol);
    if (!acc.restrictions.enableFutures) throw new BinanceError(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    if (r.type !== 'LIMIT' && r.type !== 'MARKET') {
      if (['STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET'].includes(r.type))
        throw new BinanceError(-4120, 'Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.');
      throw new BinanceError(-1116, 'Invalid orderType.');
    }
    const ps = this.resolvePositionSide(acc, r.positionSide);
    if (acc.hedgeMode && r.reduceOnly !== undefined) throw new BinanceError(-1106, "Parameter 'reduceOnly' sent when not required.");
    if (r.quantity === undefined) throw new BinanceError(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.");
    if (r.type === 'LIMIT') {
      if (r.price === undefined) throw new BinanceError(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
      if (r.timeInForce === undefined) throw new BinanceError(-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.");
    } else if (r.price !== undefined) throw new BinanceError(-1106, "Parameter 'price' sent when not required.");
    const tif = r.timeInForce ?? 'GTC';
    if (!['GTC', 'IOC', 'FOK', 'GTX', 'GTD'].includes(tif)) throw new BinanceError(-1115, 'Invalid timeInForce.');
    const qty = r.quantity;
    this.checkFuturesQty(m, qty, r.type === 'MARKET');
    if (r.price !== undefined) this.checkFuturesPrice(m, r.price, true);
    const clientOrderId = r.newClientOrderId ?? this.autoClientId();
    this.checkFuturesClientId(acc, clientOrderId);
    const reduceOnly = r.reduceOnly === true;
    const closing = closesHedge(ps, r.side);
    this.checkQuantitativeRules(acc, reduceOnly || closing);
    const cur = this.futuresPrice(r.symbol);
    const exec = this.slip(r.side, cur, m);
    const refPrice = r.price ?? cur;
    if (reduceOnly || closing) {
      if (this.reducible(acc, r.symbol, r.side, ps) <= 0) throw new BinanceError(-2022, 'ReduceOnly Order is rejected.');
    } else {
      if (qty * refPrice < m.minNotionalN - 1e-9)
        throw new BinanceError(-4164, `Order's notional must be no smaller than ${m.minNotional} (unless you choose reduce only).`);
      this.checkMargin(acc, m, r.side, ps, qty, r.type === 'MARKET' ? exec : refPrice);
    }
    if (tif === 'GTX' && r.price !== undefined && (r.side === 'BUY' ? r.price >= cur : r.price <= cur))
      throw new BinanceError(-5022, 'Due to the order could not be executed as maker, the Post Only order will be rejected.');

    const now = this.now;
    const order: FuturesOrder = {
      kind: 'futures',
      apiKey: acc.apiKey,
      orderId: this.nextFuturesOrderId++,
      clientOrderId,
      symbol: r.symbol,
      side: r.side,
      type: r.type,
      origType: r.type,
      timeInForce: tif,
      price: r.price ?? 0,
      stopPrice: 0,
      origQty: qty,
      executedQty: 0,
      cumQuote: 0,
      reduceOnly,
      closePosition: false,
      positionSide: ps,
      status: 'NEW',
      time: now,
      updateTime: now,
    };
    acc.futuresOrders.push(order);
    this.orderEvent(order, 'NEW');
    this.executeFutures(acc, order, cur, exec, partial);
    return order;
  }

  /** Runs a new (or just triggered) futures order against the current price. */
  private executeFutures(acc: Account, order: FuturesOrder, cur: number, exec: number, partial?: number): void {
    const m = this.futuresMarket(order.symbol);
    if (order.type === 'MARKET') {
      let q = this.fillQty(order.origQty, m.step, partial);
      if (onlyReduces(order)) q = Math.min(q, this.reducible(acc, order.symbol, order.side, order.positionSide));
      // Against several makers one market order is several trades of one orderId, each a tick worse.
      const parts = Math.max(1, Math.min(this.marketSweepParts, Math.round(q / m.step)));
      let left = q;
      for (let i = 0; i < parts && left > 0; i += 1) {
        const part = i === parts - 1 ? left : Math.min(left, Math.max(m.step, floorToStep(q / parts, m.step)));
        const price = parts === 1 ? exec : order.side === 'BUY' ? r8(exec + i * m.tick) : r8(exec - i * m.tick);
        this.futuresFill(acc, order, part, price, false);
        left = r8(left - part);
      }
      if (isOpen(order)) this.finishFutures(order, 'EXPIRED');
      return;
    }
    const crosses = order.side === 'BUY' ? order.price >= cur : order.price <= cur;
    if (crosses) {
      let q = order.timeInForce === 'FOK' ? order.origQty : this.fillQty(order.origQty, m.step, partial);
      if (onlyReduces(order)) q = Math.min(q, this.reducible(acc, order.symbol, order.side, order.positionSide));
      if (q > 0) this.futuresFill(acc, order, q, cur, false);
    }
    if (isOpen(order) && (order.timeInForce === 'IOC' || order.timeInForce === 'FOK')) this.finishFutures(order, 'EXPIRED');
    if (isOpen(order)) this.index(this.openFutures, order.symbol).add(order);
  }

  private futuresFill(acc: Account, order: FuturesOrder, qty: number, price: number, maker: boolean): FuturesTrade {
    const m = this.futuresMarket(order.symbol);
    const rate = maker ? this.o.futuresFees.maker : this.o.futuresFees.taker;
    const quoteQty = r8(qty * price);
    const inBnb = this.bnbFee(acc, 'futures', m.quote, quoteQty, rate, acc.futures.get('BNB') ?? 0);
    const commission = inBnb ?? r8(quoteQty * rate);
    const commissionAsset = inBnb !== null ? 'BNB' : m.quote;
    const p = this.position(acc, order.symbol, order.positionSide);
    const signed = order.side === 'BUY' ? qty : -qty;
    let realized = 0;
    const increases = p.amt === 0 || Math.sign(p.amt) === Math.sign(signed);
    if (increases && (order.positionSide === 'BOTH' || (order.positionSide === 'LONG') === (order.side === 'BUY'))) {
      const size = Math.abs(p.amt);
      p.entryPrice = (size * p.entryPrice + qty * price) / (size + qty);
      p.amt = r8(p.amt + signed);
    } else {
      const close = Math.min(Math.abs(p.amt), qty);
      realized = r8(close * (price - p.entryPrice) * Math.sign(p.amt));
      p.amt = r8(p.amt + Math.sign(signed) * close);
      const rest = r8(qty - close);
      if (p.amt === 0) p.entryPrice = 0;
      if (rest > 0 && order.positionSide === 'BOTH') {
        p.amt = r8(Math.sign(signed) * rest);
        p.entryPrice = price;
      }
    }
    const now = this.now;
    p.updateTime = now;
    acc.futures.set(m.quote, r8((acc.futures.get(m.quote) ?? 0) + realized));
    acc.futures.set(commissionAsset, r8((acc.futures.get(commissionAsset) ?? 0) - commission));
    acc.futuresUpdateTime = now;
    order.executedQty = r8(order.executedQty + qty);
    order.cumQuote = r8(order.cumQuote + quoteQty);
    order.updateTime = now;
    order.status = order.executedQty >= order.origQty - 1e-12 ? 'FILLED' : 'PARTIALLY_FILLED';
    if (order.status === 'FILLED') this.finishFutures(order, 'FILLED');
    const trade: FuturesTrade = {
      id: this.nextFuturesTradeId++,
      orderId: order.orderId,
      symbol: order.symbol,
      side: order.side,
      positionSide: order.positionSide,
      price,
      qty,
      quoteQty,
      commission,
      commissionAsset,
      realizedPnl: realized,
      time: now,
      maker,
    };
    acc.futuresTrades.push(trade);
    if (realized !== 0) this.recordIncome(acc, { symbol: order.symbol, incomeType: 'REALIZED_PNL', income: realized, asset: m.quote, tradeId: trade.id });
    if (commission > 0) this.recordIncome(acc, { symbol: order.symbol, incomeType: 'COMMISSION', income: -commission, asset: commissionAsset, tradeId: trade.id });
    // Binance sends the account's new balances and position first, then the order's trade report.
    this.onFuturesEvent?.(acc.apiKey, { kind: 'account', account: acc, reason: 'ORDER', symbol: order.symbol });
    this.orderEvent(order, 'TRADE', trade);
    this.finishedAlgoEvent(order);
    return trade;
  }

  private finishFutures(order: FuturesOrder, status: OrderStatus): void {
    order.status = status;
    order.updateTime = this.now;
    this.openFutures.get(order.symbol)?.delete(order);
    // The algo order that placed it is FINISHED: "filled or cancelled in the matching engine".
    const algo = this.algoOfActual.get(order.orderId);
    if (algo) {
      this.algoOfActual.delete(order.orderId);
      algo.algoStatus = 'FINISHED';
      algo.updateTime = this.now;
      this.finishedAlgos.add(order.orderId);
    }
    // A fill is reported with its trade (futuresFill); a cancel or expiry here.
    if (status === 'CANCELED' || status === 'EXPIRED') {
      this.orderEvent(order, status);
      this.finishedAlgoEvent(order);
    }
  }

  /** The FINISHED update of the algo order whose placed order just ended, after that order's own report. */
  private finishedAlgoEvent(order: FuturesOrder): void {
    if (!this.finishedAlgos.delete(order.orderId)) return;
    const algo = order.apiKey ? this.account(order.apiKey).algoOrders.find((a) => a.actualOrderId === order.orderId) : undefined;
    if (algo) this.algoEvent(algo);
  }

  findFutures(acc: Account, symbol: string, orderId?: number, clientOrderId?: string): FuturesOrder | undefined {
    for (let i = acc.futuresOrders.length - 1; i >= 0; i--) {
      const o = acc.futuresOrders[i];
      if (!o || o.symbol !== symbol) continue;
      if (orderId !== undefined ? o.orderId === orderId : o.clientOrderId === clientOrderId) return o;
    }
    return undefined;
  }

  cancelFutures(acc: Account, symbol: string, orderId?: number, clientOrderId?: string): FuturesOrder {
    this.futuresMarket(symbol);
    const o = this.findFutures(acc, symbol, orderId, clientOrderId);
    if (!o || !isOpen(o)) throw new BinanceError(-2011, 'Unknown order sent.');
    this.finishFutures(o, 'CANCELED');
    return o;
  }

  placeAlgo(acc: Account, r: AlgoOrderRequest): AlgoOrder {
    const m = this.futuresMarket(r.symbol);
    if (!acc.restrictions.enableFutures) throw new BinanceError(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    const types: readonly string[] = ['STOP_MARKET', 'TAKE_PROFIT_MARKET', 'STOP', 'TAKE_PROFIT'];
    if (!types.includes(r.type)) throw new BinanceError(-1116, 'Invalid orderType.');
    const type = r.type as AlgoOrderType;
    const ps = this.resolvePositionSide(acc, r.positionSide);
    if (acc.hedgeMode && r.reduceOnly !== undefined) throw new BinanceError(-1106, "Parameter 'reduceOnly' sent when not required.");
    const closePosition = r.closePosition === true;
    const market = type === 'STOP_MARKET' || type === 'TAKE_PROFIT_MARKET';
    if (closePosition) {
      if (!market) throw new BinanceError(-4136, 'Target strategy invalid for orderType ' + type + ',closePosition true');
      if (r.quantity !== undefined) throw new BinanceError(-1106, "Parameter 'quantity' sent when not required.");
      if (r.reduceOnly !== undefined) throw new BinanceError(-1106, "Parameter 'reduceOnly' sent when not required.");
    } else if (r.quantity === undefined) throw new BinanceError(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.");
    if (!market && r.price === undefined) throw new BinanceError(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
    if (market && r.price !== undefined) throw new BinanceError(-1106, "Parameter 'price' sent when not required.");
    this.checkFuturesPrice(m, r.triggerPrice, false);
    if (r.price !== undefined) this.checkFuturesPrice(m, r.price, false);
    if (r.quantity !== undefined) this.checkFuturesQty(m, r.quantity, market);
    const clientAlgoId = r.clientAlgoId ?? this.autoClientId();
    this.checkFuturesClientId(acc, clientAlgoId);
    // MAX_NUM_ALGO_ORDERS counts the account's conditional orders on the symbol still in the algo service.
    if (acc.algoOrders.filter((a) => a.symbol === r.symbol && algoPending(a)).length >= m.maxNumAlgoOrders)
      throw new BinanceError(-4045, 'Reach max stop order limit.');
    const reduceOnly = r.reduceOnly === true;
    const closing = closesHedge(ps, r.side);
    this.checkQuantitativeRules(acc, reduceOnly || closePosition || closing);
    if (!reduceOnly && !closePosition && !closing && r.quantity !== undefined) {
      const ref = r.price ?? r.triggerPrice;
      if (r.quantity * ref < m.minNotionalN - 1e-9)
        throw new BinanceError(-4164, `Order's notional must be no smaller than ${m.minNotional} (unless you choose reduce only).`);
    }
    const cur = this.futuresPrice(r.symbol);
    const stopLike = type === 'STOP_MARKET' || type === 'STOP';
    if (triggered(stopLike, r.side, r.triggerPrice, cur)) throw new BinanceError(-2021, 'Order would immediately trigger.');
    const now = this.now;
    const a: AlgoOrder = {
      kind: 'algo',
      apiKey: acc.apiKey,
      algoId: this.nextAlgoId++,
      clientAlgoId,
      orderType: type,
      symbol: r.symbol,
      side: r.side,
      positionSide: ps,
      timeInForce: r.timeInForce ?? 'GTC',
      quantity: r.quantity ?? 0,
      triggerPrice: r.triggerPrice,
      price: r.price ?? 0,
      reduceOnly,
      closePosition,
      workingType: r.workingType ?? 'CONTRACT_PRICE',
      priceProtect: r.priceProtect === true,
      algoStatus: 'NEW',
      createTime: now,
      updateTime: now,
      triggerTime: 0,
      actualOrderId: undefined,
      actualPrice: undefined,
      unlinkedLookups: 0,
    };
    acc.algoOrders.push(a);
    this.index(this.openAlgo, a.symbol).add(a);
    this.algoEvent(a);
    return a;
  }

  findAlgo(acc: Account, algoId?: number, clientAlgoId?: string): AlgoOrder | undefined {
    for (let i = acc.algoOrders.length - 1; i >= 0; i--) {
      const a = acc.algoOrders[i];
      if (!a) continue;
      if (algoId !== undefined ? a.algoId === algoId : a.clientAlgoId === clientAlgoId) return a;
    }
    return undefined;
  }

  cancelAlgo(acc: Account, algoId?: number, clientAlgoId?: string): AlgoOrder {
    const a = this.findAlgo(acc, algoId, clientAlgoId);
    if (!a || !algoOpen(a)) throw new BinanceError(-2011, 'Unknown order sent.');
    a.algoStatus = 'CANCELED';
    a.updateTime = this.now;
    this.openAlgo.get(a.symbol)?.delete(a);
    this.algoEvent(a);
    return a;
  }

  private triggerAlgo(acc: Account, a: AlgoOrder): void {
    const now = this.now;
    this.openAlgo.get(a.symbol)?.delete(a);
    a.algoStatus = 'TRIGGERING';
    a.triggerTime = now;
    a.updateTime = now;
    this.algoEvent(a);
    const { lookups = 0, ms = 0 } = this.algoTriggerDelay;
    if (lookups > 0 || ms > 0) this.triggering.set(a, { lookups, readyAt: now + ms });
    else this.placeTriggered(acc, a);
  }

  /** Places the triggered algo orders whose delay has passed; runs before every request is handled. */
  settleTriggering(): void {
    if (this.triggering.size === 0) return;
    const now = this.now;
    for (const [a, wait] of [...this.triggering].sort(([x], [y]) => x.algoId - y.algoId)) {
      if (wait.lookups > 0 || now < wait.readyAt) continue;
      this.triggering.delete(a);
      this.placeTriggered(this.account(a.apiKey), a);
    }
  }

  /** A lookup of the algo order was answered: it counts toward its trigger delay, or its late link. */
  lookedUp(a: AlgoOrder): void {
    const wait = this.triggering.get(a);
    if (wait) wait.lookups = Math.max(0, wait.lookups - 1);
    else if (a.actualOrderId !== undefined && a.unlinkedLookups > 0) a.unlinkedLookups -= 1;
  }

  /**
   * The matching engine takes the triggered order at the current price. It refuses (algo REJECTED,
   * no order placed) a reduce-only order with nothing left to reduce (-2022 for a direct order) and
   * an opening one the margin cannot carry (-2019).
   */
  private placeTriggered(acc: Account, a: AlgoOrder): void {
    const now = this.now;
    a.updateTime = now;
    const m = this.futuresMarket(a.symbol);
    const price = this.futuresPrice(a.symbol);
    const market = a.orderType === 'STOP_MARKET' || a.orderType === 'TAKE_PROFIT_MARKET';
    const reducible = this.reducible(acc, a.symbol, a.side, a.positionSide);
    const reduces = a.reduceOnly || a.closePosition || closesHedge(a.positionSide, a.side);
    const refused = (): boolean => {
      if (reduces) return reducible <= 0;
      try {
        this.checkMargin(acc, m, a.side, a.positionSide, a.quantity, market ? price : a.price);
        return false;
      } catch {
        return true;
      }
    };
    if (refused()) {
      a.algoStatus = 'REJECTED';
      this.algoEvent(a);
      return;
    }
    const order: FuturesOrder = {
      kind: 'futures',
      apiKey: acc.apiKey,
      orderId: this.nextFuturesOrderId++,
      // The triggered order gets its own id; callers find it through the algo order's actualOrderId.
      clientOrderId: this.autoClientId(),
      symbol: a.symbol,
      side: a.side,
      type: market ? 'MARKET' : 'LIMIT',
      origType: a.orderType,
      timeInForce: a.timeInForce,
      price: a.price,
      stopPrice: a.triggerPrice,
      origQty: a.closePosition ? reducible : a.quantity,
      executedQty: 0,
      cumQuote: 0,
      reduceOnly: a.reduceOnly || a.closePosition,
      closePosition: a.closePosition,
      positionSide: a.positionSide,
      status: 'NEW',
      time: now,
      updateTime: now,
    };
    acc.futuresOrders.push(order);
    a.actualOrderId = order.orderId;
    a.unlinkedLookups = this.algoTriggerDelay.unlinkedLookups ?? 0;
    a.algoStatus = 'TRIGGERED';
    this.algoOfActual.set(order.orderId, a);
    this.algoEvent(a);
    this.orderEvent(order, 'NEW');
    // A market order ends at once (filled, or the rest expired): finishFutures makes the algo FINISHED.
    this.executeFutures(acc, order, price, this.slip(a.side, price, m));
    a.actualPrice = order.executedQty > 0 ? r8(order.cumQuote / order.executedQty) : a.price;
  }

  private matchFutures(symbol: string): void {
    const price = this.futuresPrice(symbol);
    const algos = this.openAlgo.get(symbol);
    if (algos && algos.size > 0) {
      for (const a of [...algos].sort((x, y) => x.algoId - y.algoId)) {
        if (!algoOpen(a)) continue;
        const stopLike = a.orderType === 'STOP_MARKET' || a.orderType === 'STOP';
        if (triggered(stopLike, a.side, a.triggerPrice, price)) this.triggerAlgo(this.account(a.apiKey), a);
      }
    }
    const open = this.openFutures.get(symbol);
    if (!open || open.size === 0) return;
    const m = this.futuresMarket(symbol);
    for (const o of [...open].sort((a, b) => a.orderId - b.orderId)) {
      if (!isOpen(o)) continue;
      if (!(o.side === 'BUY' ? price <= o.price : price >= o.price)) continue;
      const acc = this.account(o.apiKey);
      let q = this.fillQty(r8(o.origQty - o.executedQty), m.step, undefined);
      if (onlyReduces(o)) {
        q = Math.min(q, this.reducible(acc, symbol, o.side, o.positionSide));
        if (q <= 0) {
          this.finishFutures(o, 'EXPIRED');
          continue;
        }
      }
      this.futuresFill(acc, o, q, o.price, true);
    }
  }

  setLeverage(acc: Account, symbol: string, leverage: number): { leverage: number; maxNotionalValue: string; symbol: string } {
    const m = this.futuresMarket(symbol);
    if (!Number.isInteger(leverage) || leverage < 1 || leverage > m.maxLeverage) throw new BinanceError(-4028, `Leverage ${leverage} is not valid`);
    const limit = acc.rules.leverageLimit;
    if (limit !== null && leverage > limit) throw new BinanceError(-4202, 'Intermediate Personal Verification is required for adjusting leverage over 20x');
    acc.leverage.set(symbol, leverage);
    return { leverage, maxNotionalValue: String(this.maxNotional(m, leverage)), symbol };
  }

  maxNotional(m: MarketDef, leverage: number): number {
    let cap = 0;
    for (const b of leverageBrackets(m)) if ((b.initialLeverage ?? 0) >= leverage) cap = b.notionalCap ?? cap;
    return cap;
  }

  private hasOpenFutures(acc: Account, symbol?: string): boolean {
    return (
      acc.futuresOrders.some((o) => isOpen(o) && (symbol === undefined || o.symbol === symbol)) ||
      acc.algoOrders.some((a) => algoPending(a) && (symbol === undefined || a.symbol === symbol))
    );
  }

  private hasPosition(acc: Account, symbol?: string): boolean {
    return [...acc.positions.values()].some((p) => p.amt !== 0 && (symbol === undefined || p.symbol === symbol));
  }

  setMarginType(acc: Account, symbol: string, marginType: string): void {
    this.futuresMarket(symbol);
    if (marginType !== 'ISOLATED' && marginType !== 'CROSSED') throw new BinanceError(-4044, 'The margin type is not valid.');
    if (marginType === 'ISOLATED' && acc.rules.multiAssetsMargin)
      throw new BinanceError(-4168, 'Unable to adjust to isolated-margin mode under the Multi-Assets mode.');
    if (this.marginTypeOf(acc, symbol) === marginType) throw new BinanceError(-4046, 'No need to change margin type.');
    if (this.hasOpenFutures(acc, symbol)) throw new BinanceError(-4047, 'Margin type cannot be changed if there exists open orders.');
    if (this.hasPosition(acc, symbol)) throw new BinanceError(-4048, 'Margin type cannot be changed if there exists position.');
    acc.marginType.set(symbol, marginType);
  }

  setDualSide(acc: Account, dual: boolean): void {
    if (acc.hedgeMode === dual) throw new BinanceError(-4059, 'No need to change position side.');
    if (this.hasOpenFutures(acc)) throw new BinanceError(-4067, 'Position side cannot be changed if there exists open orders.');
    if (this.hasPosition(acc)) throw new BinanceError(-4068, 'Position side cannot be changed if there exists position.');
    acc.hedgeMode = dual;
  }

  /**
   * Closes a position as if its owner did it by hand in the app (or it was liquidated): a market
   * order with a `web_` client id the bot never made, at the current price, taker fee.
   */
  closePositionExternally(apiKey: string, symbol: string, positionSide?: PositionSide): FuturesOrder | undefined {
    const acc = this.account(apiKey);
    const sides: PositionSide[] = positionSide ? [positionSide] : acc.hedgeMode ? ['LONG', 'SHORT'] : ['BOTH'];
    let last: FuturesOrder | undefined;
    for (const ps of sides) {
      const p = acc.positions.get(`${symbol}|${ps}`);
      if (!p || p.amt === 0) continue;
      const now = this.now;
      const price = this.futuresPrice(symbol);
      const order: FuturesOrder = {
        kind: 'futures',
        apiKey,
        orderId: this.nextFuturesOrderId++,
        clientOrderId: `web_${String(this.nextClientSeq++).padStart(16, '0')}`,
        symbol,
        side: p.amt > 0 ? 'SELL' : 'BUY',
        type: 'MARKET',
        origType: 'MARKET',
        timeInForce: 'GTC',
        price: 0,
        stopPrice: 0,
        origQty: Math.abs(p.amt),
        executedQty: 0,
        cumQuote: 0,
        reduceOnly: true,
        closePosition: false,
        positionSide: ps,
        status: 'NEW',
        time: now,
        updateTime: now,
      };
      acc.futuresOrders.push(order);
      this.orderEvent(order, 'NEW');
      this.futuresFill(acc, order, order.origQty, price, false);
      last = order;
    }
    return last;
  }

  private orderEvent(order: FuturesOrder, execution: 'NEW' | 'TRADE' | 'CANCELED' | 'EXPIRED', trade?: FuturesTrade): void {
    this.onFuturesEvent?.(order.apiKey, { kind: 'order', order, execution, ...(trade ? { trade } : {}) });
  }

  private algoEvent(a: AlgoOrder): void {
    this.onFuturesEvent?.(a.apiKey, { kind: 'algo', algo: a });
  }

  private autoClientId(): string {
    // Binance's own ids look like this when the caller sends none.
    const n = this.nextClientSeq++;
    return `sim${n.toString(36).padStart(19, '0')}`;
  }
}
