/**
 * The ccxt side of the gateway factory: the shared markets, the rate-limiter registry, the transport,
 * and the account instances in an LRU with a TTL. An evicted account's instance (and with it the
 * plaintext credentials ccxt holds) is dropped; its gateway rebuilds it on the next call through the
 * credentials thunk the factory gave (the factory is where secrets are decrypted).
 */
import { LRUCache } from 'lru-cache';
import type { MarketType, TradingMode } from '../../domain/account';
import type { Agent } from 'node:http';
import type { AccountStream, ExchangeGateway, PositionMode } from '../gateway';
import { CcxtAccountStream } from './accountStream';
import { CcxtGateway } from './ccxtGateway';
import type { AccountInstance } from './ccxtGateway';
import { buildExchange } from './exchange';
import type { BuildOptions, Credentials, FetchImplementation } from './exchange';
import { ExchangeClocks } from './exchangeClock';
import { FeeValuation } from './feeValuation';
import { SharedMarkets } from './markets';
import { processRateLimiters } from './rateLimiter';
import type { RateLimiterRegistry } from './rateLimiter';
import { CcxtMarketData } from './marketData';
import { undiciTransport } from './transport';

export interface CcxtRuntimeOptions {
  /** The transport. Default: undici's request on a keep-alive pool. Tests and the demo wire the simulator's here, in code. */
  fetchImplementation?: FetchImplementation;
  /** Default: the process-wide registry (one limiter per exchange for the whole process). */
  rateLimiters?: RateLimiterRegistry;
  now?: () => number;
  /** Idle account instances are dropped after this long (default 30 min). */
  accountTtlMs?: number;
  /** At most this many account instances at once (default 5,000). */
  maxAccounts?: number;
  /** Markets are reloaded after this long (default 1 h). */
  marketsTtlMs?: number;
  requestTimeoutMs?: number;
  recvWindowMs?: number;
  /** The offset to each exchange's clock is measured again after this long (default 5 min). */
  clockRefreshMs?: number;
  /** Carries user-data stream sockets. Default: TLS to the exchange. Tests wire the simulator's here, in code. */
  socketAgent?: Agent;
}

/** Exchanges and market types whose user-data stream is followed (the ones simulated and tested). */
const USER_STREAMS: ReadonlySet<string> = new Set(['binance:futures', 'binanceusdm:futures', 'binance:spot']);

export const hasUserStream = (exchangeId: string, marketType: MarketType): boolean =>
  USER_STREAMS.has(`${exchangeId}:${marketType}`);

export interface CcxtAccountRef {
  /** Cache key: the account id (or a probe's one-off id). */
  key: string;
  exchangeId: string;
  marketType: MarketType;
  mode: Exclude<TradingMode, 'paper'>;
  positionMode?: PositionMode;
  /** Changes when the stored key changes, so a stale instance is never used. */
  fingerprint: string;
}

interface Entry {
  fingerprint: string;
  instance: AccountInstance;
}

export class CcxtRuntime {
  readonly markets: SharedMarkets;
  readonly rateLimiters: RateLimiterRegistry;
  readonly marketData: CcxtMarketData;
  /** Offsets to the exchanges' clocks, shared by every account of an (exchange, mode, market type). */
  readonly clocks: ExchangeClocks;
  private readonly fetchImplementation: FetchImplementation;
  private readonly now: () => number;
  private readonly accounts: LRUCache<string, Entry>;
  /** One fee valuation (its price cache) per exchange and mode. */
  private readonly feeValuations = new Map<string, FeeValuation>();
  private readonly timeoutMs: number | undefined;
  private readonly recvWindowMs: number | undefined;
  private readonly socketAgent: Agent | undefined;

