/**
 * What to do about an exit the exchange refused. A refusal for a passing reason (rate limit, 5xx,
 * timestamp, an order proven not placed) is retried with backoff and the owner is told after a few
 * tries; a permanent one is not retried. "Would trigger at once" is its own class: the price is
 * already through the stop, so the stop's job is done at market.
 */
import { kindOf, type Leg } from './legs';

export type RefusalClass = 'passing' | 'permanent' | 'would-trigger';

const PASSING: ReadonlySet<string> = new Set([
  'rate-limited',
  'exchange-error',
  'exchange-timeout',
  'not-placed',
  // Too many conditional orders on the symbol (Binance -4045): the member's own orders may go.
  'conditional-limit',
]);

export function refusalClass(reason: string | null): RefusalClass {
  if (reason === 'would-trigger') return 'would-trigger';
  if (reason === null || PASSING.has(reason)) return 'passing';
  return 'permanent';
}

export interface RetryPolicy {
  /** Wait after the first refusal; doubles with each further one. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** The owner is told once an exit has been refused this many times. */
  readonly escalateAfter: number;
  /** The same for rate-limited refusals, which are retried every `firstDelayMs` (see retryDelayMs). */
  readonly rateLimitedEscalateAfter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  firstDelayMs: 1_000,
  maxDelayMs: 15_000,
  escalateAfter: 3,
  rateLimitedEscalateAfter: 15,
};

/**
 * The wait before a refused exit goes again: doubling with each attempt (take-profits), but every
 * `firstDelayMs` for what protects the position (its stop, a close at market) and after a rate limit.
 * A position without its stop must not wait 8 s for a 5xx to pass; and while a back-off lasts (the
 * IP's 429, an account's -1015 order count) a retry is refused in the process without reaching the
 * exchange, so trying each second costs nothing and sends it as soon as the window ends. Orders
 * cost futures accounts no IP weight, so the flat pace never spends the IP's budget.
 */
export function retryDelayMs(
  attempts: number,
  policy: RetryPolicy,
  reason: string | null = null,
  protective = false,
): number {
  if (protective || reason === 'rate-limited') return policy.firstDelayMs;
  const doublings = Math.max(0, Math.min(20, attempts - 1));
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** doublings);
}

/** Legs whose refusal leaves the position unprotected: the stop and a close at market. */
const isProtective = (leg: Pick<Leg, 'leg'>): boolean => ['stop-loss', 'close'].includes(kindOf(leg));

/** A passing refusal may go again once its backoff (from the last send's stamp) has passed. */
export function retryDue(
  leg: Pick<Leg, 'leg' | 'attempts' | 'sentAt' | 'reason'>,
  now: number,
  policy: RetryPolicy,
): boolean {
  if (leg.sentAt === null) return true;
  return now >= leg.sentAt + retryDelayMs(leg.attempts, policy, leg.reason, isProtective(leg));
}

/**
 * Whether the owner is told about this refusal now: at once when it is permanent; else by the send
 * whose attempts (from `before` to `after`: one send may count several) cross a threshold — the
 * short one for a refusal that is not a rate limit, the long one for any. Crossing, not hitting
 * exactly, and the long threshold for every reason: a leg whose reasons alternate is still reported.
 */
export function escalatesAt(
  reason: string | null,
  before: number,
  after: number,
  policy: RetryPolicy,
): boolean {
  if (refusalClass(reason) !== 'passing') return true;
  const crosses = (threshold: number) => before < threshold && after >= threshold;
  return (
    (reason !== 'rate-limited' && crosses(policy.escalateAfter)) || crosses(policy.rateLimitedEscalateAfter)
  );
}
