/**
 * Markets the simulator lists: a base set of real Binance symbols with their real steps (as of
 * 2025) and, on request, synthetic markets so that spot + linear reach a realistic total (~2,500+).
 */
import { decimalsOf, stepDecimals } from './decimal';

export type MarketKind = 'spot' | 'futures';

export interface MarketDef {
  readonly kind: MarketKind;
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tickSize: string;
  readonly minPrice: string;
  readonly maxPrice: string;
  readonly stepSize: string;
  readonly minQty: string;
  readonly maxQty: string;
  readonly marketMaxQty: string;
  readonly minNotional: string;
  readonly maxNotional: string;
  /** PERCENT_PRICE(_BY_SIDE) multipliers against the current price. */
  readonly multiplierUp: string;
  readonly multiplierDown: string;
  /** Futures only: highest leverage of the first bracket. */
  readonly maxLeverage: number;
  /** MAX_NUM_ALGO_ORDERS: open conditional orders one account may have on the symbol (spot 5, USDⓈ-M 10). */
  readonly maxNumAlgoOrders: number;
  readonly initialPrice: number;
  // Parsed numbers, so the matching code does not parse on every order.
  readonly tick: number;
  readonly step: number;
  readonly minQ: number;
  readonly maxQ: number;
  readonly marketMaxQ: number;
  readonly minP: number;
  readonly maxP: number;
  readonly minNotionalN: number;
  readonly up: number;
  readonly down: number;
  readonly pricePrecision: number;
  readonly quantityPrecision: number;
}

interface Row {
  symbol: string;
  base: string;
  quote: string;
  tick: string;
  step: string;
  minQty?: string;
  maxQty: string;
  marketMaxQty: string;
  minNotional: string;
  maxPrice: string;
  minPrice?: string;
  up?: string;
  down?: string;
  lev?: number;
  price: number;
}

const def = (kind: MarketKind, r: Row): MarketDef => {
  const minPrice = r.minPrice ?? r.tick;
  const minQty = r.minQty ?? r.step;
  const up = r.up ?? (kind === 'spot' ? '5' : '1.0500');
  const down = r.down ?? (kind === 'spot' ? '0.2' : '0.9500');
  return {
    kind,
    symbol: r.symbol,
    base: r.base,
    quote: r.quote,
    tickSize: r.tick,
    minPrice,
    maxPrice: r.maxPrice,
    stepSize: r.step,
    minQty,
    maxQty: r.maxQty,
    marketMaxQty: r.marketMaxQty,
    minNotional: r.minNotional,
    maxNotional: '9000000',
    multiplierUp: up,
    multiplierDown: down,
    maxLeverage: r.lev ?? 20,
    maxNumAlgoOrders: kind === 'spot' ? 5 : 10,
    initialPrice: r.price,
    tick: Number(r.tick),
    step: Number(r.step),
    minQ: Number(minQty),
    maxQ: Number(r.maxQty),
    marketMaxQ: Number(r.marketMaxQty),
    minP: Number(minPrice),
    maxP: Number(r.maxPrice),
    minNotionalN: Number(r.minNotional),
    up: Number(up),
    down: Number(down),
    // Binance's pricePrecision is the tick as written ("0.0100" → 4), not the tick's significant decimals.
    pricePrecision: decimalsOf(r.tick),
    quantityPrecision: stepDecimals(r.step),
  };
};

