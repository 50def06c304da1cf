/**
 * THE one place exchange secrets are decrypted (DESIGN.md). The factory turns an account row into a
 * gateway: paper accounts get the paper gateway (no key ever read); live and demo accounts get the
 * ccxt gateway, whose instance is cached (LRU + TTL) in the ccxt runtime and rebuilt, decrypting
 * again, only when evicted. The transport (`fetchImplementation`) is wired in CODE by tests and the
 * demo; nothing in configuration can redirect signed traffic.
 */
import { createHash } from 'node:crypto';
import type { MarketType, TradingMode } from '../domain/account';
import type { MarketRules } from '../domain/market';
import type { Secret } from '../vault/secret';
import type { SecretField, Vault } from '../vault/envelope';
import { exchangeCapabilities } from './ccxt/capabilities';
import type { FetchImplementation, Credentials } from './ccxt/exchange';
import type { RateLimiterRegistry } from './ccxt/rateLimiter';
import { CcxtRuntime, hasUserStream } from './ccxt/runtime';
import { ExchangeError } from './errors';
import type { Agent } from 'node:http';
import type { AccountStream, Candle, ExchangeGateway, PositionMode } from './gateway';
import { PaperGateway } from './paper/paperGateway';
import type { PaperStore } from './paper/state';

export { exchangeCapabilities, listExchangeIds, demoDescription } from './ccxt/capabilities';
export type { ExchangeCapabilities, DemoKind, ProtectionStyle } from './ccxt/capabilities';
export { RateLimiterRegistry } from './ccxt/rateLimiter';
export type { FetchImplementation } from './ccxt/exchange';
export type { PaperState, PaperStore } from './paper/state';

/** The account fields the factory needs (structural: src/exchange does not know src/db). */
export interface GatewayAccount {
  id: string;
  ownerId: string;
  exchangeId: string;
  marketType: MarketType;
  mode: TradingMode;
  apiKeyEnc: string | null;
  secretEnc: string | null;
  passphraseEnc: string | null;
  positionMode?: PositionMode | null;
}

export interface ProbeInput {
  exchangeId: string;
  marketType: MarketType;
  mode: TradingMode;
  apiKey: Secret;
  secret: Secret;
  passphrase?: Secret;
}

