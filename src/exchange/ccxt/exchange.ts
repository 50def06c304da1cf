/**
 * Building ccxt instances the one safe way: our subclass of the exchange's class (which records the
 * HTTP status and body behind every error for translate.ts), `verbose` pinned off, ccxt's own retries
 * and token bucket off, and every request going through `guardedFetch`: a host allow-list, then the
 * exchange's shared rate limiter, then the transport (Node's fetch, or the simulator's in tests).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Agent } from 'node:http';
import ccxt from 'ccxt';
import type { Exchange } from 'ccxt';
import type { MarketType, TradingMode } from '../../domain/account';
import { ExchangeError } from '../errors';
import { currentLane } from '../requestLane';
import {
  AccountOrderGate,
  isOrderCountRefusal,
  isOrderPlacement,
  orderCountRefusalMs,
} from './orderRateLimit';
import { annotateError } from './translate';
import { parseRetryAfter, requestCost, requestWeightLimit } from './rateLimiter';
import type { ExchangeRateLimiter } from './rateLimiter';
import { plainHeaders, type FetchImplementation } from './transport';

export type { FetchImplementation, FetchInit } from './transport';

export type ExchangeConstructor = new (config?: Record<string, unknown>) => Exchange;

const subclasses = new Map<string, ExchangeConstructor>();

/** The stamp hook of the order being placed in this async context (ExchangeGateway.placeOrder). */
const orderStamps = new AsyncLocalStorage<(exchangeTimeMs: number) => Promise<void>>();

/**
 * How far ahead of the exchange clock an order's stamp is set: the request is signed right after the
 * stamp is persisted, so the stamp is an upper bound of the signed timestamp as long as persisting it
 * took less than this (checked; a slower write means the request is not sent).
 */
export const STAMP_SLACK_MS = 1_000;

/** Runs `place` (one order's ccxt call) so that its requests are stamped through `onStamp` before they leave. */
export function withOrderStamp<T>(
  onStamp: ((exchangeTimeMs: number) => Promise<void>) | undefined,
  place: () => Promise<T>,
): Promise<T> {
  return onStamp ? orderStamps.run(onStamp, place) : place();
}

/** Exchange ids ccxt lists (REST classes). */
export const ccxtExchangeIds = (): readonly string[] => ccxt.exchanges;

export function isListed(exchangeId: string): boolean {
  return (
    ccxt.exchanges.includes(exchangeId) &&
    typeof (ccxt as unknown as Record<string, unknown>)[exchangeId] === 'function'
  );
}

/** Whether ccxt.pro has a streaming class for `exchangeId`. */
export function hasProClass(exchangeId: string): boolean {
  return typeof (ccxt.pro as unknown as Record<string, unknown>)[exchangeId] === 'function';
}

/**
 * Our subclass of ccxt's class for `exchangeId`, made once per id and flavour (the prototype is shared
 * by every instance, so the hooks cost nothing per account). `pro` is ccxt.pro's class (REST and
 * WebSocket streams): its REST requests (a listenKey) go through the same guard as the others.
 */
