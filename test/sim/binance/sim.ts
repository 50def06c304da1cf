/**
 * The Binance simulator's HTTP server: request weights and per-minute windows, API-key / HMAC /
 * timestamp checks, the spot spec check, fault injection, the request log, and the /__sim/ admin
 * routes. Matching lives in engine.ts, endpoint handlers in routes.ts.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { hasShared, sharedPath } from '../../support/shared';
import { BinanceError, Engine } from './engine';
import type {
  AccountRules,
  AccountSpec,
  AlgoTriggerDelay,
  Fees,
  FuturesOrder,
  PositionSide,
  Restrictions,
  ScriptedKline,
  SpotOrder,
  AlgoOrder,
  SpotTrade,
  FuturesTrade,
  Position,
  IncomeRecord,
} from './engine';
import { Faults } from './faults';
import type { ActiveFault, FaultKind, FaultSpec } from './faults';
import { HOST_HEADER, makeFetchImplementation } from './fetch';
import { FuturesUserStream, type StreamFaults, type UserStreamStats } from './userStream';
import { ConnectionLife } from './connectionLife';
import { SpotUserStream } from './spotUserStream';
import { simSocketAgent } from './socketAgent';
import type { FetchImplementation } from './fetch';
import { buildMarkets, exchangeInfoTail } from './markets';
import type { MarketDef, RateLimitSpec } from './markets';
import { buildRoutes, RawJson } from './routes';
import type { Family, Route, RouteCtx } from './routes';
import { checkSpotParams, loadSpotSpec } from './spec';
import { ProtectionMonitor } from './protection';
import { sharedClockNow, type SharedClockSpec } from '../../support/sharedClock';
import type { SpecViolation, SpotSpec } from './spec';

export interface WeightLimits {
  readonly spot?: number;
  readonly futures?: number;
  readonly sapi?: number;
}

export interface BinanceSimOptions {
  /** How long a stream connection lives before the simulator closes it (default Binance's 24 hours). */
  readonly connectionLifeMs?: number;
  /** Injected clock (ms). Default Date.now. Mutually exclusive with manualClock. */
  readonly now?: () => number;
  /** Start a manual clock at this time; move it with advanceClock / setClock (or POST /__sim/clock). */
  readonly manualClock?: number;
  /** A clock shared with other processes (serialisable, for a simulator in a child process). */
  readonly sharedClock?: SharedClockSpec;
  /** Watch every futures position for a resting stop (GET /__sim/protection); off by default. */
  readonly watchProtection?: boolean;
  /** Wanted spot + linear market count; synthetic markets fill up to it (default: base set only). */
  readonly markets?: number;
  /** Seed of the fault RNG (default 1). */
  readonly seed?: number;
  /** REQUEST_WEIGHT per minute: one number for spot and futures, or per family (defaults 6000 / 2400 / 12000). */
  readonly weightLimit?: number | WeightLimits;
  /** Fees for both spot and futures (defaults: spot 0.1 % / 0.1 %, futures maker 0.02 % / taker 0.05 %). */
  readonly fees?: Fees;
  readonly spotFees?: Fees;
  readonly futuresFees?: Fees;
  /** Market orders fill this fraction worse than the price (default 0). */
  readonly slippage?: number;
  /** Every fill takes only this share of what remains (default: fills are complete). */
  readonly partialFillRatio?: number;
  /** Triggered algo orders sit in TRIGGERING (and then unlinked) for this long; default: placed at once. */
  readonly algoTriggerDelay?: AlgoTriggerDelay;
  /** Requests made during a Retry-After window before the IP is banned with 418 (default 2). */
  readonly banAfter?: number;
  /** Length of a 418 ban in seconds (default 120). */
  readonly banSeconds?: number;
  /**
   * Requests arriving this soon after a 429 was answered do not count toward the ban (default 0):
   * they were already on their way when it was sent. A client working many accounts at once always
   * has some in flight; "failing to back off" is what comes after it could know.
   */
  readonly banGraceMs?: number;
  /** Spot OpenAPI spec; default ../shared/specs/binance-spot-openapi.yaml when present; null turns the check off. */
  readonly specFile?: string | null;
  /** Keeps at most this many log entries (oldest dropped; default 200,000). */
  readonly logLimit?: number;
  readonly port?: number;
  readonly host?: string;
}

export interface RequestLogEntry {
  readonly seq: number;
  /** Simulator clock when the request arrived. */
  readonly time: number;
  readonly method: string;
  /** The Binance host the caller meant (api.binance.com, ...), or 'direct'. */
  readonly host: string;
  readonly path: string;
  /** Query and body parameters, without `signature`. */
  readonly params: Readonly<Record<string, string>>;
  readonly apiKey: string | undefined;
  /** HTTP status answered; 0 when the response was dropped or never sent. */
  readonly status: number;
  /** Binance error code of the answer, if any. */
  readonly code: number | undefined;
  readonly weight: number;
  /** X-MBX-USED-WEIGHT-1M after this request. */
  readonly usedWeight: number;
  readonly fault: FaultKind | undefined;
  readonly durationMs: number;
}

export interface SimOrders {
  readonly spot: readonly SpotOrder[];
  readonly futures: readonly FuturesOrder[];
  readonly algo: readonly AlgoOrder[];
}

export interface SimTrades {
  readonly spot: readonly SpotTrade[];
  readonly futures: readonly FuturesTrade[];
}

