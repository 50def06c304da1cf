/**
 * Futures funding, booked to the bot's positions. Exchanges pay funding on the hour (Binance every 8,
 * 4 or 1 hours, at hh:00 UTC), so an account's income needs reading only once an hour boundary has
 * passed while one of its positions was open; a position opened and closed between two boundaries
 * paid none. Pure rules; the executor is src/trading/funding.ts.
 */
import { dec, toNumber } from './precision';

export const FUNDING_HOUR_MS = 3_600_000;
/** Binance keeps three months of income history: a first read goes back no further. */
export const FUNDING_LOOKBACK_DAYS = 90;

/** One bot position's life on an account: funding paid on its symbol meanwhile is partly its. */
export interface HeldSpan {
  readonly positionId: string;
  readonly symbol: string;
  readonly openedAt: number;
  /** null while open. */
  readonly closedAt: number | null;
  /** Its share when several positions held the symbol at once (entry quantity). */
  readonly weight: number;
}

/** What the next visit of an account does about funding. */
export type FundingStep =
  /** No hour boundary old enough since the cursor: nothing yet. */
  | { readonly kind: 'wait' }
  /** Boundaries passed, none while a position was held: the cursor moves on, no request. */
  | { readonly kind: 'advance'; readonly until: number }
  /** Read the income in since..until (inclusive, exchange time) and book it. */
  | { readonly kind: 'read'; readonly since: number; readonly until: number };

const heldAt = (span: HeldSpan, at: number) => span.openedAt <= at && (span.closedAt === null || span.closedAt >= at);

/**
 * From the cursor to the last hour boundary at least `settleMs` old (the exchange writes its income
 * records a little after paying): read when a boundary in between fell in a position's life.
 */
export function fundingStep(cursor: number | null, now: number, spans: readonly HeldSpan[], settleMs: number): FundingStep {
  if (spans.length === 0) return { kind: 'wait' };
  const from = cursor ?? Math.max(Math.min(...spans.map((s) => s.openedAt)) - 1, now - FUNDING_LOOKBACK_DAYS * 86_400_000);
  const until = Math.floor((now - settleMs) / FUNDING_HOUR_MS) * FUNDING_HOUR_MS;
  if (until <= from) return { kind: 'wait' };
  const firstBoundary = (Math.floor(from / FUNDING_HOUR_MS) + 1) * FUNDING_HOUR_MS;
  for (let hour = firstBoundary; hour <= until; hour += FUNDING_HOUR_MS) {
    if (spans.some((span) => heldAt(span, hour))) return { kind: 'read', since: from + 1, until };
  }
  return { kind: 'advance', until };
}

/**
 * One payment split among the bot's positions that held its symbol when it was paid, by their
 * weights; the shares add up to the payment exactly (the last takes the rounding). None: a position
 * the bot does not manage (opened by hand) was paid, and it is not the bot's to book.
 */
export function attributeFunding(payment: { symbol: string; amount: number; at: number }, spans: readonly HeldSpan[]): { positionId: string; amount: number }[] {
  const holders = spans.filter((span) => span.symbol === payment.symbol && heldAt(span, payment.at));
  if (holders.length === 0) return [];
  const total = holders.reduce((acc, span) => acc.plus(dec(Math.max(span.weight, 0))), dec(0));
  const amount = dec(payment.amount);
  let left = amount;
  return holders.map((span, i) => {
    const share = i === holders.length - 1 || !total.gt(0) ? left : amount.times(dec(Math.max(span.weight, 0))).div(total).round(8, 0);
    left = left.minus(share);
    return { positionId: span.positionId, amount: toNumber(share) };
  });
}