export function exchangeClass(exchangeId: string, flavour: 'rest' | 'pro' = 'rest'): ExchangeConstructor {
  const cacheKey = flavour === 'pro' ? `pro:${exchangeId}` : exchangeId;
  const cached = subclasses.get(cacheKey);
  if (cached) return cached;
  if (!isListed(exchangeId) || (flavour === 'pro' && !hasProClass(exchangeId)))
    throw new ExchangeError('not-supported', `${exchangeId} is not an exchange ccxt${flavour === 'pro' ? '.pro' : ''} supports`);
  const Base = (
    flavour === 'pro'
      ? (ccxt.pro as unknown as Record<string, ExchangeConstructor>)[exchangeId]
      : (ccxt as unknown as Record<string, ExchangeConstructor>)[exchangeId]
  ) as ExchangeConstructor;
  class Guarded extends Base {
    /** Set from the constructor config: the process-wide limiter of this exchange. */
    declare sharedRateLimiter: ExchangeRateLimiter | undefined;
    /** Set from the constructor config: this account's order gate (closed by a -1015). */
    declare accountOrderGate: AccountOrderGate | undefined;

    /**
     * Waits for the shared limiter BEFORE ccxt signs the request: a request that waited after
     * signing could reach the exchange outside its recvWindow and be refused (-1021).
     */
    override async fetch2(
      path: unknown,
      api: unknown = 'public',
      method = 'GET',
      params: Record<string, unknown> = {},
      headers: unknown = undefined,
      body: unknown = undefined,
      config: Record<string, unknown> = {},
    ): Promise<unknown> {
      const limiter = this.sharedRateLimiter;
      const base = (this.urls as { api?: Record<string, unknown> }).api?.[
        Array.isArray(api) ? String(api[0]) : String(api)
      ];
      const url = typeof base === 'string' ? new URL(`${base}/${String(path)}`) : null;
      // The parameters price the request ("with symbol" is often 1 where "all symbols" is 40): ccxt
      // puts them into the URL only when it signs, after this wait.
      if (url) for (const [name, value] of Object.entries(params ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
      const closedForMs = this.accountOrderGate?.closedForMs() ?? 0;
      if (closedForMs > 0 && url && isOrderPlacement(method, url)) {
        // Nothing is sent (or stamped): the exchange refuses this account's orders until its window ends.
        throw new ExchangeError(
          'rate-limited',
          `${exchangeId}: this account's order rate limit is spent; no order is sent for ${Math.ceil(closedForMs / 1000)} s`,
          {
            retryAfterMs: closedForMs,
          },
        );
      }
      if (limiter) {
        const cost = url ? requestCost(exchangeId, method, url) : { pool: 'default', weight: 1 };
        // Writes (orders, cancels, leverage) have the first lane: a stop never waits behind reads.
        await limiter.acquire(cost.pool, cost.weight, method.toUpperCase() === 'GET' ? currentLane() : 'write');
      }
      const stamp = orderStamps.getStore();
      if (stamp) {
        // After the wait for budget (a queued wait is not exchange time), before signing: the stamp
        // the order-safety protocol judges "too late to be accepted" by. ccxt signs with
        // milliseconds() - options.timeDifference (the exchange's clock as ccxt knows it).
        const exchangeNow = () =>
          this.milliseconds() - Number((this.options as { timeDifference?: unknown }).timeDifference ?? 0);
        const stampAt = exchangeNow() + STAMP_SLACK_MS;
        await stamp(stampAt);
        if (exchangeNow() >= stampAt) {
          throw new ExchangeError(
            'retryable',
            `${exchangeId}: the order's send stamp took too long to record; the order was not sent`,
          );
        }
      }
      return super.fetch2(path, api, method, params, headers, body, config);
    }

    override handleErrors(
      code: number,
      reason: string,
      url: string,
      method: string,
      headers: Record<string, unknown>,
      body: string,
      response: unknown,
      requestHeaders: unknown,
      requestBody: unknown,
    ): undefined {
      try {
        return super.handleErrors(
          code,
          reason,
          url,
          method,
          headers,
          body,
          response,
          requestHeaders,
          requestBody,
        );
      } catch (error) {
        const header = headers['Retry-After'];
        // An order-count refusal names its window instead of a Retry-After; the window is the
        // exchange's, so it is placed on our estimate of the exchange's clock. It closes this
        // account's order gate until then (guardedFetch kept it from backing off the whole IP).
        const exchangeNow =
          this.milliseconds() - Number((this.options as { timeDifference?: unknown }).timeDifference ?? 0);
        const accountWindowMs = code === 429 ? orderCountRefusalMs(body, exchangeNow) : null;
        if (accountWindowMs !== null) this.accountOrderGate?.close(accountWindowMs);
        const retryAfter =
          parseRetryAfter(typeof header === 'string' ? header : null, Date.now()) ?? accountWindowMs;
        annotateError(error, {
          status: code,
          body,
          ...(retryAfter === null ? {} : { retryAfterMs: retryAfter }),
        });
        throw error;
      }
    }

    override handleHttpStatusCode(
      code: number,
      reason: string,
      url: string,
      method: string,
      body: string,
    ): void {
      try {
        super.handleHttpStatusCode(code, reason, url, method, body);
      } catch (error) {
        annotateError(error, { status: code, body });
        throw error;
      }
    }
  }
  const ctor = Guarded as unknown as ExchangeConstructor;
  subclasses.set(cacheKey, ctor);
  return ctor;
}

/** Every host the instance may talk to, from its own URL table (after demo / sandbox switching). */
export function apiHosts(exchange: Exchange): Set<string> {
  const hosts = new Set<string>();
  const hostname = typeof exchange.hostname === 'string' ? exchange.hostname : 'x';
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      try {
        const url = new URL(value.replace('{hostname}', hostname).replace(/\{[^}]+\}/g, 'x'));
        if (url.protocol === 'https:') hosts.add(url.hostname);
      } catch {
        // not a URL (a doc string); ignore
      }
    } else if (typeof value === 'object' && value !== null) {
      for (const inner of Object.values(value)) visit(inner);
    }
  };
  visit((exchange.urls as Record<string, unknown>)['api']);
  return hosts;
}

