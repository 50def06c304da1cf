/**
 * The REST endpoints the simulator serves: path, method, weight, whether signed, and the handler.
 * Weights are Binance's published IP weights (spot: X-MBX-USED-WEIGHT-1M of api.binance.com,
 * futures: of fapi.binance.com, sapi: X-SAPI-USED-IP-WEIGHT-1M).
 */
import { fmt, plain } from './decimal';
import { algoPending, BinanceError, isOpen } from './engine';
import type { Account, Engine, Fees, FuturesOrder, Position, Restrictions, ScriptedKline, Side, SpotOrderType } from './engine';
import { leverageBrackets, spotSymbolInfo } from './markets';
import type { MarketDef, RateLimitSpec } from './markets';
import type { FuturesUserStream } from './userStream';
import {
  algoOrderJson,
  futuresAccountV2,
  futuresAccountV3,
  futuresBalanceJson,
  futuresOrderJson,
  futuresTradeJson,
  positionRiskV2,
  positionRiskV3,
  spotAccountJson,
  spotCancelJson,
  spotNewOrderJson,
  spotOrderJson,
  spotTradeJson,
} from './views';

export type Family = 'spot' | 'sapi' | 'futures';
export type Params = Readonly<Record<string, string>>;

/** A body already serialised (exchangeInfo is a few MB with 2,500 markets). */
export class RawJson {
  constructor(readonly text: string) {}
}

export interface RouteCtx {
  readonly engine: Engine;
  readonly params: Params;
  /** The calling account (signed endpoints only). */
  readonly account: Account;
  readonly now: number;
  /** Share filled at once when a partial-fill fault fired for this request. */
  readonly partial: number | undefined;
  /** Whether a lookup of an order created at `createdAt` must answer -2013 now (fault window). */
  notFound(createdAt: number): boolean;
  readonly exchangeInfo: (family: 'spot' | 'futures') => RawJson;
  readonly rateLimits: (family: 'spot' | 'futures') => RateLimitSpec[];
  readonly spotFees: Fees;
  readonly futuresFees: Fees;
  readonly cancelClientId: () => string;
  /** The futures user-data stream (listenKey endpoints). */
  readonly userStream: FuturesUserStream;
}

export interface Route {
  readonly method: string;
  readonly path: string;
  readonly family: Family;
  readonly signed: boolean;
  /** USER_STREAM security: the API key header only, no signature (listenKey endpoints). */
  readonly keyOnly?: boolean;
  readonly weight: (p: Params) => number;
  /** Futures: parameters the endpoint accepts besides timestamp/recvWindow/signature (spot uses the spec). */
  readonly accepts?: readonly string[];
  readonly handle: (ctx: RouteCtx) => unknown;
}

// ── parameter parsing ─────────────────────────────────────────────────────

const DECIMAL = /^(\d{1,20})(\.\d{1,20})?$/;
const INTEGER = /^-?\d{1,20}$/;

const missing = (name: string): BinanceError => new BinanceError(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
const illegal = (name: string, legal: string): BinanceError =>
  new BinanceError(-1100, `Illegal characters found in parameter '${name}'; legal range is '${legal}'.`);

const str = (p: Params, name: string): string | undefined => {
  const v = p[name];
  return v === undefined || v === '' ? undefined : v;
};
const need = (p: Params, name: string): string => {
  const v = str(p, name);
  if (v === undefined) throw missing(name);
  return v;
};
const num = (p: Params, name: string): number | undefined => {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!DECIMAL.test(v)) throw illegal(name, '^([0-9]{1,20})(\\.[0-9]{1,20})?$');
  return Number(v);
};
const int = (p: Params, name: string): number | undefined => {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!INTEGER.test(v)) throw illegal(name, '^[0-9]{1,20}$');
  return Number(v);
};
const bool = (p: Params, name: string): boolean | undefined => {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw new BinanceError(-1130, `Data sent for parameter '${name}' is not valid.`);
  return v === 'true';
};
const side = (p: Params): Side => {
  const v = need(p, 'side');
  if (v !== 'BUY' && v !== 'SELL') throw new BinanceError(-1117, 'Invalid side.');
  return v;
};
const orderRef = (p: Params, idName = 'orderId', clientName = 'origClientOrderId'): { id?: number; client?: string } => {
  const id = int(p, idName);
  const client = str(p, clientName);
  if (id === undefined && client === undefined) throw new BinanceError(-1102, `Param '${idName}' or '${clientName}' must be sent, but both were empty/null!`);
  return id !== undefined ? { id } : client !== undefined ? { client } : {};
};
const limitOf = (p: Params, dflt = 500, max = 1000): number => Math.min(int(p, 'limit') ?? dflt, max);

/**
 * Binance's list cursors: `fromId` (or `orderId` for order lists) → ids ≥ it, oldest first;
 * startTime/endTime → that window, oldest first; neither → the most recent `limit`.
 */
const page = <T>(items: readonly T[], id: (t: T) => number, time: (t: T) => number, p: Params, fromName: string, limit: number): T[] => {
  const from = int(p, fromName);
  const start = int(p, 'startTime');
  const end = int(p, 'endTime');
  let xs = [...items].sort((a, b) => id(a) - id(b));
  if (from !== undefined) return xs.filter((t) => id(t) >= from).slice(0, limit);
  if (start !== undefined || end !== undefined) {
    xs = xs.filter((t) => (start === undefined || time(t) >= start) && (end === undefined || time(t) <= end));
    return start !== undefined ? xs.slice(0, limit) : xs.slice(-limit);
  }
  return xs.slice(-limit);
};

