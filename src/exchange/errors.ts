/**
 * Our error hierarchy for exchange calls, named by what the caller should do. Foreign errors are
 * translated once, at the gateway boundary (src/exchange/ccxt/translate.ts).
 */
import type { FailureReason } from '../domain/reasons';

export type ExchangeErrorKind =
  /** Definitely not applied; may be sent again at once (e.g. -1021 timestamp outside recvWindow). */
  | 'retryable'
  /** May or may not have been applied (timeouts, 5xx, -1006, -1007): reconcile, never resend blindly. */
  | 'unknown-outcome'
  /** Not applied; wait `retryAfterMs` before any request to this exchange. */
  | 'rate-limited'
  | 'insufficient-funds'
  | 'invalid-order'
  /** A conditional order whose trigger the price has already passed: it would fire at once (Binance -2021). */
  | 'would-trigger'
  /** Too many open conditional orders on the symbol (Binance -4045: 10 per symbol); one must go first. */
  | 'conditional-limit'
  /** An order with this client order id already exists: look it up and adopt it. */
  | 'duplicate-client-id'
  /** The key itself is refused (revoked, wrong secret, IP not allowed): disable the account and tell its owner. */
  | 'auth-failed'
  /**
   * The key works but the exchange refuses this account the action (leverage above what it may use,
   * reduce-only restriction, cooling-off, region): definite, nothing applied, the account stays enabled.
   */
  | 'not-permitted'
  | 'not-supported';

export class ExchangeError extends Error {
  readonly kind: ExchangeErrorKind;
  /** The exchange's own code when it gave one (e.g. -2010), for logs and metrics. */
  readonly exchangeCode: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** What the owner is told, when the translation table knows better than the kind (not-permitted codes). */
  readonly reason: FailureReason | undefined;

  constructor(
    kind: ExchangeErrorKind,
    message: string,
    options: { exchangeCode?: string | number; retryAfterMs?: number; reason?: FailureReason; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.name = `ExchangeError[${kind}]`;
    this.exchangeCode = options.exchangeCode === undefined ? undefined : String(options.exchangeCode);
    this.retryAfterMs = options.retryAfterMs;
    this.reason = options.reason;
  }
}

export const isExchangeError = (error: unknown, kind?: ExchangeErrorKind): error is ExchangeError =>
  error instanceof ExchangeError && (kind === undefined || error.kind === kind);