/** The few logger methods the factory uses (pino's Logger fits). Never given a secret. */
export interface FactoryLog {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface GatewayFactoryOptions {
  vault: Pick<Vault, 'decrypt'>;
  /** Transport for every exchange request. Default: Node's fetch. Tests: the simulator's. */
  fetchImplementation?: FetchImplementation;
  /** Carries user-data stream sockets. Default: TLS to the exchange. Tests: the simulator's. */
  socketAgent?: Agent;
  paperStore: PaperStore;
  now: () => number;
  log: FactoryLog;
  paperSlippageBps: number;
  paperStartingBalanceUsd: number;
  /** Default: the process-wide registry (one limiter per exchange). Tests pass their own. */
  rateLimiters?: RateLimiterRegistry;
  /** Account instance cache (defaults: 30 min idle, 5,000 instances). */
  accountTtlMs?: number;
  maxAccounts?: number;
  /** Paper quotes are shared for this long across paper accounts (default 1 s). */
  paperQuoteTtlMs?: number;
  requestTimeoutMs?: number;
  /** Validity of signed requests (tests on an accelerated clock use Binance's maximum, 60 s). */
  recvWindowMs?: number;
}

export interface GatewayFactory {
  forAccount(account: GatewayAccount): ExchangeGateway;
  /**
   * The account's user-data stream, or null when it has none followed (paper, exchanges and market
   * types not simulated and tested). Each call is a new stream; close it when done.
   */
  streamFor(account: GatewayAccount): AccountStream | null;
  /** A gateway for a key that is not stored yet (verify before saving); never cached. */
  probe(input: ProbeInput): ExchangeGateway;
  /** Drops the cached instance (key changed, account removed or disabled). */
  invalidate(accountId: string): void;
  /** Public candles (keyless, shared instance): for the strategy, which trades no account of its own. */
  publicCandles(exchangeId: string, marketType: MarketType, symbol: string, timeframe: string, limit: number): Promise<Candle[]>;
  /** The exchange's market table (keyless, shared, reloaded hourly): which pairs exist. */
  publicMarkets(exchangeId: string, marketType: MarketType): Promise<ReadonlyMap<string, MarketRules>>;
  /** The last price of a market symbol (keyless, shared and cached for a second; the signal lane). */
  publicLastPrice(exchangeId: string, marketType: MarketType, symbol: string): Promise<number>;
  close(): void;
}

const fingerprint = (account: GatewayAccount): string =>
  createHash('sha256')
    .update([account.exchangeId, account.marketType, account.mode, account.apiKeyEnc, account.secretEnc, account.passphraseEnc].join('\u0000'))
    .digest('base64url')
    .slice(0, 22);

let probeCounter = 0;

export function createGatewayFactory(options: GatewayFactoryOptions): GatewayFactory {
  const runtime = new CcxtRuntime({
    now: options.now,
    ...(options.fetchImplementation === undefined ? {} : { fetchImplementation: options.fetchImplementation }),
    ...(options.rateLimiters === undefined ? {} : { rateLimiters: options.rateLimiters }),
    ...(options.accountTtlMs === undefined ? {} : { accountTtlMs: options.accountTtlMs }),
    ...(options.maxAccounts === undefined ? {} : { maxAccounts: options.maxAccounts }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(options.recvWindowMs === undefined ? {} : { recvWindowMs: options.recvWindowMs }),
    ...(options.socketAgent === undefined ? {} : { socketAgent: options.socketAgent }),
  });
  if (options.paperQuoteTtlMs !== undefined) runtime.marketData.quoteTtlMs = options.paperQuoteTtlMs;

  const checkTradable = (exchangeId: string, marketType: MarketType, mode: Exclude<TradingMode, 'paper'>): void => {
    const capabilities = exchangeCapabilities(exchangeId);
    if (!capabilities.listed) throw new ExchangeError('not-supported', `${exchangeId} is not an exchange ccxt supports`);
    if (!capabilities.liveMarketTypes.includes(marketType)) {
      throw new ExchangeError(
        'not-supported',
        `${exchangeId} ${marketType} is paper-only: ${capabilities.liveBlockers.join('; ') || `ccxt's ${exchangeId} lacks what safe ${marketType} trading needs`}`,
      );
    }
    if (mode === 'demo' && capabilities.demo === 'none') {
      throw new ExchangeError('not-supported', `${exchangeId} has neither demo trading nor a sandbox in ccxt: use paper mode`);
    }
  };

  const paperGateway = (account: Pick<GatewayAccount, 'id' | 'exchangeId' | 'marketType'>): ExchangeGateway =>
    new PaperGateway({
      accountId: account.id,
      exchangeId: account.exchangeId,
      marketType: account.marketType,
      store: options.paperStore,
      marketData: runtime.marketData,
      now: options.now,
      slippageBps: options.paperSlippageBps,
      startingBalanceUsd: options.paperStartingBalanceUsd,
    });

  /** Decrypted only when an instance is (re)built, and handed straight to ccxt. */
  const storedCredentials = (account: GatewayAccount): (() => Credentials) => {
    const { apiKeyEnc, secretEnc, passphraseEnc } = account;
    if (!apiKeyEnc || !secretEnc) throw new ExchangeError('auth-failed', `account ${account.id} has no API key stored`);
    return () => {
      const open = (envelope: string, field: SecretField): string =>
        options.vault.decrypt(envelope, { accountId: account.id, ownerId: account.ownerId, field }).reveal();
      return {
        apiKey: open(apiKeyEnc, 'apiKey'),
        secret: open(secretEnc, 'secret'),
        ...(passphraseEnc ? { password: open(passphraseEnc, 'passphrase') } : {}),
      };
    };
  };

  return {
    streamFor(account) {
      if (account.mode === 'paper' || !hasUserStream(account.exchangeId, account.marketType)) return null;
      checkTradable(account.exchangeId, account.marketType, account.mode);
      return runtime.stream(
        {
          key: account.id,
          exchangeId: account.exchangeId,
          marketType: account.marketType,
          mode: account.mode,
          fingerprint: fingerprint(account),
        },
        storedCredentials(account),
      );
    },

    forAccount(account) {
      if (account.mode === 'paper') return paperGateway(account);
      const mode = account.mode;
      checkTradable(account.exchangeId, account.marketType, mode);
      const credentials = storedCredentials(account);
      options.log.debug({ accountId: account.id, exchangeId: account.exchangeId, mode, marketType: account.marketType }, 'exchange gateway');
      return runtime.gateway(
        {
          key: account.id,
          exchangeId: account.exchangeId,
          marketType: account.marketType,
          mode,
          fingerprint: fingerprint(account),
          ...(account.positionMode ? { positionMode: account.positionMode } : {}),
        },
        credentials,
      );
    },

    probe(input) {
      if (input.mode === 'paper') throw new ExchangeError('not-supported', 'paper accounts have no key to verify');
      checkTradable(input.exchangeId, input.marketType, input.mode);
      probeCounter += 1;
      return runtime.gateway(
        {
          key: `probe:${probeCounter}`,
          exchangeId: input.exchangeId,
          marketType: input.marketType,
          mode: input.mode,
          fingerprint: `probe:${probeCounter}`,
        },
        () => ({
          apiKey: input.apiKey.reveal(),
          secret: input.secret.reveal(),
          ...(input.passphrase ? { password: input.passphrase.reveal() } : {}),
        }),
        { cache: false },
      );
    },

    invalidate(accountId) {
      runtime.invalidate(accountId);
    },

    publicCandles(exchangeId, marketType, symbol, timeframe, limit) {
      return runtime.marketData.candles(exchangeId, marketType, symbol, timeframe, limit);
    },

    publicMarkets(exchangeId, marketType) {
      return runtime.marketData.markets(exchangeId, marketType);
    },

    async publicLastPrice(exchangeId, marketType, symbol) {
      return (await runtime.marketData.quote(exchangeId, marketType, symbol)).last;
    },

    close() {
      runtime.close();
    },
  };
}