const DAY_MS = 86_400_000;

/**
 * Binance's trade history windows (userTrades, myTrades): startTime and endTime at most `window`
 * apart (-1127 otherwise). Futures also: startTime alone → the window from it, endTime alone → the
 * window up to it, neither (and no fromId) → the last 7 days; and nothing older than 6 months.
 */
const tradeWindow = (p: Params, now: number, window: number, futures: boolean): Params => {
  const start = int(p, 'startTime');
  const end = int(p, 'endTime');
  const hours = window / 3_600_000;
  if (start !== undefined && end !== undefined && end - start > window) {
    throw new BinanceError(-1127, hours >= 48 ? `More than ${hours / 24} days between startTime and endTime.` : `More than ${hours} hours between startTime and endTime.`);
  }
  // Spot documents only the limit on the two together (and "most recent" without either).
  if (!futures) return p;
  if (start !== undefined && end === undefined) return { ...p, endTime: String(start + window) };
  if (start === undefined && end !== undefined) return { ...p, startTime: String(end - window) };
  if (start === undefined && p.fromId === undefined) return { ...p, startTime: String(now - window), endTime: String(now) };
  return p;
};
/** USDⓈ-M answers trades of the last 6 months only. */
const FUTURES_HISTORY_MS = 180 * DAY_MS;

// ── market data helpers ───────────────────────────────────────────────────

const ticker24 = (m: MarketDef, price: number, now: number, spot: boolean): Record<string, unknown> => {
  const p = price.toFixed(m.pricePrecision);
  const bid = Math.max(m.tick, price - m.tick).toFixed(m.pricePrecision);
  const ask = (price + m.tick).toFixed(m.pricePrecision);
  const row: Record<string, unknown> = {
    symbol: m.symbol,
    priceChange: (0).toFixed(m.pricePrecision),
    priceChangePercent: '0.000',
    weightedAvgPrice: p,
    ...(spot ? { prevClosePrice: p } : {}),
    lastPrice: p,
    lastQty: m.minQty,
    ...(spot ? { bidPrice: bid, bidQty: '10', askPrice: ask, askQty: '10' } : {}),
    openPrice: p,
    highPrice: p,
    lowPrice: p,
    volume: '1000',
    quoteVolume: plain(Number((1000 * price).toFixed(8))),
    openTime: now - 86_400_000,
    closeTime: now,
    firstId: 1,
    lastId: 1000,
    count: 1000,
  };
  return row;
};

const book = (m: MarketDef, price: number, limit: number): { bids: string[][]; asks: string[][] } => {
  const bids: string[][] = [];
  const asks: string[][] = [];
  const qty = Math.max(m.minQ * 100, m.step * 100);
  for (let i = 1; i <= limit; i++) {
    const b = price - i * m.tick;
    if (b > 0) bids.push([b.toFixed(m.pricePrecision), qty.toFixed(m.quantityPrecision)]);
    asks.push([(price + i * m.tick).toFixed(m.pricePrecision), qty.toFixed(m.quantityPrecision)]);
  }
  return { bids, asks };
};

const INTERVALS: Record<string, number> = {
  '1m': 60_000,
  '3m': 180_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '4h': 14_400_000,
  '6h': 21_600_000,
  '8h': 28_800_000,
  '12h': 43_200_000,
  '1d': 86_400_000,
  '3d': 259_200_000,
  '1w': 604_800_000,
};

/**
 * Candles: the scripted ones when a test set some for this market (only those opened by now, the
 * newest `limit` up to `endTime`), otherwise flat candles at the current price.
 */
const klines = (m: MarketDef, price: number, p: Params, now: number, scripted?: readonly ScriptedKline[]): unknown[] => {
  if (scripted) return scriptedKlines(m, scripted, p, now);
  const iv = INTERVALS[need(p, 'interval')];
  if (iv === undefined) throw new BinanceError(-1120, 'Invalid interval.');
  const limit = Math.min(int(p, 'limit') ?? 500, 1500);
  const end = int(p, 'endTime') ?? now;
  const start = int(p, 'startTime');
  const last = Math.floor(end / iv) * iv;
  const first = start !== undefined ? Math.ceil(start / iv) * iv : last - (limit - 1) * iv;
  const out: unknown[] = [];
  const s = price.toFixed(m.pricePrecision);
  for (let t = first; t <= last && out.length < limit; t += iv) out.push([t, s, s, s, s, '0', t + iv - 1, '0', 0, '0', '0', '0']);
  return out;
};

const scriptedKlines = (m: MarketDef, rows: readonly ScriptedKline[], p: Params, now: number): unknown[] => {
  const iv = INTERVALS[need(p, 'interval')];
  if (iv === undefined) throw new BinanceError(-1120, 'Invalid interval.');
  const limit = Math.min(int(p, 'limit') ?? 500, 1500);
  const end = Math.min(int(p, 'endTime') ?? now, now);
  const start = int(p, 'startTime') ?? -Infinity;
  const f = (v: number) => v.toFixed(m.pricePrecision);
  const open = rows.filter((k) => k.openTime <= end && k.openTime >= start);
  const picked = int(p, 'startTime') !== undefined ? open.slice(0, limit) : open.slice(-limit);
  return picked.map((k) => [k.openTime, f(k.open), f(k.high), f(k.low), f(k.close), String(k.volume ?? 0), k.openTime + iv - 1, '0', 0, '0', '0', '0']);
};