export interface SimBalances {
  readonly spot: Readonly<Record<string, { free: number; locked: number }>>;
  readonly futures: Readonly<Record<string, { wallet: number; unrealized: number; available: number }>>;
}

/** The control surface, identical in-process and over HTTP (see client.ts). */
export interface BinanceSimControl {
  addAccount(spec: AccountSpec): Promise<void> | void;
  setPrice(symbol: string, price: number, which?: 'spot' | 'futures' | 'both'): Promise<void> | void;
  inject(fault: FaultSpec): Promise<number> | number;
  clearFaults(): Promise<void> | void;
  orders(apiKey: string): Promise<SimOrders> | SimOrders;
  positions(apiKey: string): Promise<Position[]> | Position[];
  closePositionExternally(apiKey: string, symbol: string, positionSide?: PositionSide): Promise<void> | void;
  /** User-data stream faults: `disconnect`, `drop` the next events, `expire` listenKeys; answers how many. */
  streamFault(kind: 'disconnect' | 'drop' | 'expire', options?: { apiKey?: string; count?: number }): Promise<number> | number;
}

export interface BinanceSim {
  readonly port: number;
  /** http://127.0.0.1:port */
  readonly url: string;
  /** Pass to ccxt: `new ccxt.binance({ fetchImplementation: sim.fetchImplementation, ... })`. */
  readonly fetchImplementation: FetchImplementation;
  /**
   * Pass to ccxt.pro as `options.ws.options.agent`: WebSocket connections to Binance's stream hosts
   * (production URLs) are made to this simulator instead; any other host throws.
   */
  readonly socketAgent: Agent;
  /** The futures user-data stream: its faults and counters. */
  readonly userStream: StreamFaults & { readonly stats: UserStreamStats };
  /** Runs `hook` right after each spot user-data subscription is answered, in the same tick (null: none). */
  afterSpotSubscribe(hook: ((apiKey: string) => void) | null): void;
  streamFault(kind: 'disconnect' | 'drop' | 'expire', options?: { apiKey?: string; count?: number }): number;
  readonly engine: Engine;
  now(): number;
  addAccount(spec: AccountSpec): void;
  setRestrictions(apiKey: string, restrictions: Partial<Restrictions>): void;
  /** What Binance decides about the futures account: leverage limit, quantitative rules, asset mode. */
  setAccountRules(apiKey: string, rules: Partial<AccountRules>): void;
  /** For algo orders triggered from now on (see AlgoTriggerDelay); `{}` places them at once again. */
  setAlgoTriggerDelay(delay: AlgoTriggerDelay): void;
  fund(apiKey: string, wallet: 'spot' | 'futures', asset: string, amount: number): void;
  /** Fees paid in BNB at Binance's discount while the wallet holds enough BNB (spot "spotBNBBurn", futures "feeBurn"). */
  setBnbFeeBurn(apiKey: string, wallet: 'spot' | 'futures', on: boolean): void;
  /** Futures market orders fill in `parts` trades of one order, each a tick worse (a thin book); 1 = one trade. */
  setMarketSweep(parts: number): void;
  /** A funding payment on every open position of a futures symbol at the current price (see Engine.payFunding). */
  payFunding(symbol: string, rate: number): void;
  /** The account's futures income history (REALIZED_PNL, COMMISSION, FUNDING_FEE), oldest first. */
  income(apiKey: string): readonly IncomeRecord[];
  setPrice(symbol: string, price: number, which?: 'spot' | 'futures' | 'both'): void;
  setPrices(prices: Readonly<Record<string, number>>, which?: 'spot' | 'futures' | 'both'): void;
  /** Scripts the candle history `klines` serves for a market (oldest first); candles open after now are hidden. */
  setKlines(symbol: string, candles: readonly ScriptedKline[], which?: 'spot' | 'futures' | 'both'): void;
  price(symbol: string, which?: 'spot' | 'futures'): number;
  inject(fault: FaultSpec): number;
  clearFaults(): void;
  readonly faults: readonly ActiveFault[];
  readonly requestLog: readonly RequestLogEntry[];
  clearLog(): void;
  readonly specViolations: readonly SpecViolation[];
  orders(apiKey: string): SimOrders;
  trades(apiKey: string): SimTrades;
  positions(apiKey: string): Position[];
  balances(apiKey: string): SimBalances;
  closePositionExternally(apiKey: string, symbol: string, positionSide?: PositionSide): void;
  /** Used weight of the current minute per family. */
  usedWeight(family: Family): number;
  /** Weight counted per family since the simulator started (weight per minute over a run). */
  weightTotal(family: Family): number;
  /** Weight counted per "METHOD /path" since the simulator started. */
  weightByRoute(): Record<string, number>;
  /** 429 and 418 answers the IP earned (over its weight, ignoring a Retry-After, banned), injected faults not counted. */
  rateLimited(): { http429: number; http418: number };
  /** Manual clock only. */
  advanceClock(ms: number): void;
  setClock(t: number): void;
  readonly markets: {
    readonly spot: ReadonlyMap<string, MarketDef>;
    readonly futures: ReadonlyMap<string, MarketDef>;
  };
  close(): Promise<void>;
}

interface RateState {
  minute: number;
  used: number;
  retryUntil: number;
  /** When the 429 that opened the current Retry-After window was answered. */
  retrySince: number;
  banUntil: number;
  strikes: number;
}

