/**
 * Fault injection: which request gets which fault. Faults match on path (exact, `*`, or a prefix
 * ending in `*`), optional method and optional API key; they fire a limited number of times
 * (`count`) and/or with a probability drawn from a seeded RNG, so runs are reproducible.
 */

export type FaultKind =
  /** Adds `ms` of delay before the request is handled (combines with any other fault). */
  | 'latency'
  /** Handles the request (an order is placed) then resets the connection: the caller sees a network error. */
  | 'drop-response'
  /** Handles the request then never answers (the socket closes after `ms` if given): the caller times out. */
  | 'timeout'
  /** Answers a 5xx (`status`, default 503) before the request reaches matching. */
  | 'http-5xx'
  /** Answers 429 with Retry-After and starts the IP back-off window, as a real limit would. */
  | 'rate-limit'
  /**
   * An order placement finds its account's 10-second order count full (another client of the same
   * account spent it): 429 -1015 for that account's orders until the window ends; other accounts and
   * every read go on (Binance counts orders per account, weight per IP). A burst: each firing spends
   * the window of an account it has not hit yet (`count` accounts at most, one window each).
   */
  | 'order-rate-limit'
  /** Answers 418 with Retry-After and bans the IP for `retryAfterSec`. */
  | 'ban'
  /** Answers -1021 (timestamp outside recvWindow) before matching. */
  | 'timestamp'
  /** Lookups of an order younger than `ms` answer -2013 "Order does not exist.". */
  | 'order-not-found'
  /** Order placement fills only `ratio` of the quantity; a market remainder expires, a limit remainder rests. */
  | 'partial-fill'
  /** Answers `status` with {code, msg}; `after: true` handles the request first (e.g. -1007). */
  | 'error';

export interface FaultSpec {
  readonly kind: FaultKind;
  /** Exact request path ('/fapi/v1/order'), '*' for every path, or a prefix ending in '*'. */
  readonly path: string;
  readonly method?: string;
  readonly apiKey?: string;
  /** Fires at most this many times. */
  readonly count?: number;
  /** Chance in [0, 1] that a matching request gets the fault (default 1). */
  readonly probability?: number;
  /** latency: delay; order-not-found: window after creation; timeout: when to close the socket. */
  readonly ms?: number;
  /** rate-limit and ban: Retry-After seconds. */
  readonly retryAfterSec?: number;
  /** http-5xx and error: HTTP status. */
  readonly status?: number;
  /** error: Binance error code and message. */
  readonly code?: number;
  readonly msg?: string;
  readonly after?: boolean;
  /** partial-fill: share of the quantity filled at once (0..1). */
  readonly ratio?: number;
}

export interface ActiveFault extends FaultSpec {
  readonly id: number;
  remaining: number;
  fired: number;
  /** order-rate-limit: the accounts whose window this burst spent already. */
  readonly hit: Set<string>;
}

/** mulberry32: tiny, fast and good enough to make fault draws reproducible. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Kinds decided before the request is handled; at most one of them fires per request. */
const TERMINAL: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'drop-response',
  'timeout',
  'http-5xx',
  'rate-limit',
  'order-rate-limit',
  'ban',
  'timestamp',
  'error',
]);

export const isTerminal = (k: FaultKind): boolean => TERMINAL.has(k);

const matchesPath = (pattern: string, path: string): boolean =>
  pattern === '*' || pattern === path || (pattern.endsWith('*') && path.startsWith(pattern.slice(0, -1)));

export class Faults {
  private readonly list: ActiveFault[] = [];
  private nextId = 1;
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  add(spec: FaultSpec): ActiveFault {
    if (spec.probability !== undefined && (spec.probability < 0 || spec.probability > 1))
      throw new Error('probability must be in [0, 1]');
    const f: ActiveFault = {
      ...spec,
      id: this.nextId++,
      remaining: spec.count ?? Number.POSITIVE_INFINITY,
      fired: 0,
      hit: new Set(),
    };
    this.list.push(f);
    return f;
  }

  clear(): void {
    this.list.length = 0;
  }

  get all(): readonly ActiveFault[] {
    return this.list;
  }

  private matching(
    kindFilter: (k: FaultKind) => boolean,
    method: string,
    path: string,
    apiKey: string | undefined,
  ): ActiveFault[] {
    return this.list.filter(
      (f) =>
        f.remaining > 0 &&
        kindFilter(f.kind) &&
        matchesPath(f.path, path) &&
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.apiKey === undefined || f.apiKey === apiKey) &&
        !(f.kind === 'order-rate-limit' && apiKey !== undefined && f.hit.has(apiKey)),
    );
  }

  private fire(f: ActiveFault, apiKey?: string): ActiveFault {
    f.remaining -= 1;
    f.fired += 1;
    if (apiKey !== undefined) f.hit.add(apiKey);
    return f;
  }

  /** Sum of latency faults that fire for this request (each draws independently). */
  latency(method: string, path: string, apiKey: string | undefined): number {
    let ms = 0;
    for (const f of this.matching((k) => k === 'latency', method, path, apiKey)) {
      if (f.probability === undefined || this.random() < f.probability) ms += this.fire(f).ms ?? 0;
    }
    return ms;
  }

  /**
   * Picks at most one terminal fault with a single draw: matching faults take consecutive slices of
   * [0, 1) in injection order, so faults of 10 %, 5 % and 1 % on one path fire exactly that often.
   */
  terminal(method: string, path: string, apiKey: string | undefined): ActiveFault | undefined {
    const candidates = this.matching(isTerminal, method, path, apiKey);
    if (candidates.length === 0) return undefined;
    const u = this.random();
    let acc = 0;
    for (const f of candidates) {
      acc += f.probability ?? 1;
      if (u < acc) return this.fire(f, apiKey);
    }
    return undefined;
  }

  /** partial-fill ratio for an order placement, if such a fault fires. */
  partialFill(method: string, path: string, apiKey: string | undefined): number | undefined {
    for (const f of this.matching((k) => k === 'partial-fill', method, path, apiKey)) {
      if (f.probability === undefined || this.random() < f.probability) return this.fire(f).ratio ?? 0.5;
    }
    return undefined;
  }

  /** Whether a lookup of an order created at `createdAt` answers -2013 now. */
  notFound(
    method: string,
    path: string,
    apiKey: string | undefined,
    createdAt: number,
    now: number,
  ): boolean {
    for (const f of this.matching((k) => k === 'order-not-found', method, path, apiKey)) {
      if (now - createdAt >= (f.ms ?? 0)) continue;
      if (f.probability === undefined || this.random() < f.probability) {
        this.fire(f);
        return true;
      }
    }
    return false;
  }
}