const symbolsOf = (e: Engine, p: Params, markets: (s: string) => MarketDef, all: Iterable<MarketDef>): MarketDef[] => {
  const one = str(p, 'symbol');
  if (one !== undefined) return [markets(one)];
  const many = str(p, 'symbols');
  if (many !== undefined) {
    let list: unknown;
    try {
      list = JSON.parse(many);
    } catch {
      throw illegal('symbols', 'a JSON array of symbols');
    }
    if (!Array.isArray(list)) throw illegal('symbols', 'a JSON array of symbols');
    return list.map((s) => markets(String(s)));
  }
  void e;
  return [...all];
};

// ── routes ────────────────────────────────────────────────────────────────

const w = (n: number) => (): number => n;
const bySymbol = (withSymbol: number, without: number) => (p: Params): number => (p.symbol !== undefined ? withSymbol : without);

const spotType = (p: Params): SpotOrderType => {
  const t = need(p, 'type');
  const types: readonly string[] = ['LIMIT', 'MARKET', 'STOP_LOSS', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'TAKE_PROFIT_LIMIT', 'LIMIT_MAKER'];
  if (!types.includes(t)) throw new BinanceError(-1116, 'Invalid orderType.');
  return t as SpotOrderType;
};

const UNRESTRICTED_KEY_TRADING_MS = 90 * DAY_MS;

/** USDⓈ-M futures: an order cancelled or expired without a fill is not found once 3 days passed since its creation. */
const purgedUnfilled = (o: FuturesOrder, now: number): boolean =>
  (o.status === 'CANCELED' || o.status === 'EXPIRED') && o.executedQty === 0 && o.time + 3 * DAY_MS < now;

const restrictionsJson = (acc: Account): Restrictions & { createTime: number } => {
  const expiry =
    acc.restrictions.tradingAuthorityExpirationTime ??
    (acc.restrictions.ipRestrict ? undefined : acc.createTime + UNRESTRICTED_KEY_TRADING_MS);
  return {
    ...acc.restrictions,
    createTime: acc.createTime,
    ...(expiry !== undefined ? { tradingAuthorityExpirationTime: expiry } : {}),
  };
};

const openPositionsOrOrders = (e: Engine, acc: Account, p: Params): Position[] => {
  const symbol = str(p, 'symbol');
  if (symbol !== undefined) e.futuresMarket(symbol);
  return e
    .positionsOf(acc)
    .filter(
      (pos) =>
        (symbol === undefined || pos.symbol === symbol) &&
        (pos.amt !== 0 || acc.futuresOrders.some((o) => isOpen(o) && o.symbol === pos.symbol)),
    );
};

