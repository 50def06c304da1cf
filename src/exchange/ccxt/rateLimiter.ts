/**
 * One process-wide rate limiter per exchange (DESIGN.md rule 7). Binance limits by IP, not by key, so
 * a thousand account instances share one budget: per-instance token buckets (ccxt's `enableRateLimit`)
 * cannot see each other and would together overrun it. This limiter models the exchange's own windows:
 *
 * - Pools: request families with their own weight budget (Binance: `api` for /api, `sapi` for /sapi,
 *   `fapi` for USDⓈ-M futures). Each pool has fixed per-minute windows aligned to the clock, as Binance counts them.
 * - Limits come from `exchangeInfo.rateLimits` (REQUEST_WEIGHT / MINUTE) when seen; defaults until then.
 * - Before a request its weight is reserved in the current window; when the window would overflow
 *   (kept below `headroom` of the limit, for other processes on the same IP and for our estimates) the
 *   request waits for the next window, FIFO within its lane, up to `maxWaitMs`, else it fails as
 *   rate-limited.
 * - Three lanes, each FIFO: writes (orders, cancels: a stop is one of them), then a signal's reads,
 *   then background reads (requestLane.ts). A lane never takes room a higher lane is waiting for;
 *   background reads use at most `backgroundShare` of the budget, so the rest of every minute stays
 *   free for signals whatever the background load. A request that costs no weight (a futures
 *   order: the exchange counts it per account) never waits behind anyone.
 * - After each answer the exchange's own count (`X-MBX-USED-WEIGHT-1M`) replaces our estimate when
 *   higher: it also counts what other processes on this IP spent. Only an answer to a request sent in
 *   the current window counts (one sent before it may carry the last window's count).
 * - A 429 or 418 with Retry-After blocks the WHOLE exchange (every pool, every account) until it
 *   expires; requests during the block fail at once as rate-limited without leaving the process.
 *   Except Binance's -1015, an account's own order count: that closes the account's order gate only
 *   (orderRateLimit.ts).
 *
 * Time and sleeping are injected, so the unit tests drive it with a fake clock.
 */
import { ExchangeError } from '../errors';
import type { RequestLane } from '../requestLane';

/** A request's lane in the limiter: writes (orders, cancels) first, then the two read lanes. */
export type LimiterLane = 'write' | RequestLane;
const LANE_RANK = { write: 0, signal: 1, background: 2 } as const satisfies Record<LimiterLane, number>;

export interface RateLimitPoolConfig {
  /** Weight allowed per window. */
  limit: number;
  /** Window length (ms); Binance REQUEST_WEIGHT windows are one minute. */
  windowMs: number;
}

export interface RateLimiterOptions {
  exchangeId: string;
  pools: Record<string, RateLimitPoolConfig>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Share of the limit we allow ourselves (default 0.9). */
  headroom?: number;
  /** Longest wait for a window with room before failing as rate-limited (default 60 s). */
  maxWaitMs?: number;
  /**
   * Share of the budget (after headroom) background requests may use (default 0.6): the rest of each
   * minute stays free for signals, whatever the background load.
   */
  backgroundShare?: number;
  /** Wait after a 429/418 without Retry-After (default: until the window ends, at least 1 s). */
  defaultBanMs?: number;
  /** Called when the exchange asked this process to back off (429/418) for `ms`, to tell its peers. */
  onBackOff?: (ms: number) => void;
}

interface PoolState {
  config: RateLimitPoolConfig;
  windowStart: number;
  used: number;
  /** Weight asked for and not yet reserved, per lane (LANE_RANK): lower lanes leave room for it. */
  waiting: number[];
  /**
   * Per lane: the window its head request gave up on (it waits for the next one). A lane that cannot
   * be served in this window keeps no room in it: lower lanes may use what it could not.
   */
  deferred: number[];
}

export interface RateLimiterSnapshot {
  blockedUntil: number;
  pools: Record<string, { limit: number; used: number; windowStart: number }>;
}

export class ExchangeRateLimiter {
  readonly exchangeId: string;
  private readonly pools = new Map<string, PoolState>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly headroom: number;
  private readonly backgroundShare: number;
  private readonly maxWaitMs: number;
  private readonly defaultBanMs: number | undefined;
  private readonly onBackOff: ((ms: number) => void) | undefined;
  private blockedUntil = 0;
  /**
   * FIFO per pool and lane: each acquire chains on the previous one of its lane, so a waiting request
   * is never overtaken by a later one of the same lane.
   */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(options: RateLimiterOptions) {
    this.exchangeId = options.exchangeId;
    this.now = options.now;
    this.sleep = options.sleep;
    this.headroom = options.headroom ?? 0.9;
    this.backgroundShare = Math.min(1, Math.max(0.1, options.backgroundShare ?? 0.6));
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.defaultBanMs = options.defaultBanMs;
    this.onBackOff = options.onBackOff;
    for (const [name, config] of Object.entries(options.pools)) {
      this.pools.set(name, newPool(config));
    }
  }