export interface GuardedFetchOptions {
  exchangeId: string;
  limiter: ExchangeRateLimiter;
  inner: FetchImplementation;
  /** Filled after construction (the instance's own URL table). */
  hosts: () => ReadonlySet<string>;
}

/** The fetch every ccxt instance uses: allow-list → shared limiter → transport → limiter feedback. */
export function guardedFetch(options: GuardedFetchOptions): FetchImplementation {
  const { exchangeId, limiter, inner } = options;
  return async (input, init) => {
    const url = new URL(String(input));
    if (url.protocol !== 'https:' || !options.hosts().has(url.hostname)) {
      // Nothing was sent: a definite refusal, never retried.
      throw new ExchangeError(
        'not-supported',
        `${exchangeId}: refusing to send a request to ${url.hostname}: not one of its API hosts`,
      );
    }
    const method = (init?.method ?? 'GET').toUpperCase();
    const cost = requestCost(exchangeId, method, url);
    // The wait for budget happened before signing (Guarded.fetch2); here we only learn from the answer.
    const sentAt = limiter.time();
    const response = await inner(url.href, {
      method,
      headers: plainHeaders(init?.headers),
      body: init?.body ?? null,
      signal: init?.signal ?? null,
    });
    if (response.status === 429) {
      // Whose limit: the account's order count (-1015, its gate is closed by handleErrors) or the IP's.
      const body = await response.text();
      limiter.observe(cost.pool, response.status, response.headers, { ipWide: !isOrderCountRefusal(body), sentAt });
      return {
        status: response.status,
        statusText: response.statusText,
        ok: response.ok,
        headers: response.headers,
        text: () => Promise.resolve(body),
      };
    }
    limiter.observe(cost.pool, response.status, response.headers, { sentAt });
    if (response.ok && /\/exchangeInfo$/.test(url.pathname)) {
      // The exchange's own budget (REQUEST_WEIGHT per minute) replaces our default. The body is read
      // once here and handed on, as a body can be read only once.
      const body = await response.text();
      try {
        const limit = requestWeightLimit((JSON.parse(body) as { rateLimits?: unknown }).rateLimits);
        if (limit) limiter.setLimit(cost.pool, limit.limit, limit.windowMs);
      } catch {
        // ccxt reports a bad body itself
      }
      return {
        status: response.status,
        statusText: response.statusText,
        ok: response.ok,
        headers: response.headers,
        text: () => Promise.resolve(body),
      };
    }
    return response;
  };
}

export interface Credentials {
  apiKey: string;
  secret: string;
  password?: string;
}

export interface BuildOptions {
  exchangeId: string;
  mode: Exclude<TradingMode, 'paper'>;
  marketType: MarketType;
  limiter: ExchangeRateLimiter;
  fetchImplementation: FetchImplementation;
  credentials?: Credentials;
  timeoutMs?: number;
  /** The clock signed requests carry (the engine's injected clock; Date.now in production). */
  now?: () => number;
  /** How long a signed request stays valid (Binance allows up to 60 s; ccxt's default otherwise). */
  recvWindowMs?: number;
  /**
   * A ccxt.pro instance (user-data streams). `socketAgent` carries its WebSocket connections: unset in
   * production (TLS to the exchange); tests and benchmarks wire the simulator's here, in code.
   */
  streaming?: { socketAgent?: Agent };
}