export const buildRoutes = (): Route[] => {
  const routes: Route[] = [];
  const add = (r: Route): void => {
    routes.push(r);
  };

  // ── spot: general and market data ──
  add({ method: 'GET', path: '/api/v3/ping', family: 'spot', signed: false, weight: w(1), handle: () => ({}) });
  add({ method: 'GET', path: '/api/v3/time', family: 'spot', signed: false, weight: w(1), handle: (c) => ({ serverTime: c.now }) });
  add({
    method: 'GET',
    path: '/api/v3/exchangeInfo',
    family: 'spot',
    signed: false,
    weight: w(20),
    handle: (c) => {
      if (c.params.symbol === undefined && c.params.symbols === undefined) return c.exchangeInfo('spot');
      const ms = symbolsOf(c.engine, c.params, (s) => c.engine.spotMarket(s), []);
      return { timezone: 'UTC', serverTime: c.now, rateLimits: c.rateLimits('spot'), exchangeFilters: [], symbols: ms.map(spotSymbolInfo) };
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/ticker/price',
    family: 'spot',
    signed: false,
    weight: bySymbol(2, 4),
    handle: (c) => {
      const one = str(c.params, 'symbol');
      const row = (m: MarketDef) => ({ symbol: m.symbol, price: fmt(c.engine.spotPrice(m.symbol)) });
      if (one !== undefined) return row(c.engine.spotMarket(one));
      return symbolsOf(c.engine, c.params, (s) => c.engine.spotMarket(s), c.engine.spotMarketsList()).map(row);
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/ticker/bookTicker',
    family: 'spot',
    signed: false,
    weight: bySymbol(2, 4),
    handle: (c) => {
      const row = (m: MarketDef) => {
        const p = c.engine.spotPrice(m.symbol);
        return { symbol: m.symbol, bidPrice: fmt(Math.max(m.tick, p - m.tick)), bidQty: '10.00000000', askPrice: fmt(p + m.tick), askQty: '10.00000000' };
      };
      const one = str(c.params, 'symbol');
      if (one !== undefined) return row(c.engine.spotMarket(one));
      return symbolsOf(c.engine, c.params, (s) => c.engine.spotMarket(s), c.engine.spotMarketsList()).map(row);
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/ticker/24hr',
    family: 'spot',
    signed: false,
    weight: bySymbol(2, 80),
    handle: (c) => {
      const one = str(c.params, 'symbol');
      const row = (m: MarketDef) => ticker24(m, c.engine.spotPrice(m.symbol), c.now, true);
      if (one !== undefined) return row(c.engine.spotMarket(one));
      return symbolsOf(c.engine, c.params, (s) => c.engine.spotMarket(s), c.engine.spotMarketsList()).map(row);
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/avgPrice',
    family: 'spot',
    signed: false,
    weight: w(2),
    handle: (c) => {
      const m = c.engine.spotMarket(need(c.params, 'symbol'));
      return { mins: 5, price: fmt(c.engine.spotPrice(m.symbol)), closeTime: c.now };
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/depth',
    family: 'spot',
    signed: false,
    weight: (p) => {
      const l = Number(p.limit ?? 100);
      return l <= 100 ? 5 : l <= 500 ? 25 : l <= 1000 ? 50 : 250;
    },
    handle: (c) => {
      const m = c.engine.spotMarket(need(c.params, 'symbol'));
      return { lastUpdateId: c.now, ...book(m, c.engine.spotPrice(m.symbol), Math.min(int(c.params, 'limit') ?? 100, 100)) };
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/klines',
    family: 'spot',
    signed: false,
    weight: w(2),
    handle: (c) => {
      const m = c.engine.spotMarket(need(c.params, 'symbol'));
      return klines(m, c.engine.spotPrice(m.symbol), c.params, c.now, c.engine.scriptedKlines.get(`spot:${m.symbol}`));
    },
  });

  // ── spot: account and trading ──
  add({
    method: 'GET',
    path: '/api/v3/account',
    family: 'spot',
    signed: true,
    weight: w(20),
    handle: (c) => spotAccountJson(c.account, c.spotFees),
  });
  add({
    method: 'GET',
    path: '/api/v3/account/commission',
    family: 'spot',
    signed: true,
    weight: w(20),
    handle: (c) => {
      const m = c.engine.spotMarket(need(c.params, 'symbol'));
      const f = c.spotFees;
      return {
        symbol: m.symbol,
        standardCommission: { maker: fmt(f.maker), taker: fmt(f.taker), buyer: fmt(0), seller: fmt(0) },
        taxCommission: { maker: fmt(0), taker: fmt(0), buyer: fmt(0), seller: fmt(0) },
        discount: { enabledForAccount: false, enabledForSymbol: false, discountAsset: 'BNB', discount: '0.75000000' },
      };
    },
  });
  add({
    method: 'POST',
    path: '/api/v3/order',
    family: 'spot',
    signed: true,
    weight: w(1),
    handle: (c) => {
      const p = c.params;
      const r = {
        symbol: need(p, 'symbol'),
        side: side(p),
        type: spotType(p),
        ...opt('timeInForce', str(p, 'timeInForce')),
        ...opt('quantity', num(p, 'quantity')),
        ...opt('quoteOrderQty', num(p, 'quoteOrderQty')),
        ...opt('price', num(p, 'price')),
        ...opt('stopPrice', num(p, 'stopPrice')),
        ...opt('newClientOrderId', str(p, 'newClientOrderId')),
      };
      const { order, fills } = c.engine.placeSpot(c.account, r, c.partial);
      return spotNewOrderJson(order, fills, str(p, 'newOrderRespType'));
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/order',
    family: 'spot',
    signed: true,
    weight: w(4),
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.spotMarket(symbol);
      const ref = orderRef(c.params);
      const o = c.engine.findSpot(c.account, symbol, ref.id, ref.client);
      if (!o || c.notFound(o.time)) throw new BinanceError(-2013, 'Order does not exist.');
      return spotOrderJson(o);
    },
  });
  add({
    method: 'DELETE',
    path: '/api/v3/order',
    family: 'spot',
    signed: true,
    weight: w(1),
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      const ref = orderRef(c.params);
      const o = c.engine.cancelSpot(c.account, symbol, ref.id, ref.client);
      return spotCancelJson(o, str(c.params, 'newClientOrderId') ?? c.cancelClientId());
    },
  });
  add({
    method: 'DELETE',
    path: '/api/v3/openOrders',
    family: 'spot',
    signed: true,
    weight: w(1),
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.spotMarket(symbol);
      const open = c.account.spotOrders.filter((o) => o.symbol === symbol && isOpen(o));
      if (open.length === 0) throw new BinanceError(-2011, 'Unknown order sent.');
      return open.map((o) => spotCancelJson(c.engine.cancelSpot(c.account, symbol, o.orderId), c.cancelClientId()));
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/openOrders',
    family: 'spot',
    signed: true,
    weight: bySymbol(6, 80),
    handle: (c) => {
      const symbol = str(c.params, 'symbol');
      if (symbol !== undefined) c.engine.spotMarket(symbol);
      return c.account.spotOrders.filter((o) => isOpen(o) && (symbol === undefined || o.symbol === symbol)).map(spotOrderJson);
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/allOrders',
    family: 'spot',
    signed: true,
    weight: w(20),
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.spotMarket(symbol);
      const mine = c.account.spotOrders.filter((o) => o.symbol === symbol);
      return page(mine, (o) => o.orderId, (o) => o.time, c.params, 'orderId', limitOf(c.params)).map(spotOrderJson);
    },
  });
  add({
    method: 'GET',
    path: '/api/v3/myTrades',
    family: 'spot',
    signed: true,
    weight: w(20),
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.spotMarket(symbol);
      const orderId = int(c.params, 'orderId');
      const mine = c.account.spotTrades.filter((t) => t.symbol === symbol && (orderId === undefined || t.orderId === orderId));
      const params = orderId === undefined ? tradeWindow(c.params, c.now, DAY_MS, false) : c.params;
      return page(mine, (t) => t.id, (t) => t.time, params, 'fromId', limitOf(c.params)).map(spotTradeJson);
    },
  });
  add({
    method: 'GET',
    path: '/sapi/v1/account/apiRestrictions',
    family: 'sapi',
    signed: true,
    weight: w(1),
    handle: (c) => restrictionsJson(c.account),
  });

  add({
    method: 'GET',
    path: '/sapi/v1/asset/tradeFee',
    family: 'sapi',
    signed: true,
    weight: w(1),
    handle: (c) => {
      const one = str(c.params, 'symbol');
      const ms = one !== undefined ? [c.engine.spotMarket(one)] : c.engine.spotMarketsList();
      return ms.map((m) => ({ symbol: m.symbol, makerCommission: plain(c.spotFees.maker), takerCommission: plain(c.spotFees.taker) }));
    },
  });

  // ── futures: general and market data ──
  // The user-data stream's key: one per account, valid 60 minutes, extended by POST or PUT.
  for (const method of ['POST', 'PUT', 'DELETE'] as const) {
    add({
      method,
      path: '/fapi/v1/listenKey',
      family: 'futures',
      signed: false,
      keyOnly: true,
      weight: w(1),
      accepts: [],
      handle: (c) =>
        method === 'POST'
          ? c.userStream.start(c.account)
          : method === 'PUT'
            ? c.userStream.keepAlive(c.account)
            : c.userStream.close(c.account),
    });
  }
  add({ method: 'GET', path: '/fapi/v1/ping', family: 'futures', signed: false, weight: w(1), handle: () => ({}) });
  add({ method: 'GET', path: '/fapi/v1/time', family: 'futures', signed: false, weight: w(1), handle: (c) => ({ serverTime: c.now }) });
  add({ method: 'GET', path: '/fapi/v1/exchangeInfo', family: 'futures', signed: false, weight: w(1), handle: (c) => c.exchangeInfo('futures') });
  const fTickerPrice = (c: RouteCtx): unknown => {
    const row = (m: MarketDef) => ({ symbol: m.symbol, price: plain(c.engine.futuresPrice(m.symbol)), time: c.now });
    const one = str(c.params, 'symbol');
    return one !== undefined ? row(c.engine.futuresMarket(one)) : c.engine.futuresMarketsList().map(row);
  };
  add({ method: 'GET', path: '/fapi/v1/ticker/price', family: 'futures', signed: false, weight: bySymbol(1, 2), accepts: ['symbol'], handle: fTickerPrice });
  add({ method: 'GET', path: '/fapi/v2/ticker/price', family: 'futures', signed: false, weight: bySymbol(1, 2), accepts: ['symbol'], handle: fTickerPrice });
  add({
    method: 'GET',
    path: '/fapi/v1/ticker/bookTicker',
    family: 'futures',
    signed: false,
    weight: bySymbol(2, 5),
    accepts: ['symbol'],
    handle: (c) => {
      const row = (m: MarketDef) => {
        const p = c.engine.futuresPrice(m.symbol);
        return {
          symbol: m.symbol,
          bidPrice: Math.max(m.tick, p - m.tick).toFixed(m.pricePrecision),
          bidQty: '10',
          askPrice: (p + m.tick).toFixed(m.pricePrecision),
          askQty: '10',
          time: c.now,
        };
      };
      const one = str(c.params, 'symbol');
      return one !== undefined ? row(c.engine.futuresMarket(one)) : c.engine.futuresMarketsList().map(row);
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/ticker/24hr',
    family: 'futures',
    signed: false,
    weight: bySymbol(1, 40),
    accepts: ['symbol'],
    handle: (c) => {
      const row = (m: MarketDef) => ticker24(m, c.engine.futuresPrice(m.symbol), c.now, false);
      const one = str(c.params, 'symbol');
      return one !== undefined ? row(c.engine.futuresMarket(one)) : c.engine.futuresMarketsList().map(row);
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/premiumIndex',
    family: 'futures',
    signed: false,
    weight: bySymbol(1, 10),
    accepts: ['symbol'],
    handle: (c) => {
      const row = (m: MarketDef) => {
        const p = plain(c.engine.futuresPrice(m.symbol));
        return {
          symbol: m.symbol,
          markPrice: p,
          indexPrice: p,
          estimatedSettlePrice: p,
          lastFundingRate: '0.00010000',
          interestRate: '0.00010000',
          nextFundingTime: Math.ceil((c.now + 1) / 28_800_000) * 28_800_000,
          time: c.now,
        };
      };
      const one = str(c.params, 'symbol');
      return one !== undefined ? row(c.engine.futuresMarket(one)) : c.engine.futuresMarketsList().map(row);
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/depth',
    family: 'futures',
    signed: false,
    weight: (p) => {
      const l = Number(p.limit ?? 500);
      return l <= 50 ? 2 : l <= 100 ? 5 : l <= 500 ? 10 : 20;
    },
    accepts: ['symbol', 'limit'],
    handle: (c) => {
      const m = c.engine.futuresMarket(need(c.params, 'symbol'));
      return { lastUpdateId: c.now, E: c.now, T: c.now, ...book(m, c.engine.futuresPrice(m.symbol), Math.min(int(c.params, 'limit') ?? 100, 100)) };
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/klines',
    family: 'futures',
    signed: false,
    weight: w(2),
    accepts: ['symbol', 'interval', 'startTime', 'endTime', 'limit'],
    handle: (c) => {
      const m = c.engine.futuresMarket(need(c.params, 'symbol'));
      return klines(m, c.engine.futuresPrice(m.symbol), c.params, c.now, c.engine.scriptedKlines.get(`futures:${m.symbol}`));
    },
  });

  // ── futures: account ──
  const account = (path: string, v: 2 | 3) =>
    add({
      method: 'GET',
      path,
      family: 'futures',
      signed: true,
      weight: w(5),
      accepts: [],
      handle: (c) => (v === 3 ? futuresAccountV3(c.engine, c.account) : futuresAccountV2(c.engine, c.account)),
    });
  account('/fapi/v2/account', 2);
  account('/fapi/v3/account', 3);
  for (const path of ['/fapi/v2/balance', '/fapi/v3/balance'])
    add({ method: 'GET', path, family: 'futures', signed: true, weight: w(5), accepts: [], handle: (c) => futuresBalanceJson(c.engine, c.account) });
  add({
    method: 'GET',
    path: '/fapi/v3/positionRisk',
    family: 'futures',
    signed: true,
    weight: w(5),
    accepts: ['symbol'],
    handle: (c) => openPositionsOrOrders(c.engine, c.account, c.params).map((p) => positionRiskV3(c.engine, c.account, p)),
  });
  add({
    method: 'GET',
    path: '/fapi/v2/positionRisk',
    family: 'futures',
    signed: true,
    weight: w(5),
    accepts: ['symbol'],
    handle: (c) => {
      const symbol = str(c.params, 'symbol');
      const acc = c.account;
      if (symbol !== undefined) {
        c.engine.futuresMarket(symbol);
        const sides = acc.hedgeMode ? (['LONG', 'SHORT'] as const) : (['BOTH'] as const);
        return sides.map((s) => positionRiskV2(c.engine, acc, c.engine.position(acc, symbol, s)));
      }
      return c.engine.positionsOf(acc).map((p) => positionRiskV2(c.engine, acc, p));
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/leverageBracket',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['symbol'],
    handle: (c) => {
      const row = (m: MarketDef) => ({ symbol: m.symbol, brackets: leverageBrackets(m) });
      const one = str(c.params, 'symbol');
      return one !== undefined ? row(c.engine.futuresMarket(one)) : c.engine.futuresMarketsList().map(row);
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/symbolConfig',
    family: 'futures',
    signed: true,
    weight: w(5),
    accepts: ['symbol'],
    handle: (c) => {
      const one = str(c.params, 'symbol');
      const ms = one !== undefined ? [c.engine.futuresMarket(one)] : c.engine.futuresMarketsList();
      return ms.map((m) => {
        const lev = c.engine.leverageOf(c.account, m.symbol);
        return {
          symbol: m.symbol,
          marginType: c.engine.marginTypeOf(c.account, m.symbol),
          isAutoAddMargin: 'false',
          leverage: lev,
          maxNotionalValue: String(c.engine.maxNotional(m, lev)),
        };
      });
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/commissionRate',
    family: 'futures',
    signed: true,
    weight: w(20),
    accepts: ['symbol'],
    handle: (c) => {
      const m = c.engine.futuresMarket(need(c.params, 'symbol'));
      return { symbol: m.symbol, makerCommissionRate: plain(c.futuresFees.maker), takerCommissionRate: plain(c.futuresFees.taker), rpiCommissionRate: '0' };
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/positionSide/dual',
    family: 'futures',
    signed: true,
    weight: w(30),
    accepts: [],
    handle: (c) => ({ dualSidePosition: c.account.hedgeMode }),
  });
  add({
    method: 'GET',
    path: '/fapi/v1/multiAssetsMargin',
    family: 'futures',
    signed: true,
    weight: w(30),
    accepts: [],
    handle: (c) => ({ multiAssetsMargin: c.account.rules.multiAssetsMargin }),
  });
  add({
    method: 'POST',
    path: '/fapi/v1/positionSide/dual',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['dualSidePosition'],
    handle: (c) => {
      const v = str(c.params, 'dualSidePosition');
      if (v !== 'true' && v !== 'false') throw missing('dualSidePosition');
      c.engine.setDualSide(c.account, v === 'true');
      return { code: 200, msg: 'success' };
    },
  });
  add({
    method: 'POST',
    path: '/fapi/v1/leverage',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['symbol', 'leverage'],
    handle: (c) => {
      const lev = int(c.params, 'leverage');
      if (lev === undefined) throw missing('leverage');
      return c.engine.setLeverage(c.account, need(c.params, 'symbol'), lev);
    },
  });
  add({
    method: 'POST',
    path: '/fapi/v1/marginType',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['symbol', 'marginType'],
    handle: (c) => {
      c.engine.setMarginType(c.account, need(c.params, 'symbol'), need(c.params, 'marginType'));
      return { code: 200, msg: 'success' };
    },
  });

  // ── futures: orders ──
  add({
    method: 'POST',
    path: '/fapi/v1/order',
    family: 'futures',
    signed: true,
    weight: w(0),
    accepts: [
      'symbol',
      'side',
      'positionSide',
      'type',
      'timeInForce',
      'quantity',
      'reduceOnly',
      'price',
      'newClientOrderId',
      'stopPrice',
      'closePosition',
      'activationPrice',
      'callbackRate',
      'workingType',
      'priceProtect',
      'newOrderRespType',
      'priceMatch',
      'selfTradePreventionMode',
      'goodTillDate',
    ],
    handle: (c) => {
      const p = c.params;
      const o = c.engine.placeFutures(
        c.account,
        {
          symbol: need(p, 'symbol'),
          side: side(p),
          type: need(p, 'type'),
          ...opt('positionSide', str(p, 'positionSide')),
          ...opt('timeInForce', str(p, 'timeInForce')),
          ...opt('quantity', num(p, 'quantity')),
          ...opt('price', num(p, 'price')),
          ...opt('reduceOnly', bool(p, 'reduceOnly')),
          ...opt('newClientOrderId', str(p, 'newClientOrderId')),
        },
        c.partial,
      );
      const json = futuresOrderJson(c.engine, o);
      if (str(p, 'newOrderRespType') !== 'RESULT') {
        // ACK (Binance's default) answers before matching: nothing executed yet as far as the caller can tell.
        const zero = (v: unknown): string => String(v).replace(/[1-9]/g, '0');
        return { ...json, status: 'NEW', executedQty: zero(json.executedQty), cumQty: zero(json.cumQty), cumQuote: '0', avgPrice: '0.00' };
      }
      return json;
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/order',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['symbol', 'orderId', 'origClientOrderId'],
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.futuresMarket(symbol);
      const ref = orderRef(c.params);
      const o = c.engine.findFutures(c.account, symbol, ref.id, ref.client);
      if (!o || c.notFound(o.time) || purgedUnfilled(o, c.now)) throw new BinanceError(-2013, 'Order does not exist.');
      return futuresOrderJson(c.engine, o);
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/openOrder',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['symbol', 'orderId', 'origClientOrderId'],
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.futuresMarket(symbol);
      const ref = orderRef(c.params);
      const o = c.engine.findFutures(c.account, symbol, ref.id, ref.client);
      if (!o || !isOpen(o) || c.notFound(o.time)) throw new BinanceError(-2013, 'Order does not exist.');
      return futuresOrderJson(c.engine, o);
    },
  });
  add({
    method: 'DELETE',
    path: '/fapi/v1/order',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['symbol', 'orderId', 'origClientOrderId'],
    handle: (c) => {
      const ref = orderRef(c.params);
      return futuresOrderJson(c.engine, c.engine.cancelFutures(c.account, need(c.params, 'symbol'), ref.id, ref.client));
    },
  });
  add({
    method: 'DELETE',
    path: '/fapi/v1/allOpenOrders',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['symbol'],
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.futuresMarket(symbol);
      for (const o of c.account.futuresOrders.filter((x) => x.symbol === symbol && isOpen(x))) c.engine.cancelFutures(c.account, symbol, o.orderId);
      return { code: 200, msg: 'The operation of cancel all open order is done.' };
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/openOrders',
    family: 'futures',
    signed: true,
    weight: bySymbol(1, 40),
    accepts: ['symbol'],
    handle: (c) => {
      const symbol = str(c.params, 'symbol');
      if (symbol !== undefined) c.engine.futuresMarket(symbol);
      return c.account.futuresOrders.filter((o) => isOpen(o) && (symbol === undefined || o.symbol === symbol)).map((o) => futuresOrderJson(c.engine, o));
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/allOrders',
    family: 'futures',
    signed: true,
    weight: w(5),
    accepts: ['symbol', 'orderId', 'startTime', 'endTime', 'limit'],
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.futuresMarket(symbol);
      const mine = c.account.futuresOrders.filter((o) => o.symbol === symbol);
      return page(mine, (o) => o.orderId, (o) => o.time, c.params, 'orderId', limitOf(c.params)).map((o) => futuresOrderJson(c.engine, o));
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/userTrades',
    family: 'futures',
    signed: true,
    weight: w(5),
    accepts: ['symbol', 'orderId', 'startTime', 'endTime', 'fromId', 'limit'],
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.futuresMarket(symbol);
      if (c.params.fromId !== undefined && (c.params.startTime !== undefined || c.params.endTime !== undefined))
        throw new BinanceError(-4161, 'fromId cannot be sent with startTime or endTime.');
      const orderId = int(c.params, 'orderId');
      const mine = c.account.futuresTrades.filter(
        (t) => t.symbol === symbol && (orderId === undefined || t.orderId === orderId) && t.time >= c.now - FUTURES_HISTORY_MS,
      );
      const params = orderId === undefined ? tradeWindow(c.params, c.now, 7 * DAY_MS, true) : c.params;
      return page(mine, (t) => t.id, (t) => t.time, params, 'fromId', limitOf(c.params)).map((t) => futuresTradeJson(c.engine, t));
    },
  });

  add({
    method: 'GET',
    path: '/fapi/v1/income',
    family: 'futures',
    signed: true,
    weight: w(30),
    accepts: ['symbol', 'incomeType', 'startTime', 'endTime', 'page', 'limit'],
    handle: (c) => {
      // Binance: neither startTime nor endTime → the last 7 days; a window holding more than limit
      // rows answers its first `limit` (oldest first); `page` walks on from there.
      const symbol = c.params.symbol;
      if (symbol !== undefined) c.engine.futuresMarket(symbol);
      const type = c.params.incomeType;
      const start = int(c.params, 'startTime') ?? (int(c.params, 'endTime') === undefined ? c.now - 7 * 86_400_000 : 0);
      const end = int(c.params, 'endTime') ?? c.now;
      const limit = limitOf(c.params, 100, 1000);
      const pageNo = Math.max(1, int(c.params, 'page') ?? 1);
      return c.account.income
        .filter((r) => (symbol === undefined || r.symbol === symbol) && (type === undefined || r.incomeType === type) && r.time >= start && r.time <= end)
        .slice((pageNo - 1) * limit, pageNo * limit)
        .map((r) => ({
          symbol: r.symbol,
          incomeType: r.incomeType,
          income: fmt(r.income),
          asset: r.asset,
          info: r.incomeType,
          time: r.time,
          tranId: r.tranId,
          tradeId: r.tradeId === null ? '' : String(r.tradeId),
        }));
    },
  });

  // ── futures: algo (conditional) orders, where ccxt sends stop-loss and take-profit ──
  add({
    method: 'POST',
    path: '/fapi/v1/algoOrder',
    family: 'futures',
    signed: true,
    weight: w(0),
    accepts: [
      'algoType',
      'symbol',
      'side',
      'positionSide',
      'type',
      'timeInForce',
      'quantity',
      'price',
      'triggerPrice',
      'workingType',
      'priceMatch',
      'closePosition',
      'priceProtect',
      'reduceOnly',
      'activatePrice',
      'callbackRate',
      'clientAlgoId',
      'newOrderRespType',
      'selfTradePreventionMode',
      'goodTillDate',
    ],
    handle: (c) => {
      const p = c.params;
      const algoType = need(p, 'algoType');
      if (algoType !== 'CONDITIONAL') throw new BinanceError(-1130, "Data sent for parameter 'algoType' is not valid.");
      const trigger = num(p, 'triggerPrice');
      if (trigger === undefined) throw missing('triggerPrice');
      const a = c.engine.placeAlgo(c.account, {
        symbol: need(p, 'symbol'),
        side: side(p),
        type: need(p, 'type'),
        triggerPrice: trigger,
        ...opt('positionSide', str(p, 'positionSide')),
        ...opt('timeInForce', str(p, 'timeInForce')),
        ...opt('quantity', num(p, 'quantity')),
        ...opt('price', num(p, 'price')),
        ...opt('reduceOnly', bool(p, 'reduceOnly')),
        ...opt('closePosition', bool(p, 'closePosition')),
        ...opt('workingType', str(p, 'workingType')),
        ...opt('priceProtect', bool(p, 'priceProtect')),
        ...opt('clientAlgoId', str(p, 'clientAlgoId')),
      });
      return algoOrderJson(c.engine, a);
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/algoOrder',
    family: 'futures',
    signed: true,
    // ccxt sends the symbol along although the endpoint only needs algoId or clientAlgoId.
    weight: w(1),
    accepts: ['algoId', 'clientAlgoId', 'symbol'],
    handle: (c) => {
      const ref = orderRef(c.params, 'algoId', 'clientAlgoId');
      const a = c.engine.findAlgo(c.account, ref.id, ref.client);
      if (!a || c.notFound(a.createTime)) throw new BinanceError(-2013, 'Order does not exist.');
      const json = algoOrderJson(c.engine, a);
      c.engine.lookedUp(a);
      return json;
    },
  });
  add({
    method: 'DELETE',
    path: '/fapi/v1/algoOrder',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['algoId', 'clientAlgoId', 'symbol'],
    handle: (c) => {
      const ref = orderRef(c.params, 'algoId', 'clientAlgoId');
      const a = c.engine.cancelAlgo(c.account, ref.id, ref.client);
      return { algoId: a.algoId, clientAlgoId: a.clientAlgoId, code: '200', msg: 'success' };
    },
  });
  add({
    method: 'DELETE',
    path: '/fapi/v1/algoOpenOrders',
    family: 'futures',
    signed: true,
    weight: w(1),
    accepts: ['symbol'],
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.futuresMarket(symbol);
      for (const a of c.account.algoOrders.filter((x) => x.symbol === symbol && x.algoStatus === 'NEW')) c.engine.cancelAlgo(c.account, a.algoId);
      return { code: 200, msg: 'The operation of cancel all open order is done.' };
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/openAlgoOrders',
    family: 'futures',
    signed: true,
    weight: bySymbol(1, 40),
    accepts: ['symbol', 'algoType', 'algoId'],
    handle: (c) => {
      const symbol = str(c.params, 'symbol');
      if (symbol !== undefined) c.engine.futuresMarket(symbol);
      return c.account.algoOrders.filter((a) => algoPending(a) && (symbol === undefined || a.symbol === symbol)).map((a) => algoOrderJson(c.engine, a));
    },
  });
  add({
    method: 'GET',
    path: '/fapi/v1/allAlgoOrders',
    family: 'futures',
    signed: true,
    weight: w(5),
    accepts: ['symbol', 'algoId', 'startTime', 'endTime', 'page', 'limit'],
    handle: (c) => {
      const symbol = need(c.params, 'symbol');
      c.engine.futuresMarket(symbol);
      const mine = c.account.algoOrders.filter((a) => a.symbol === symbol);
      return page(mine, (a) => a.algoId, (a) => a.createTime, c.params, 'algoId', limitOf(c.params, 500, 1000)).map((a) => algoOrderJson(c.engine, a));
    },
  });
  return routes;
};

const opt = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [key]: v } as { [P in K]?: V }));