  constructor(options: CcxtRuntimeOptions = {}) {
    this.fetchImplementation = options.fetchImplementation ?? undiciTransport();
    this.rateLimiters = options.rateLimiters ?? processRateLimiters;
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.requestTimeoutMs;
    this.recvWindowMs = options.recvWindowMs;
    this.socketAgent = options.socketAgent;
    this.markets = new SharedMarkets({
      fetchImplementation: this.fetchImplementation,
      rateLimiters: this.rateLimiters,
      now: this.now,
      ...(options.marketsTtlMs === undefined ? {} : { ttlMs: options.marketsTtlMs }),
    });
    this.accounts = new LRUCache<string, Entry>({
      max: options.maxAccounts ?? 5000,
      ttl: options.accountTtlMs ?? 30 * 60_000,
      updateAgeOnGet: true,
      ttlAutopurge: false,
    });
    this.marketData = new CcxtMarketData(this.markets, this.now);
    this.clocks = new ExchangeClocks({
      now: this.now,
      // The keyless shared instance reads the time: public, weight 1, no account involved.
      readServerTime: async ({ exchangeId, mode, marketType }) => {
        const exchange = await this.markets.publicInstance(exchangeId, mode);
        if (!exchange.has['fetchTime']) return undefined;
        return (await exchange.fetchTime({ type: marketType === 'futures' ? 'swap' : 'spot' })) ?? undefined;
      },
      ...(options.clockRefreshMs === undefined ? {} : { refreshMs: options.clockRefreshMs }),
    });
  }

  /** How an account's ccxt instance is built, REST or stream alike (credentials are asked for now). */
  private instanceOptions(ref: CcxtAccountRef, credentials: () => Credentials): BuildOptions {
    return {
      exchangeId: ref.exchangeId,
      mode: ref.mode,
      marketType: ref.marketType,
      limiter: this.rateLimiters.get(ref.exchangeId),
      fetchImplementation: this.fetchImplementation,
      credentials: credentials(),
      now: this.now,
      ...(this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs }),
      ...(this.recvWindowMs === undefined ? {} : { recvWindowMs: this.recvWindowMs }),
    };
  }

  private build(ref: CcxtAccountRef, credentials: () => Credentials): AccountInstance {
    const exchange = buildExchange(this.instanceOptions(ref, credentials));
    return { exchange, leverage: new Map(), algoOrders: new Map() };
  }

  /** The instance of an account: cached, or built now (credentials are asked for only then). */
  instance(ref: CcxtAccountRef, credentials: () => Credentials, cache = true): AccountInstance {
    if (!cache) return this.build(ref, credentials);
    const hit = this.accounts.get(ref.key);
    if (hit && hit.fingerprint === ref.fingerprint) return hit.instance;
    const instance = this.build(ref, credentials);
    this.accounts.set(ref.key, { fingerprint: ref.fingerprint, instance });
    return instance;
  }

  /**
   * A gateway for an account. The instance is built at once (so a bad exchange id or mode fails
   * here, not at the first order) and cached; `cache: false` (key probes) keeps it out of the LRU.
   */
  gateway(ref: CcxtAccountRef, credentials: () => Credentials, options: { cache?: boolean } = {}): ExchangeGateway {
    const cache = options.cache ?? true;
    const own = cache ? undefined : this.build(ref, credentials);
    if (cache) this.instance(ref, credentials);
    return new CcxtGateway({
      spec: {
        exchangeId: ref.exchangeId,
        marketType: ref.marketType,
        mode: ref.mode,
        ...(ref.positionMode === undefined ? {} : { positionMode: ref.positionMode }),
      },
      instance: own ? () => own : () => this.instance(ref, credentials),
      markets: this.markets,
      clock: this.clocks.for({ exchangeId: ref.exchangeId, mode: ref.mode, marketType: ref.marketType }),
      limiter: this.rateLimiters.get(ref.exchangeId),
      feeValuation: this.feeValuation(`${ref.exchangeId}:${ref.mode}`),
      now: this.now,
    });
  }

  /**
   * The account's user-data stream; each connection builds its own ccxt.pro instance (credentials are
   * asked for then, and dropped with it), never cached beside the REST one.
   */
  stream(ref: CcxtAccountRef, credentials: () => Credentials): AccountStream {
    return new CcxtAccountStream(ref.exchangeId, async () => {
      const exchange = buildExchange({
        ...this.instanceOptions(ref, credentials),
        streaming: this.socketAgent ? { socketAgent: this.socketAgent } : {},
      });
      await this.markets.attach(exchange, ref.exchangeId, ref.mode);
      return exchange;
    });
  }

  private feeValuation(key: string): FeeValuation {
    let valuation = this.feeValuations.get(key);
    if (!valuation) {
      valuation = new FeeValuation(key);
      this.feeValuations.set(key, valuation);
    }
    return valuation;
  }

  invalidate(key: string): void {
    this.accounts.delete(key);
  }

  /** How many account instances are cached (for metrics and the benchmark). */
  get cachedAccounts(): number {
    return this.accounts.size;
  }

  close(): void {
    this.accounts.clear();
  }
}
