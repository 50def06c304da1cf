/**
 * Futures funding, booked to the bot's positions. Exchanges pay funding on the hour (Binance every 8,
 * 4 or 1 hours, at hh:00 UTC), so an account's income needs reading only once an hour boundary has
 * passed while one of its positions was open; a position opened and closed between two boundaries
 * paid none. Pure rules; the executor is src/trading/funding.ts.
 */
import { dec, toNumber } from './precision';

export const FUNDING_HOUR_MS = 3_600_000;
/** Binance's usual funding times are 00:00, 08:00 and 16:00 UTC: accounts are read after these. */
export const FUNDING_SLOT_MS = 8 * FUNDING_HOUR_MS;
/** Binance keeps three months of income history: a first read goes back no further. */
export const FUNDING_LOOKBACK_DAYS = 90;
/**
 * A position's life starts when the bot saw its entry fill, which can be a little after the fill
 * (a limit entry filled between two visits): a payment this much before counts as held.
 */
export const HELD_MARGIN_MS = 5 * 60_000;
/** Each read also covers this much before the cursor: a record the exchange wrote late is still found (a payment is booked once). */
export const REREAD_MS = FUNDING_HOUR_MS;

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

export interface FundingTiming {
  /** How long after a funding time its records are read (the exchange writes them a little later). */
  readonly settleMs: number;
  /** This account's offset after each slot, spreading the reads of many accounts over a while. */
  readonly offsetMs: number;
}

/** What the next visit of an account does about funding. */
export type FundingStep =
  /** Nothing to read yet. */
  | { readonly kind: 'wait' }
  /** Funding times passed with no position held: the cursor moves on, no request. */
  | { readonly kind: 'advance'; readonly until: number }
  /** Read the income in since..until (inclusive, exchange time) and book it. */
  | { readonly kind: 'read'; readonly since: number; readonly until: number };

const heldAt = (span: HeldSpan, at: number) => span.openedAt - HELD_MARGIN_MS <= at && (span.closedAt === null || span.closedAt >= at);

/**
 * Funding is paid on the hour (every 8 hours on most symbols, 4 or 1 on some): an account needs
 * reading once an hour boundary after its cursor fell in one of its positions' lives, and then only
 * at the next 8-hour slot (plus settling and the account's offset), so one read serves every payment
 * up to it. `now` is the exchange's time.
 */
export function fundingStep(cursor: number | null, now: number, spans: readonly HeldSpan[], timing: FundingTiming): FundingStep {
  if (spans.length === 0) return { kind: 'wait' };
  const from = cursor ?? Math.max(Math.min(...spans.map((s) => s.openedAt)) - HELD_MARGIN_MS - 1, now - FUNDING_LOOKBACK_DAYS * 86_400_000);
  const settled = now - timing.settleMs;
  const lastBoundary = Math.floor(settled / FUNDING_HOUR_MS) * FUNDING_HOUR_MS;
  if (lastBoundary <= from) return { kind: 'wait' };
  for (let hour = (Math.floor(from / FUNDING_HOUR_MS) + 1) * FUNDING_HOUR_MS; hour <= lastBoundary; hour += FUNDING_HOUR_MS) {
    if (!spans.some((span) => heldAt(span, hour))) continue;
    const slot = Math.ceil(hour / FUNDING_SLOT_MS) * FUNDING_SLOT_MS;
    return settled >= slot + timing.offsetMs ? { kind: 'read', since: Math.max(0, from + 1 - REREAD_MS), until: settled } : { kind: 'wait' };
  }
  return { kind: 'advance', until: lastBoundary };
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
