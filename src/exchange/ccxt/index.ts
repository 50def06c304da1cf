/** The ccxt implementation of the exchange port: the only place that imports ccxt. */
export { CcxtGateway } from './ccxtGateway';
export { CcxtRuntime } from './runtime';
export type { CcxtRuntimeOptions, CcxtAccountRef } from './runtime';
export { exchangeCapabilities, listExchangeIds, demoDescription } from './capabilities';
export type { ExchangeCapabilities, ProtectionStyle, DemoKind } from './capabilities';
export { translateError, TRANSLATION_TABLE, safeMessage, isOrderNotFound, isAlreadySet } from './translate';
export type { TranslationRow } from './translate';
export {
  ExchangeRateLimiter,
  RateLimiterRegistry,
  processRateLimiters,
  binanceRequestCost,
  requestWeightLimit,
  parseRetryAfter,
} from './rateLimiter';
export type { FetchImplementation, FetchInit, Credentials } from './exchange';