const DEFAULT_LIMITS = { spot: 6000, futures: 2400, sapi: 12000 } as const;

const routeKey = (method: string, path: string): string => `${method} ${path}`;
/** Requests that place orders: counted against the account's ORDERS limits. */
const ORDER_PLACEMENTS = new Set([
  'POST /fapi/v1/order',
  'POST /fapi/v1/batchOrders',
  'POST /fapi/v1/algoOrder',
  'POST /api/v3/order',
  'POST /api/v3/order/oco',
  'POST /api/v3/orderList/oco',
  'POST /api/v3/orderList/oto',
  'POST /api/v3/orderList/otoco',
]);

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const withoutSignature = (raw: string): string =>
  raw
    .split('&')
    .filter((kv) => kv !== '' && !kv.startsWith('signature='))
    .join('&');

const parseParams = (query: string, body: string): Record<string, string> => {
  const out: Record<string, string> = {};
  // Binance: a parameter sent in both the query string and the body takes the query's value.
  for (const [k, v] of new URLSearchParams(body)) if (!(k in out)) out[k] = v;
  for (const [k, v] of new URLSearchParams(query)) out[k] = v;
  return out;
};

const SPOT_HOSTS = new Set(['api.binance.com', 'testnet.binance.vision', 'demo-api.binance.com']);
const FUTURES_HOSTS = new Set(['fapi.binance.com', 'testnet.binancefuture.com', 'demo-fapi.binance.com']);

const familyOfPath = (path: string): Family | undefined =>
  path.startsWith('/api/')
    ? 'spot'
    : path.startsWith('/sapi/')
      ? 'sapi'
      : path.startsWith('/fapi/')
        ? 'futures'
        : undefined;

interface Answer {
  status: number;
  body: string;
  code: number | undefined;
  headers: Record<string, string>;
}

const jsonAnswer = (status: number, value: unknown): Answer => ({
  status,
  body: value instanceof RawJson ? value.text : JSON.stringify(value),
  code: undefined,
  headers: {},
});

const errorAnswer = (status: number, code: number, msg: string): Answer => ({
  status,
  body: JSON.stringify({ code, msg }),
  code,
  headers: {},
});

