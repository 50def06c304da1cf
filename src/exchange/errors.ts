/**
 * Our error hierarchy for exchange calls, named by what the caller should do. Foreign errors are
 * translated once, at the gateway boundary (src/exchange/ccxt/translate.ts).
 */
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
  /** Key revoked, wrong secret, missing permission: disable the account and tell its owner. */
  | 'auth-failed'
  | 'not-supported';

export class ExchangeError extends Error {
  readonly kind: ExchangeErrorKind;
  /** The exchange's own code when it gave one (e.g. -2010), for logs and metrics. */
  readonly exchangeCode: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: ExchangeErrorKind,
    message: string,
    options: { exchangeCode?: string | number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.name = `ExchangeError[${kind}]`;
    this.exchangeCode = options.exchangeCode === undefined ? undefined : String(options.exchangeCode);
    this.retryAfterMs = options.retryAfterMs;
  }
}

export const isExchangeError = (error: unknown, kind?: ExchangeErrorKind): error is ExchangeError =>
  error instanceof ExchangeError && (kind === undefined || error.kind === kind);