/** Real spot symbols with Binance's steps (tick, lot step, min notional). */
const SPOT: Row[] = [
  { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tick: '0.01', step: '0.00001', maxQty: '9000', marketMaxQty: '120', minNotional: '5', maxPrice: '1000000', price: 50_000 },
  { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tick: '0.01', step: '0.0001', maxQty: '9000', marketMaxQty: '2500', minNotional: '5', maxPrice: '1000000', price: 3_000 },
  { symbol: 'BNBUSDT', base: 'BNB', quote: 'USDT', tick: '0.01', step: '0.001', maxQty: '9000', marketMaxQty: '9000', minNotional: '5', maxPrice: '100000', price: 600 },
  { symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', tick: '0.01', step: '0.001', maxQty: '9000', marketMaxQty: '9000', minNotional: '5', maxPrice: '100000', price: 150 },
  { symbol: 'XRPUSDT', base: 'XRP', quote: 'USDT', tick: '0.0001', step: '0.1', maxQty: '9000000', marketMaxQty: '900000', minNotional: '5', maxPrice: '1000', price: 0.5 },
  { symbol: 'DOGEUSDT', base: 'DOGE', quote: 'USDT', tick: '0.00001', step: '1', maxQty: '9000000', marketMaxQty: '9000000', minNotional: '1', maxPrice: '1000', price: 0.1 },
  { symbol: 'LINKUSDT', base: 'LINK', quote: 'USDT', tick: '0.01', step: '0.01', maxQty: '90000', marketMaxQty: '90000', minNotional: '5', maxPrice: '10000', price: 15 },
  { symbol: 'ADAUSDT', base: 'ADA', quote: 'USDT', tick: '0.0001', step: '0.1', maxQty: '900000', marketMaxQty: '900000', minNotional: '5', maxPrice: '1000', price: 0.4 },
  { symbol: 'AVAXUSDT', base: 'AVAX', quote: 'USDT', tick: '0.01', step: '0.01', maxQty: '90000', marketMaxQty: '90000', minNotional: '5', maxPrice: '10000', price: 30 },
  { symbol: 'LTCUSDT', base: 'LTC', quote: 'USDT', tick: '0.01', step: '0.001', maxQty: '90000', marketMaxQty: '90000', minNotional: '5', maxPrice: '100000', price: 80 },
  { symbol: 'ETHBTC', base: 'ETH', quote: 'BTC', tick: '0.00001', step: '0.0001', maxQty: '100000', marketMaxQty: '1000', minNotional: '0.0001', maxPrice: '922327', price: 0.06 },
];

/** Real USDⓈ-M perpetuals with Binance's steps, min notional and first-bracket leverage. */
const FUTURES: Row[] = [
  { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tick: '0.10', step: '0.001', maxQty: '1000', marketMaxQty: '120', minNotional: '100', maxPrice: '4529764', minPrice: '556.80', lev: 125, price: 50_000 },
  { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tick: '0.01', step: '0.001', maxQty: '10000', marketMaxQty: '2000', minNotional: '20', maxPrice: '306177', minPrice: '39.86', lev: 125, price: 3_000 },
  { symbol: 'BNBUSDT', base: 'BNB', quote: 'USDT', tick: '0.010', step: '0.01', maxQty: '100000', marketMaxQty: '2000', minNotional: '5', maxPrice: '100000', minPrice: '6.600', lev: 75, price: 600 },
  { symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', tick: '0.0100', step: '1', maxQty: '1000000', marketMaxQty: '5000', minNotional: '5', maxPrice: '6857', minPrice: '0.4200', lev: 100, price: 150, up: '1.0500', down: '0.9500' },
  { symbol: 'XRPUSDT', base: 'XRP', quote: 'USDT', tick: '0.0001', step: '0.1', maxQty: '10000000', marketMaxQty: '2000000', minNotional: '5', maxPrice: '100000', minPrice: '0.0143', lev: 75, price: 0.5 },
  { symbol: 'DOGEUSDT', base: 'DOGE', quote: 'USDT', tick: '0.000010', step: '1', maxQty: '50000000', marketMaxQty: '30000000', minNotional: '5', maxPrice: '30', minPrice: '0.002440', lev: 75, price: 0.1 },
  { symbol: 'LINKUSDT', base: 'LINK', quote: 'USDT', tick: '0.001', step: '0.01', maxQty: '500000', marketMaxQty: '40000', minNotional: '5', maxPrice: '2000', minPrice: '0.460', lev: 75, price: 15, up: '1.1500', down: '0.8500' },
  { symbol: 'ADAUSDT', base: 'ADA', quote: 'USDT', tick: '0.00010', step: '1', maxQty: '10000000', marketMaxQty: '2000000', minNotional: '5', maxPrice: '100', minPrice: '0.01740', lev: 75, price: 0.4, up: '1.1500', down: '0.8500' },
  { symbol: 'AVAXUSDT', base: 'AVAX', quote: 'USDT', tick: '0.0010', step: '1', maxQty: '1000000', marketMaxQty: '20000', minNotional: '5', maxPrice: '1000', minPrice: '0.3500', lev: 75, price: 30, up: '1.1500', down: '0.8500' },
  { symbol: 'LTCUSDT', base: 'LTC', quote: 'USDT', tick: '0.01', step: '0.001', maxQty: '100000', marketMaxQty: '5000', minNotional: '20', maxPrice: '100000', minPrice: '3.61', lev: 75, price: 80 },
];

export const baseSpotSymbols = SPOT.map((r) => r.symbol);
export const baseFuturesSymbols = FUTURES.map((r) => r.symbol);

/**
 * Builds the market lists. `total` is the wanted spot + linear count; the base set is always
 * listed and synthetic `SYNnnnnUSDT` markets (listed on both) fill up to the total.
 */
export const buildMarkets = (total = 0): { spot: Map<string, MarketDef>; futures: Map<string, MarketDef> } => {
  const spot = new Map<string, MarketDef>();
  const futures = new Map<string, MarketDef>();
  for (const r of SPOT) spot.set(r.symbol, def('spot', r));
  for (const r of FUTURES) futures.set(r.symbol, def('futures', r));
  let i = 0;
  while (spot.size + futures.size < total) {
    i += 1;
    const base = `SYN${String(i).padStart(4, '0')}`;
    const symbol = `${base}USDT`;
    const price = 1 + (i % 97);
    const row: Row = { symbol, base, quote: 'USDT', tick: '0.0001', step: '0.1', maxQty: '9000000', marketMaxQty: '900000', minNotional: '5', maxPrice: '100000', price };
    spot.set(symbol, def('spot', row));
    if (spot.size + futures.size < total) futures.set(symbol, def('futures', { ...row, up: '1.1500', down: '0.8500', lev: 50 }));
  }
  return { spot, futures };
};

export interface RateLimitSpec {
  rateLimitType: string;
  interval: string;
  intervalNum: number;
  limit: number;
}

export const spotSymbolInfo = (m: MarketDef): unknown => ({
  symbol: m.symbol,
  status: 'TRADING',
  baseAsset: m.base,
  baseAssetPrecision: 8,
  quoteAsset: m.quote,
  quotePrecision: 8,
  quoteAssetPrecision: 8,
  baseCommissionPrecision: 8,
  quoteCommissionPrecision: 8,
  orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'TAKE_PROFIT_LIMIT'],
  icebergAllowed: true,
  ocoAllowed: true,
  otoAllowed: true,
  quoteOrderQtyMarketAllowed: true,
  allowTrailingStop: true,
  cancelReplaceAllowed: true,
  amendAllowed: true,
  isSpotTradingAllowed: true,
  isMarginTradingAllowed: false,
  filters: [
    { filterType: 'PRICE_FILTER', minPrice: pad8(m.minPrice), maxPrice: pad8(m.maxPrice), tickSize: pad8(m.tickSize) },
    { filterType: 'LOT_SIZE', minQty: pad8(m.minQty), maxQty: pad8(m.maxQty), stepSize: pad8(m.stepSize) },
    { filterType: 'ICEBERG_PARTS', limit: 10 },
    { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: pad8(m.marketMaxQty), stepSize: '0.00000000' },
    { filterType: 'TRAILING_DELTA', minTrailingAboveDelta: 10, maxTrailingAboveDelta: 2000, minTrailingBelowDelta: 10, maxTrailingBelowDelta: 2000 },
    {
      filterType: 'PERCENT_PRICE_BY_SIDE',
      bidMultiplierUp: m.multiplierUp,
      bidMultiplierDown: m.multiplierDown,
      askMultiplierUp: m.multiplierUp,
      askMultiplierDown: m.multiplierDown,
      avgPriceMins: 5,
    },
    { filterType: 'NOTIONAL', minNotional: pad8(m.minNotional), applyMinToMarket: true, maxNotional: pad8(m.maxNotional), applyMaxToMarket: false, avgPriceMins: 5 },
    { filterType: 'MAX_NUM_ORDERS', maxNumOrders: 200 },
    { filterType: 'MAX_NUM_ALGO_ORDERS', maxNumAlgoOrders: m.maxNumAlgoOrders },
  ],
  permissions: [],
  permissionSets: [['SPOT']],
  defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
  allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
});

export const futuresSymbolInfo = (m: MarketDef): unknown => ({
  symbol: m.symbol,
  pair: m.symbol,
  contractType: 'PERPETUAL',
  deliveryDate: 4133404800000,
  onboardDate: 1569398400000,
  status: 'TRADING',
  maintMarginPercent: '2.5000',
  requiredMarginPercent: '5.0000',
  baseAsset: m.base,
  quoteAsset: m.quote,
  marginAsset: m.quote,
  pricePrecision: m.pricePrecision,
  quantityPrecision: m.quantityPrecision,
  baseAssetPrecision: 8,
  quotePrecision: 8,
  underlyingType: 'COIN',
  underlyingSubType: [],
  triggerProtect: '0.0500',
  liquidationFee: '0.012500',
  marketTakeBound: '0.05',
  maxMoveOrderLimit: 10000,
  filters: [
    { filterType: 'PRICE_FILTER', minPrice: m.minPrice, maxPrice: m.maxPrice, tickSize: m.tickSize },
    { filterType: 'LOT_SIZE', minQty: m.minQty, maxQty: m.maxQty, stepSize: m.stepSize },
    { filterType: 'MARKET_LOT_SIZE', minQty: m.minQty, maxQty: m.marketMaxQty, stepSize: m.stepSize },
    { filterType: 'MAX_NUM_ORDERS', limit: 200 },
    { filterType: 'MAX_NUM_ALGO_ORDERS', limit: m.maxNumAlgoOrders },
    { filterType: 'MIN_NOTIONAL', notional: m.minNotional },
    { filterType: 'PERCENT_PRICE', multiplierUp: m.multiplierUp, multiplierDown: m.multiplierDown, multiplierDecimal: '4' },
  ],
  orderTypes: ['LIMIT', 'MARKET', 'STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET'],
  timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
  permissionSets: ['GRID', 'COPY'],
});

const pad8 = (s: string): string => Number(s).toFixed(8);

/**
 * exchangeInfo bodies without the leading `{"timezone":"UTC","serverTime":N,` part, serialised once:
 * 2,500 markets make a body of a few MB and every ccxt instance that loads its own markets asks for it.
 */
export const exchangeInfoTail = (kind: MarketKind, markets: Iterable<MarketDef>, rateLimits: RateLimitSpec[]): string => {
  const symbols: unknown[] = [];
  for (const m of markets) symbols.push(kind === 'spot' ? spotSymbolInfo(m) : futuresSymbolInfo(m));
  const body: Record<string, unknown> = { rateLimits, exchangeFilters: [] };
  if (kind === 'futures') {
    body.futuresType = 'U_MARGINED';
    body.assets = [
      { asset: 'USDT', marginAvailable: true, autoAssetExchange: '-10000' },
      { asset: 'USDC', marginAvailable: true, autoAssetExchange: '-10000' },
    ];
  }
  body.symbols = symbols;
  return JSON.stringify(body).slice(1);
};

/** Leverage brackets for GET /fapi/v1/leverageBracket: a simplified ladder capped by the market's max. */
export const leverageBrackets = (m: MarketDef): Array<Record<string, number>> => {
  const ladder: Array<[number, number, number]> = [
    // [initialLeverage, notionalCap, maintMarginRatio]
    [m.maxLeverage, 50_000, 0.004],
    [Math.min(m.maxLeverage, 100), 500_000, 0.005],
    [Math.min(m.maxLeverage, 50), 10_000_000, 0.01],
    [Math.min(m.maxLeverage, 20), 80_000_000, 0.025],
    [Math.min(m.maxLeverage, 10), 150_000_000, 0.05],
    [Math.min(m.maxLeverage, 5), 300_000_000, 0.1],
    [1, 800_000_000, 0.25],
  ];
  let floor = 0;
  let cum = 0;
  let prevMmr = 0;
  return ladder.map(([lev, cap, mmr], i) => {
    cum += floor * (mmr - prevMmr);
    const row = { bracket: i + 1, initialLeverage: lev, notionalCap: cap, notionalFloor: floor, maintMarginRatio: mmr, cum: Number(cum.toFixed(2)) };
    floor = cap;
    prevMmr = mmr;
    return row;
  });
};

export const maintMarginRatio = (m: MarketDef, notional: number): number => {
  let ratio = 0.004;
  for (const b of leverageBrackets(m)) {
    if (notional < (b.notionalFloor ?? 0)) break;
    ratio = b.maintMarginRatio ?? ratio;
  }
  return ratio;
};