/** How an exchange offers a practice account in ccxt. */
export type DemoKind = 'demo-trading' | 'sandbox' | 'none';

export function demoKindOf(exchange: Exchange): DemoKind {
  const urls = exchange.urls as Record<string, unknown>;
  // Classes with their own enableDemoTrading (binance, bybit, bitget) or a `demo` URL table have one.
  const ownDemo = exchange.enableDemoTrading !== ccxt.Exchange.prototype.enableDemoTrading;
  if (ownDemo || (typeof urls['demo'] === 'object' && urls['demo'] !== null)) return 'demo-trading';
  if (typeof urls['test'] === 'object' && urls['test'] !== null) return 'sandbox';
  return 'none';
}

/**
 * A ccxt instance for one account (or, without credentials, the keyless market-data instance).
 * Markets are NOT loaded here: account instances get the shared ones (markets.ts).
 */
export function buildExchange(options: BuildOptions): Exchange {
  const { exchangeId, marketType } = options;
  const Ctor = exchangeClass(exchangeId, options.streaming ? 'pro' : 'rest');
  let hosts: ReadonlySet<string> = new Set();
  const orderGate = new AccountOrderGate(options.now ?? Date.now);
  const fetchImplementation = guardedFetch({
    exchangeId,
    limiter: options.limiter,
    inner: options.fetchImplementation,
    hosts: () => hosts,
  });
  const exchange = new Ctor({
    ...(options.credentials
      ? {
          apiKey: options.credentials.apiKey,
          secret: options.credentials.secret,
          ...(options.credentials.password === undefined ? {} : { password: options.credentials.password }),
        }
      : {}),
    // Our limiter is the one budget for all instances; ccxt's per-instance bucket cannot see the others.
    enableRateLimit: false,
    verbose: false,
    timeout: options.timeoutMs ?? 10_000,
    fetchImplementation,
    sharedRateLimiter: options.limiter,
    accountOrderGate: orderGate,
    // ccxt reads its own clock for request timestamps; the engine's clock must be the same one.
    ...(options.now ? { milliseconds: options.now } : {}),
    options: {
      defaultType: marketType === 'futures' ? 'swap' : 'spot',
      // Only what the bot trades: spot and USDⓈ-M linear; no currencies or margin pairs (signed, large).
      fetchMarkets: { types: ['spot', 'linear'] },
      fetchCurrencies: false,
      fetchMargins: false,
      ...(options.recvWindowMs === undefined ? {} : { recvWindow: options.recvWindowMs }),
      // The engine decides about retries (order safety protocol); ccxt must never resend.
      maxRetriesOnFailure: 0,
      maxRetriesOnFailureDelay: 0,
      warnOnFetchOpenOrdersWithoutSymbol: false,
      throwMarginModeAlreadySet: false,
      ...(options.streaming?.socketAgent ? { ws: { options: { agent: options.streaming.socketAgent } } } : {}),
      // A stream is only a hint here: no REST snapshot of positions or balances on each connect (it
      // costs weight, and ccxt leaves its future unawaited, an unhandled rejection when the socket drops).
      ...(options.streaming
        ? { watchPositions: { fetchPositionsSnapshot: false, awaitPositionsSnapshot: false }, watchBalance: { fetchBalanceSnapshot: false } }
        : {}),
    },
  });
  // Pinned off: ccxt's verbose mode prints signed URLs and headers.
  Object.defineProperty(exchange, 'verbose', { value: false, writable: false, configurable: false });
  if (options.mode === 'demo') {
    const kind = demoKindOf(exchange);
    if (kind === 'demo-trading') exchange.enableDemoTrading(true);
    else if (kind === 'sandbox') exchange.setSandboxMode(true);
    else
      throw new ExchangeError(
        'not-supported',
        `${exchangeId} offers no demo or sandbox environment in ccxt; use paper mode`,
      );
  }
  hosts = apiHosts(exchange);
  return exchange;
}