  private pool(name: string): PoolState {
    let state = this.pools.get(name);
    if (!state) {
      // An unknown family gets the smallest known budget: cautious, never unlimited.
      const smallest = [...this.pools.values()].reduce<RateLimitPoolConfig | undefined>(
        (min, p) => (min === undefined || p.config.limit < min.limit ? p.config : min),
        undefined,
      );
      state = newPool(smallest ?? { limit: 1200, windowMs: 60_000 });
      this.pools.set(name, state);
    }
    return state;
  }

  private roll(state: PoolState, at: number): void {
    const start = at - (at % state.config.windowMs);
    if (start !== state.windowStart) {
      state.windowStart = start;
      state.used = 0;
    }
  }

  /** The limiter's clock (a request's send time, for observe()). */
  time(): number {
    return this.now();
  }

  /** Milliseconds until the exchange-wide block ends (0 when not blocked). */
  blockedForMs(): number {
    return Math.max(0, this.blockedUntil - this.now());
  }

  private blockedError(waitMs: number): ExchangeError {
    return new ExchangeError(
      'rate-limited',
      `${this.exchangeId}: the exchange asked us to back off; no request is sent for ${Math.ceil(waitMs / 1000)} s`,
      { retryAfterMs: waitMs },
    );
  }

  /**
   * Reserves `weight` in `poolName`'s current window, waiting for the next window when full.
   * Throws ExchangeError('rate-limited') while the exchange is blocked, or when the request could not
   * be placed within `maxWaitMs` of asking (its wait in the lane's queue counts too).
   */
  acquire(poolName: string, weight: number, lane: LimiterLane = 'signal'): Promise<void> {
    const cost = Math.max(0, weight);
    if (cost === 0) {
      // Nothing to reserve: only a back-off the exchange asked for holds it.
      const blockedFor = this.blockedUntil - this.now();
      return blockedFor > 0 ? Promise.reject(this.blockedError(blockedFor)) : Promise.resolve();
    }
    const state = this.pool(poolName);
    const rank = LANE_RANK[lane];
    const deadline = this.now() + this.maxWaitMs;
    state.waiting[rank] = (state.waiting[rank] ?? 0) + cost;
    const key = `${poolName}:${lane}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const turn = previous.then(() => this.reserve(state, cost, rank, deadline));
    // Placed: reserve() moved the weight from waiting to used in one step. Refused: no longer waiting.
    const settled = turn.catch((error: unknown) => {
      state.waiting[rank] = (state.waiting[rank] ?? 0) - cost;
      throw error;
    });
    // The next caller waits for this one to be placed, whatever its outcome.
    this.queues.set(
      key,
      settled.catch(() => undefined),
    );
    return settled;
  }

  private async reserve(state: PoolState, cost: number, rank: number, deadline: number): Promise<void> {
    for (;;) {
      const at = this.now();
      const blockedFor = this.blockedUntil - at;
      if (blockedFor > 0) throw this.blockedError(blockedFor);
      this.roll(state, at);
      const whole = Math.max(1, Math.floor(state.config.limit * this.headroom));
      const budget = rank === LANE_RANK.background ? Math.max(1, Math.floor(whole * this.backgroundShare)) : whole;
      // Room the higher lanes are waiting for in this window is not this request's to take.
      const ahead = state.waiting
        .slice(0, rank)
        .reduce((sum, w, lane) => sum + (state.deferred[lane] === state.windowStart ? 0 : w), 0);
      // A request heavier than a whole budget still goes alone into an empty window.
      if (state.used + ahead + cost <= budget || (state.used === 0 && ahead === 0)) {
        // In one step, so no other lane sees this weight both used and still waiting.
        state.used += cost;
        state.waiting[rank] = (state.waiting[rank] ?? 0) - cost;
        return;
      }
      const wait = state.windowStart + state.config.windowMs - at;
      if (at + wait > deadline) throw this.budgetError(state, wait);
      state.deferred[rank] = state.windowStart;
      await this.sleep(Math.max(1, wait));
    }
  }

  private budgetError(state: PoolState, retryAfterMs: number): ExchangeError {
    return new ExchangeError(
      'rate-limited',
      `${this.exchangeId}: request weight budget of this minute is spent (${state.used}/${state.config.limit})`,
      { retryAfterMs },
    );
  }

  /**
   * Feeds one answer back: the used-weight header, and 429/418 with Retry-After. `ipWide: false` is a
   * 429 that is one account's (its order count, -1015): the weight is learnt, nothing is blocked.
   */
  observe(
    poolName: string,
    status: number,
    headers: { get(name: string): string | null },
    options: { ipWide?: boolean; sentAt?: number } = {},
  ): void {
    const at = this.now();
    const state = this.pool(poolName);
    this.roll(state, at);
    // An answer to a request sent in an earlier window may carry that window's count: it says nothing
    // of this one (taken as this one's, a busy minute's count would fill the next minute at its start).
    const sameWindow = options.sentAt === undefined || options.sentAt >= state.windowStart;
    // /sapi counts in its own IP budget and says so in its own header.
    const usedHeader =
      poolName === 'sapi'
        ? headers.get('x-sapi-used-ip-weight-1m')
        : (headers.get('x-mbx-used-weight-1m') ?? headers.get('x-mbx-used-weight'));
    const used = usedHeader === null ? NaN : Number(usedHeader);
    if (sameWindow && Number.isFinite(used) && used > state.used) state.used = used;
    if ((status === 429 && options.ipWide !== false) || status === 418) {
      const retryAfter = parseRetryAfter(headers.get('retry-after'), at);
      const fallback = this.defaultBanMs ?? Math.max(1000, state.windowStart + state.config.windowMs - at);
      // Retry-After is the exchange's own word on when requests may resume; the weight window is not
      // filled up as well, or a 2 s back-off would become a wait for the next minute.
      const ms = retryAfter ?? fallback;
      this.block(ms);
      // The ban counts per IP: other processes on this IP must stop too, not learn it from their own 429s.
      this.onBackOff?.(ms);
    }
  }

  /** Blocks every request to this exchange for `ms` (longest block wins). */
  block(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }

  /** Sets a pool's limit (from exchangeInfo.rateLimits). */
  setLimit(poolName: string, limit: number, windowMs = 60_000): void {
    if (!Number.isFinite(limit) || limit <= 0) return;
    const state = this.pool(poolName);
    state.config = { limit, windowMs };
  }

  snapshot(): RateLimiterSnapshot {
    const pools: RateLimiterSnapshot['pools'] = {};
    for (const [name, state] of this.pools) {
      pools[name] = { limit: state.config.limit, used: state.used, windowStart: state.windowStart };
    }
    return { blockedUntil: this.blockedUntil, pools };
  }
}

const newPool = (config: RateLimitPoolConfig): PoolState => ({
  config: { ...config },
  windowStart: 0,
  used: 0,
  waiting: [0, 0, 0],
  deferred: [-1, -1, -1],
});

/** Retry-After is seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : null;
}

/** exchangeInfo.rateLimits → REQUEST_WEIGHT per window, or null. */
export function requestWeightLimit(rateLimits: unknown): { limit: number; windowMs: number } | null {
  if (!Array.isArray(rateLimits)) return null;
  const unitMs: Record<string, number> = { SECOND: 1000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };
  for (const entry of rateLimits as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    if (e.rateLimitType !== 'REQUEST_WEIGHT') continue;
    const unit = typeof e.interval === 'string' ? unitMs[e.interval] : undefined;
    const num = Number(e.intervalNum ?? 1);
    const limit = Number(e.limit);
    if (unit === undefined || !Number.isFinite(num) || !Number.isFinite(limit)) continue;
    return { limit, windowMs: unit * num };
  }
  return null;
}

/**
 * Which pool and weight a request belongs to. Binance's weights for the endpoints this bot uses
 * (developers.binance.com, 2025); anything else costs 1 in its family's pool.
 */
export interface RequestCost {
  pool: string;
  weight: number;
}

const BINANCE_WEIGHTS: ReadonlyArray<
  [method: string, path: RegExp, weight: number | ((q: URLSearchParams) => number)]
> = [
  ['GET', /^\/api\/v3\/exchangeInfo$/, 20],
  ['GET', /^\/api\/v3\/account$/, 20],
  ['GET', /^\/api\/v3\/openOrders$/, (q) => (q.has('symbol') ? 6 : 80)],
  ['GET', /^\/api\/v3\/myTrades$/, 20],
  ['GET', /^\/api\/v3\/order$/, 4],
  ['GET', /^\/api\/v3\/ticker\/bookTicker$/, (q) => (q.has('symbol') ? 2 : 4)],
  ['GET', /^\/api\/v3\/ticker\/24hr$/, (q) => (q.has('symbol') ? 2 : 80)],
  ['GET', /^\/api\/v3\/ticker\/price$/, (q) => (q.has('symbol') ? 2 : 4)],
  ['GET', /^\/fapi\/v1\/exchangeInfo$/, 1],
  ['GET', /^\/fapi\/v[23]\/account$/, 5],
  ['GET', /^\/fapi\/v[23]\/balance$/, 5],
  ['GET', /^\/fapi\/v[23]\/positionRisk$/, 5],
  ['GET', /^\/fapi\/v[12]\/ticker\/price$/, (q) => (q.has('symbol') ? 1 : 2)],
  ['GET', /^\/fapi\/v1\/openOrders$/, (q) => (q.has('symbol') ? 1 : 40)],
  ['GET', /^\/fapi\/v1\/openAlgoOrders$/, (q) => (q.has('symbol') ? 1 : 40)],
  ['GET', /^\/fapi\/v1\/userTrades$/, 5],
  ['GET', /^\/fapi\/v1\/income$/, 30],
  ['GET', /^\/fapi\/v1\/leverageBracket$/, 1],
  ['GET', /^\/fapi\/v1\/ticker\/24hr$/, (q) => (q.has('symbol') ? 1 : 40)],
  ['GET', /^\/fapi\/v1\/ticker\/bookTicker$/, (q) => (q.has('symbol') ? 2 : 5)],
  ['GET', /^\/fapi\/v1\/positionSide\/dual$/, 30],
  ['GET', /^\/fapi\/v1\/multiAssetsMargin$/, 30],
  ['GET', /^\/fapi\/v1\/symbolConfig$/, 5],
  // Futures orders cost no IP weight: they count against each account's own order-rate limits,
  // which the exchange enforces per account, not per IP.
  ['POST', /^\/fapi\/v1\/order$/, 0],
  ['POST', /^\/fapi\/v1\/algoOrder$/, 0],
  ['POST', /^\/fapi\/v1\/batchOrders$/, 5],
];

export function binanceRequestCost(method: string, url: URL): RequestCost {
  const path = url.pathname;
  const pool = path.startsWith('/fapi/') || path.startsWith('/futures/') ? 'fapi' : path.startsWith('/sapi/') ? 'sapi' : 'api';
  const upper = method.toUpperCase();
  for (const [m, pattern, weight] of BINANCE_WEIGHTS) {
    if (m === upper && pattern.test(path))
      return { pool, weight: typeof weight === 'number' ? weight : weight(url.searchParams) };
  }
  return { pool, weight: 1 };
}

/** Default budgets before exchangeInfo is seen (Binance's published 2025 limits). */
export const BINANCE_POOLS: Record<string, RateLimitPoolConfig> = {
  api: { limit: 6000, windowMs: 60_000 },
  fapi: { limit: 2400, windowMs: 60_000 },
  // /sapi's IP budget, apart from /api's (X-SAPI-USED-IP-WEIGHT-1M).
  sapi: { limit: 12_000, windowMs: 60_000 },
};

/** Exchanges without a modelled weight table: one pool, a conservative request count per minute. */
export const GENERIC_POOLS: Record<string, RateLimitPoolConfig> = {
  default: { limit: 600, windowMs: 60_000 },
};

export function requestCost(exchangeId: string, method: string, url: URL): RequestCost {
  if (exchangeId === 'binance' || exchangeId === 'binanceusdm') return binanceRequestCost(method, url);
  return { pool: 'default', weight: 1 };
}

/** binance and binanceusdm are one exchange behind one IP budget. */
export const rateLimitKey = (exchangeId: string): string =>
  exchangeId.startsWith('binance') ? 'binance' : exchangeId;

/**
 * Limiters by exchange. The process has ONE registry (`processRateLimiters`), so every account
 * instance of an exchange shares one limiter; tests make their own registry with a fake clock.
 * Modes share the limiter too (demo hosts have their own budget in reality; sharing errs on the safe side).
 */
export class RateLimiterRegistry {
  private readonly limiters = new Map<string, ExchangeRateLimiter>();

  constructor(
    private readonly clock: { now: () => number; sleep: (ms: number) => Promise<void> } = {
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    private readonly overrides: Partial<
      Pick<RateLimiterOptions, 'headroom' | 'maxWaitMs' | 'defaultBanMs'>
    > = {},
    /** Several processes on one IP: a back-off the exchange asked of this one, to pass on to the others. */
    private readonly onBackOff?: (exchangeId: string, ms: number) => void,
  ) {}

  /** A peer process on this IP was asked to back off: so is this one (not passed on again). */
  backOffFromPeer(exchangeId: string, ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.get(exchangeId).block(ms);
  }

  get(exchangeId: string): ExchangeRateLimiter {
    const key = rateLimitKey(exchangeId);
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new ExchangeRateLimiter({
        exchangeId: key,
        pools: key === 'binance' ? BINANCE_POOLS : GENERIC_POOLS,
        now: this.clock.now,
        sleep: this.clock.sleep,
        ...this.overrides,
        ...(this.onBackOff ? { onBackOff: (ms: number) => this.onBackOff!(key, ms) } : {}),
      });
      this.limiters.set(key, limiter);
    }
    return limiter;
  }
}

/** THE process-wide registry. */
export const processRateLimiters = new RateLimiterRegistry();