export const startBinanceSim = async (opts: BinanceSimOptions = {}): Promise<BinanceSim> => {
  if (opts.now && opts.manualClock !== undefined) throw new Error('pass either now or manualClock');
  let manual = opts.manualClock;
  const shared = opts.sharedClock;
  const now =
    opts.now ??
    (manual !== undefined ? () => manual ?? 0 : shared ? () => sharedClockNow(shared) : () => Date.now());
  const markets = buildMarkets(opts.markets ?? 0);
  const spotFees = opts.spotFees ?? opts.fees ?? { maker: 0.001, taker: 0.001 };
  const futuresFees = opts.futuresFees ?? opts.fees ?? { maker: 0.0002, taker: 0.0005 };
  const engine = new Engine({
    now,
    spotMarkets: markets.spot,
    futuresMarkets: markets.futures,
    spotFees,
    futuresFees,
    slippage: opts.slippage ?? 0,
    partialFillRatio: opts.partialFillRatio,
  });
  if (opts.algoTriggerDelay) engine.algoTriggerDelay = { ...opts.algoTriggerDelay };
  const connectionLife = new ConnectionLife(now, opts.connectionLifeMs);
  const userStream = new FuturesUserStream(engine, now, connectionLife);
  const spotUserStream = new SpotUserStream(engine, now, userStream.stats, connectionLife);
  // The 24 h connection life on the simulator's clock: checked every second and before every request.
  const lifeTimer = setInterval(() => connectionLife.enforce(), 1_000);
  lifeTimer.unref();
  const wl = opts.weightLimit;
  const limits: Record<Family, number> =
    typeof wl === 'number'
      ? { spot: wl, futures: wl, sapi: Math.max(wl, DEFAULT_LIMITS.sapi) }
      : {
          spot: wl?.spot ?? DEFAULT_LIMITS.spot,
          futures: wl?.futures ?? DEFAULT_LIMITS.futures,
          sapi: wl?.sapi ?? DEFAULT_LIMITS.sapi,
        };
  const banAfter = opts.banAfter ?? 2;
  const banMs = (opts.banSeconds ?? 120) * 1000;
  const banGraceMs = opts.banGraceMs ?? 0;
  const faults = new Faults(opts.seed ?? 1);
  const specFile =
    opts.specFile === undefined
      ? hasShared
        ? sharedPath('specs', 'binance-spot-openapi.yaml')
        : null
      : opts.specFile;
  const spec: SpotSpec | null = specFile === null ? null : loadSpotSpec(specFile);
  const specViolations: SpecViolation[] = [];
  const log: RequestLogEntry[] = [];
  const logLimit = opts.logLimit ?? 200_000;
  let seq = 0;
  let cancelSeq = 0;

  const protection = opts.watchProtection ? new ProtectionMonitor(now) : null;
  const knownKeys = new Set<string>();
  const watch = (apiKey: string | undefined): void => {
    if (!protection || apiKey === undefined || !knownKeys.has(apiKey)) return;
    protection.observe(engine.account(apiKey));
  };
  const watchAll = (): void => {
    if (protection) for (const key of knownKeys) protection.observe(engine.account(key));
  };

  const rate: Record<Family, RateState> = {
    spot: { minute: 0, used: 0, retryUntil: 0, retrySince: 0, banUntil: 0, strikes: 0 },
    futures: { minute: 0, used: 0, retryUntil: 0, retrySince: 0, banUntil: 0, strikes: 0 },
    sapi: { minute: 0, used: 0, retryUntil: 0, retrySince: 0, banUntil: 0, strikes: 0 },
  };
  const weightTotals: Record<Family, number> = { spot: 0, futures: 0, sapi: 0 };
  /** Weight counted per "METHOD /path" since the start: where a run's weight goes. */
  const weightByRoute = new Map<string, number>();
  const rateLimited = { http429: 0, http418: 0 };
  const rollWindow = (f: Family, t: number): RateState => {
    const s = rate[f];
    const minute = Math.floor(t / 60_000);
    if (minute !== s.minute) {
      s.minute = minute;
      s.used = 0;
    }
    return s;
  };

  const rateLimits = (f: 'spot' | 'futures'): RateLimitSpec[] =>
    f === 'spot'
      ? [
          { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: limits.spot },
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
          { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
          { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
        ]
      : [
          { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: limits.futures },
          { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 300 },
        ];
  const infoTails: Partial<Record<'spot' | 'futures', string>> = {};
  const exchangeInfo = (f: 'spot' | 'futures'): RawJson => {
    const tail = (infoTails[f] ??= exchangeInfoTail(
      f,
      (f === 'spot' ? markets.spot : markets.futures).values(),
      rateLimits(f),
    ));
    return new RawJson(`{"timezone":"UTC","serverTime":${now()},${tail}`);
  };

  const routes = new Map<string, Route>();
  for (const r of buildRoutes()) routes.set(routeKey(r.method, r.path), r);

  const addLog = (e: Omit<RequestLogEntry, 'seq'>): void => {
    seq += 1;
    log.push({ seq, ...e });
    if (log.length > logLimit) log.splice(0, log.length - logLimit);
  };

  const rateHeaders = (f: Family): Record<string, string> => {
    const used = String(rate[f].used);
    return f === 'sapi'
      ? { 'X-SAPI-USED-IP-WEIGHT-1M': used }
      : { 'X-MBX-USED-WEIGHT-1M': used };
  };

  /**
   * Order rate limits, counted per account (API key) and family in windows aligned to the clock, as
   * Binance does (exchangeInfo's ORDERS limits). Every order placement counts; over a limit the
   * placement is refused with 429 -1015 and no Retry-After, and the account's other requests (and
   * every other account) are not affected.
   */
  const orderCounts = new Map<string, Map<number, { start: number; count: number }>>();
  const orderLimitsOf = (f: 'spot' | 'futures') =>
    rateLimits(f)
      .filter((limit) => limit.rateLimitType === 'ORDERS')
      .map((limit) => ({
        ...limit,
        windowMs:
          limit.intervalNum *
          (limit.interval === 'SECOND' ? 1_000 : limit.interval === 'MINUTE' ? 60_000 : 86_400_000),
        header: `X-MBX-ORDER-COUNT-${limit.intervalNum}${limit.interval[0]}`,
      }));
  const orderWindows = (f: 'spot' | 'futures', apiKey: string, t: number) => {
    const key = `${f}:${apiKey}`;
    let windows = orderCounts.get(key);
    if (!windows) orderCounts.set(key, (windows = new Map()));
    return orderLimitsOf(f).map((limit) => {
      const start = t - (t % limit.windowMs);
      let window = windows.get(limit.windowMs);
      if (!window || window.start !== start) windows.set(limit.windowMs, (window = { start, count: 0 }));
      return { limit, window };
    });
  };
  /** Counts one placement; the -1015 answer when a window is full, else the count headers to add. */
  const countOrder = (
    f: 'spot' | 'futures',
    apiKey: string,
    t: number,
    fillWindow: boolean,
  ): { refused: Answer } | { headers: Record<string, string> } => {
    const windows = orderWindows(f, apiKey, t);
    if (fillWindow) {
      const shortest = windows.reduce((a, b) => (b.limit.windowMs < a.limit.windowMs ? b : a));
      shortest.window.count = Math.max(shortest.window.count, shortest.limit.limit);
    }
    const full = windows.find(({ limit, window }) => window.count >= limit.limit);
    if (full)
      return {
        refused: errorAnswer(
          429,
          -1015,
          `Too many new orders; current limit is ${full.limit.limit} orders per ${full.limit.intervalNum} ${full.limit.interval}.`,
        ),
      };
    const headers: Record<string, string> = {};
    for (const { limit, window } of windows) headers[limit.header] = String((window.count += 1));
    return { headers };
  };

  const tooMany = (f: Family, t: number, until: number): Answer => {
    const a = errorAnswer(
      429,
      -1003,
      `Too many requests; current limit of IP(127.0.0.1) is ${limits[f]} requests per minute. Please use the websocket for live updates to avoid polling the API.`,
    );
    a.headers['Retry-After'] = String(Math.max(1, Math.ceil((until - t) / 1000)));
    return a;
  };
  const banned = (t: number, until: number): Answer => {
    const a = errorAnswer(
      418,
      -1003,
      `Way too many requests; IP(127.0.0.1) banned until ${until}. Please use the websocket for live updates to avoid bans.`,
    );
    a.headers['Retry-After'] = String(Math.max(1, Math.ceil((until - t) / 1000)));
    return a;
  };

  /** Authenticates a signed request; returns the account or throws the Binance error. */
  /** USER_STREAM security: the account of the API key header, nothing signed. */
  const keyOwner = (apiKey: string | undefined) => {
    if (!apiKey) throw new BinanceError(-2014, 'API-key format invalid.', 401);
    const acc = engine.accounts.get(apiKey);
    if (!acc) throw new BinanceError(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    return acc;
  };

  const authenticate = (
    req: IncomingMessage,
    params: Record<string, string>,
    rawQuery: string,
    rawBody: string,
    t: number,
  ) => {
    const key = req.headers['x-mbx-apikey'];
    const apiKey = Array.isArray(key) ? key[0] : key;
    if (!apiKey) throw new BinanceError(-2014, 'API-key format invalid.', 401);
    const acc = engine.accounts.get(apiKey);
    if (!acc) throw new BinanceError(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    const tsRaw = params.timestamp;
    if (tsRaw === undefined || !/^\d{1,20}$/.test(tsRaw))
      throw new BinanceError(
        -1102,
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
      );
    const rwRaw = params.recvWindow;
    if (rwRaw !== undefined && !/^\d{1,20}(\.\d{1,3})?$/.test(rwRaw))
      throw new BinanceError(
        -1100,
        "Illegal characters found in parameter 'recvWindow'; legal range is '^[0-9]{1,20}$'.",
      );
    const recvWindow = rwRaw === undefined ? 5000 : Number(rwRaw);
    if (recvWindow > 60_000) throw new BinanceError(-1131, 'recvWindow must be less than 60000');
    const signature = params.signature;
    if (signature === undefined)
      throw new BinanceError(
        -1102,
        "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
      );
    const payload = withoutSignature(rawQuery) + withoutSignature(rawBody);
    const expected = createHmac('sha256', acc.secret).update(payload).digest('hex');
    if (signature.toLowerCase() !== expected)
      throw new BinanceError(-1022, 'Signature for this request is not valid.');
    const ts = Number(tsRaw);
    if (ts >= t + 1000)
      throw new BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.");
    if (t - ts > recvWindow)
      throw new BinanceError(-1021, 'Timestamp for this request is outside of the recvWindow.');
    return acc;
  };

  const answer = (res: ServerResponse, a: Answer): void => {
    if (res.destroyed) return;
    const contentType =
      a.body.startsWith('{') || a.body.startsWith('[') ? 'application/json;charset=UTF-8' : 'text/html';
    res.writeHead(a.status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(a.body),
      ...a.headers,
    });
    res.end(a.body);
  };

  const handleApi = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    host: string,
  ): Promise<void> => {
    const started = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const rawQuery = url.search.slice(1);
    const rawBody = await readBody(req);
    const params = parseParams(rawQuery, rawBody);
    const keyHeader = req.headers['x-mbx-apikey'];
    const apiKey = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    const arrival = now();
    const logged = { ...params };
    delete logged.signature;
    let weight = 0;
    let fault: FaultKind | undefined;
    const family = familyOfPath(path);
    const finish = (a: Answer | null): void => {
      watch(apiKey);
      // -1015 (an account's own order count) is not the IP's limit.
      if (a && fault === undefined && a.code !== -1015) {
        if (a.status === 429) rateLimited.http429 += 1;
        else if (a.status === 418) rateLimited.http418 += 1;
      }
      if (a) {
        if (family) Object.assign(a.headers, rateHeaders(family));
        answer(res, a);
      }
      addLog({
        time: arrival,
        method,
        host,
        path,
        params: logged,
        apiKey,
        status: a?.status ?? 0,
        code: a?.code,
        weight,
        usedWeight: family ? rate[family].used : 0,
        fault,
        durationMs: performance.now() - started,
      });
    };

    const route = routes.get(routeKey(method, path));
    const wrongHost =
      host !== 'direct' &&
      ((family === 'futures' && !FUTURES_HOSTS.has(host)) ||
        ((family === 'spot' || family === 'sapi') && !SPOT_HOSTS.has(host)));
    if (!family || !route || wrongHost) {
      if (spec && (family === 'spot' || family === 'sapi') && !spec.has(routeKey(method, path)))
        specViolations.push({
          method,
          path,
          problem: 'unknown-endpoint',
          detail: `${method} ${path} is not in the spot spec`,
        });
      finish({
        status: 404,
        body: '<html><body><h2>404 Not found</h2></body></html>',
        code: undefined,
        headers: {},
      });
      return;
    }

    const latency = faults.latency(method, path, apiKey);
    if (latency > 0) await sleep(latency);
    const t = now();
    const terminal = faults.terminal(method, path, apiKey);
    const state = rollWindow(family, t);

    // IP-wide limits first: a ban, then requests that ignored a Retry-After.
    if (state.banUntil > t) {
      finish(banned(t, state.banUntil));
      return;
    }
    if (state.retryUntil > t) {
      if (t - state.retrySince >= banGraceMs) state.strikes += 1;
      if (state.strikes >= banAfter) {
        state.banUntil = t + banMs;
        finish(banned(t, state.banUntil));
      } else finish(tooMany(family, t, state.retryUntil));
      return;
    }
    state.strikes = 0;
    if (terminal?.kind === 'rate-limit') {
      fault = 'rate-limit';
      state.retryUntil = t + (terminal.retryAfterSec ?? 60) * 1000;
      state.retrySince = t;
      finish(tooMany(family, t, state.retryUntil));
      return;
    }
    if (terminal?.kind === 'ban') {
      fault = 'ban';
      state.banUntil = t + (terminal.retryAfterSec ?? banMs / 1000) * 1000;
      finish(banned(t, state.banUntil));
      return;
    }
    weight = route.weight(params);
    state.used += weight;
    weightTotals[family] += weight;
    const routeName = `${method} ${path}`;
    weightByRoute.set(routeName, (weightByRoute.get(routeName) ?? 0) + weight);
    if (state.used > limits[family]) {
      state.retryUntil = (state.minute + 1) * 60_000;
      state.retrySince = t;
      finish(tooMany(family, t, state.retryUntil));
      return;
    }
    let orderCountHeaders: Record<string, string> = {};
    if (
      ORDER_PLACEMENTS.has(routeKey(method, path)) &&
      apiKey &&
      engine.accounts.has(apiKey) &&
      family !== 'sapi'
    ) {
      const counted = countOrder(family, apiKey, t, terminal?.kind === 'order-rate-limit');
      if (terminal?.kind === 'order-rate-limit') fault = 'order-rate-limit';
      if ('refused' in counted) {
        finish(counted.refused);
        return;
      }
      orderCountHeaders = counted.headers;
    }

    if (terminal?.kind === 'http-5xx') {
      fault = 'http-5xx';
      const status = terminal.status ?? 503;
      finish(
        terminal.code !== undefined
          ? errorAnswer(
              status,
              terminal.code,
              terminal.msg ?? 'Internal error; unable to process your request. Please try again.',
            )
          : {
              status,
              body:
                status === 504 ? 'Gateway Timeout' : status === 502 ? 'Bad Gateway' : 'Service Unavailable',
              code: undefined,
              headers: {},
            },
      );
      return;
    }
    if (terminal?.kind === 'timestamp') {
      fault = 'timestamp';
      finish(errorAnswer(400, -1021, 'Timestamp for this request is outside of the recvWindow.'));
      return;
    }
    if (terminal?.kind === 'error' && terminal.after !== true) {
      fault = 'error';
      finish(
        errorAnswer(
          terminal.status ?? 400,
          terminal.code ?? -1000,
          terminal.msg ?? 'An unknown error occured while processing the request.',
        ),
      );
      return;
    }

    let result: Answer;
    try {
      const account = route.signed
        ? authenticate(req, params, rawQuery, rawBody, t)
        : route.keyOnly
          ? keyOwner(apiKey)
          : undefined;
      if (spec && (family === 'spot' || family === 'sapi')) {
        const problem = checkSpotParams(spec, method, path, params);
        if (problem) {
          specViolations.push(problem.violation);
          throw new BinanceError(problem.code, problem.msg);
        }
      } else if (route.accepts) {
        const allowed = new Set([...route.accepts, 'timestamp', 'recvWindow', 'signature']);
        const unknown = Object.keys(params).filter((k) => !allowed.has(k));
        if (unknown.length > 0) {
          specViolations.push({
            method,
            path,
            param: unknown[0] ?? '',
            problem: 'unknown-param',
            detail: `parameter(s) ${unknown.join(', ')} not accepted`,
          });
          const n = Object.keys(params).length;
          throw new BinanceError(
            -1104,
            `Not all sent parameters were read; read '${n - unknown.length}' parameter(s) but was sent '${n}'.`,
          );
        }
      }
      // Triggered algo orders whose delay has passed reach the matching engine before anything is answered.
      engine.settleTriggering();
      connectionLife.enforce();
      const partial = method === 'POST' ? faults.partialFill(method, path, apiKey) : undefined;
      const ctx: RouteCtx = {
        engine,
        params,
        get account() {
          if (!account) throw new Error(`${path} is not signed`);
          return account;
        },
        now: t,
        partial,
        notFound: (createdAt) => faults.notFound(method, path, apiKey, createdAt, now()),
        exchangeInfo,
        rateLimits,
        spotFees,
        futuresFees,
        cancelClientId: () => `cancel${String(++cancelSeq).padStart(16, '0')}`,
        userStream,
      };
      result = jsonAnswer(200, route.handle(ctx));
    } catch (e) {
      if (e instanceof BinanceError) result = errorAnswer(e.status, e.code, e.message);
      else {
        console.error('[binance sim] handler failed', method, path, e);
        result = errorAnswer(500, -1000, 'An unknown error occured while processing the request.');
      }
    }

    if (terminal?.kind === 'drop-response') {
      fault = 'drop-response';
      res.socket?.destroy();
      finish(null);
      return;
    }
    if (terminal?.kind === 'timeout') {
      fault = 'timeout';
      finish(null);
      if (terminal.ms !== undefined) setTimeout(() => res.socket?.destroy(), terminal.ms).unref();
      return;
    }
    if (terminal?.kind === 'error' && terminal.after === true) {
      fault = 'error';
      finish(
        errorAnswer(
          terminal.status ?? 400,
          terminal.code ?? -1007,
          terminal.msg ??
            'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
        ),
      );
      return;
    }
    if (result.status === 200) Object.assign(result.headers, orderCountHeaders);
    finish(result);
  };

  const sim = {} as BinanceSim;
  const admin = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    const q = (name: string): string => {
      const v =
        url.searchParams.get(name) ?? (typeof body[name] === 'string' ? (body[name] as string) : undefined);
      if (v === undefined || v === null) throw new Error(`missing ${name}`);
      return v;
    };
    const which = (v: unknown): 'spot' | 'futures' | 'both' => (v === 'spot' || v === 'futures' ? v : 'both');
    const route = `${method} ${url.pathname.slice('/__sim'.length)}`;
    let out: unknown = { ok: true };
    switch (route) {
      case 'POST /accounts':
        sim.addAccount(body as unknown as AccountSpec);
        break;
      case 'POST /restrictions':
        sim.setRestrictions(q('apiKey'), body.restrictions as Partial<Restrictions>);
        break;
      case 'POST /algo-trigger-delay':
        sim.setAlgoTriggerDelay(body as AlgoTriggerDelay);
        break;
      case 'POST /account-rules':
        sim.setAccountRules(q('apiKey'), body.rules as Partial<AccountRules>);
        break;
      case 'POST /fund':
        sim.fund(
          q('apiKey'),
          body.wallet === 'futures' ? 'futures' : 'spot',
          q('asset'),
          Number(body.amount),
        );
        break;
      case 'POST /prices':
        if (typeof body.prices === 'object' && body.prices !== null)
          sim.setPrices(body.prices as Record<string, number>, which(body.which));
        else sim.setPrice(q('symbol'), Number(body.price), which(body.which));
        break;
      case 'GET /prices': {
        const w = url.searchParams.get('which') === 'spot' ? 'spot' : 'futures';
        out = { price: sim.price(q('symbol'), w) };
        break;
      }
      case 'POST /faults':
        out = { id: sim.inject(body as unknown as FaultSpec) };
        break;
      case 'POST /stream-faults':
        out = {
          count: sim.streamFault(body.kind as 'disconnect' | 'drop' | 'expire', {
            ...(typeof body.apiKey === 'string' ? { apiKey: body.apiKey } : {}),
            ...(typeof body.count === 'number' ? { count: body.count } : {}),
          }),
        };
        break;
      case 'GET /stream-stats':
        out = { ...userStream.stats };
        break;
      case 'GET /faults':
        out = sim.faults.map((f) => ({ ...f, remaining: Number.isFinite(f.remaining) ? f.remaining : null }));
        break;
      case 'DELETE /faults':
        sim.clearFaults();
        break;
      case 'GET /log': {
        const since = Number(url.searchParams.get('since') ?? 0);
        out = log.filter((e) => e.seq > since);
        break;
      }
      case 'DELETE /log':
        sim.clearLog();
        break;
      case 'GET /spec-violations':
        out = specViolations;
        break;
      case 'GET /orders':
        out = sim.orders(q('apiKey'));
        break;
      case 'GET /trades':
        out = sim.trades(q('apiKey'));
        break;
      case 'GET /positions':
        out = sim.positions(q('apiKey'));
        break;
      case 'GET /balances':
        out = sim.balances(q('apiKey'));
        break;
      case 'POST /close-position':
        sim.closePositionExternally(q('apiKey'), q('symbol'), body.positionSide as PositionSide | undefined);
        break;
      case 'GET /clock':
        out = { now: now() };
        break;
      case 'POST /clock':
        if (typeof body.set === 'number') sim.setClock(body.set);
        if (typeof body.advanceMs === 'number') sim.advanceClock(body.advanceMs);
        out = { now: now() };
        break;
      case 'GET /protection':
        out = protection?.report() ?? null;
        break;
      case 'DELETE /protection':
        protection?.reset();
        break;
      case 'GET /books':
        // Every account's orders, positions and balances at once (the chaos benchmark's final check).
        out = [...knownKeys].map((apiKey) => ({
          apiKey,
          orders: sim.orders(apiKey),
          positions: sim.positions(apiKey),
          balances: sim.balances(apiKey),
        }));
        break;
      case 'GET /weights':
        out = {
          spot: sim.usedWeight('spot'),
          futures: sim.usedWeight('futures'),
          sapi: sim.usedWeight('sapi'),
          totals: { spot: sim.weightTotal('spot'), futures: sim.weightTotal('futures'), sapi: sim.weightTotal('sapi') },
          byRoute: sim.weightByRoute(),
          rateLimited: sim.rateLimited(),
        };
        break;
      default:
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: `unknown admin route ${route}` }));
        return;
    }
    const text = JSON.stringify(out ?? null);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const hostHeader = req.headers[HOST_HEADER];
    const host = (Array.isArray(hostHeader) ? hostHeader[0] : hostHeader) ?? 'direct';
    const work = url.pathname.startsWith('/__sim/')
      ? host === 'direct'
        ? admin(req, res, url)
        : Promise.resolve(answer(res, { status: 404, body: 'Not found', code: undefined, headers: {} }))
      : handleApi(req, res, url, host);
    work.catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        const text = JSON.stringify({ error: e instanceof Error ? e.message : String(e) });
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(text);
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  // WebSocket streams arrive on the same port with their production Host header (socketAgent.ts).
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!userStream.upgrade(req, socket, head, host) && !spotUserStream.upgrade(req, socket, head, host))
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;

  const copyOrders = (apiKey: string): SimOrders => {
    const acc = engine.account(apiKey);
    return {
      spot: acc.spotOrders.map((o) => ({ ...o })),
      futures: acc.futuresOrders.map((o) => ({ ...o })),
      algo: acc.algoOrders.map((a) => ({ ...a })),
    };
  };

  Object.assign(sim, {
    port,
    url: baseUrl,
    fetchImplementation: makeFetchImplementation(baseUrl),
    socketAgent: simSocketAgent('127.0.0.1', port),
    userStream,
    afterSpotSubscribe: (hook: ((apiKey: string) => void) | null) => {
      spotUserStream.afterSubscribe = hook;
    },
    streamFault: (kind: 'disconnect' | 'drop' | 'expire', options: { apiKey?: string; count?: number } = {}) => {
      if (kind === 'disconnect') return userStream.disconnect(options.apiKey) + spotUserStream.disconnect(options.apiKey);
      if (kind === 'expire') return userStream.expireListenKeys(options.apiKey);
      // Each stream (futures, spot) drops its next `count` events.
      userStream.dropEvents(options.count ?? 1, options.apiKey);
      spotUserStream.dropEvents(options.count ?? 1, options.apiKey);
      return options.count ?? 1;
    },
    engine,
    markets,
    now,
    addAccount: (spec: AccountSpec) => {
      engine.addAccount(spec);
      knownKeys.add(spec.apiKey);
    },
    setRestrictions: (apiKey: string, r: Partial<Restrictions>) => {
      const acc = engine.account(apiKey);
      acc.restrictions = { ...acc.restrictions, ...r };
    },
    setAlgoTriggerDelay: (delay: AlgoTriggerDelay) => {
      engine.algoTriggerDelay = { ...delay };
    },
    setAccountRules: (apiKey: string, r: Partial<AccountRules>) => {
      const acc = engine.account(apiKey);
      acc.rules = { ...acc.rules, ...r };
    },
    fund: (apiKey: string, wallet: 'spot' | 'futures', asset: string, amount: number) =>
      engine.fund(apiKey, wallet, asset, amount),
    setBnbFeeBurn: (apiKey: string, wallet: 'spot' | 'futures', on: boolean) =>
      engine.setBnbFeeBurn(apiKey, wallet, on),
    setMarketSweep: (parts: number) => {
      engine.marketSweepParts = Math.max(1, Math.floor(parts));
    },
    payFunding: (symbol: string, rate: number) => engine.payFunding(symbol, rate),
    income: (apiKey: string) => [...engine.account(apiKey).income],
    setPrice: (symbol: string, price: number, which: 'spot' | 'futures' | 'both' = 'both') => {
      engine.setPrice(symbol, price, which);
      watchAll();
    },
    setPrices: (prices: Readonly<Record<string, number>>, which: 'spot' | 'futures' | 'both' = 'both') => {
      for (const [s, p] of Object.entries(prices)) engine.setPrice(s, p, which);
      watchAll();
    },
    setKlines: (
      symbol: string,
      candles: readonly ScriptedKline[],
      which: 'spot' | 'futures' | 'both' = 'both',
    ) => {
      const sorted = [...candles].sort((a, b) => a.openTime - b.openTime);
      if (which !== 'futures') engine.scriptedKlines.set(`spot:${symbol}`, sorted);
      if (which !== 'spot') engine.scriptedKlines.set(`futures:${symbol}`, sorted);
    },
    price: (symbol: string, which: 'spot' | 'futures' = 'futures') =>
      which === 'spot' ? engine.spotPrice(symbol) : engine.futuresPrice(symbol),
    inject: (f: FaultSpec) => faults.add(f).id,
    clearFaults: () => faults.clear(),
    get faults() {
      return faults.all;
    },
    get requestLog() {
      return log;
    },
    clearLog: () => {
      log.length = 0;
    },
    get specViolations() {
      return specViolations;
    },
    orders: copyOrders,
    trades: (apiKey: string): SimTrades => {
      const acc = engine.account(apiKey);
      return { spot: [...acc.spotTrades], futures: [...acc.futuresTrades] };
    },
    positions: (apiKey: string) =>
      [...engine.account(apiKey).positions.values()].filter((p) => p.amt !== 0).map((p) => ({ ...p })),
    balances: (apiKey: string): SimBalances => {
      const acc = engine.account(apiKey);
      const futures: Record<string, { wallet: number; unrealized: number; available: number }> = {};
      for (const asset of acc.futures.keys()) {
        const v = engine.futuresView(acc, asset);
        futures[asset] = { wallet: v.wallet, unrealized: v.unrealized, available: v.available };
      }
      return { spot: Object.fromEntries([...acc.spot.entries()].map(([a, b]) => [a, { ...b }])), futures };
    },
    closePositionExternally: (apiKey: string, symbol: string, positionSide?: PositionSide) =>
      void engine.closePositionExternally(apiKey, symbol, positionSide),
    usedWeight: (f: Family) => rollWindow(f, now()).used,
    weightTotal: (f: Family) => weightTotals[f],
    weightByRoute: () => Object.fromEntries(weightByRoute),
    rateLimited: () => ({ ...rateLimited }),
    advanceClock: (ms: number) => {
      if (manual === undefined) throw new Error('advanceClock needs manualClock');
      manual += ms;
    },
    setClock: (t: number) => {
      if (manual === undefined) throw new Error('setClock needs manualClock');
      manual = t;
    },
    close: async () => {
      clearInterval(lifeTimer);
      userStream.closeAll();
      spotUserStream.closeAll();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return sim;
};
