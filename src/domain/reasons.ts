/**
 * Every reason code the trading domain and engine produce, with the plain words the feed shows.
 * Codes are stored in the database and counted in metrics, so they are stable kebab-case literals;
 * the text may change freely.
 */
import type { SignalRejectionReason } from './signal';

/** Why one account does not trade a valid signal: an expected outcome, decided before sending. */
export const SKIP_REASONS = [
  'symbol-not-listed',
  'balance-stale',
  'insufficient-balance',
  'below-min-notional',
  'kelly-no-edge',
  'price-unavailable',
  'stop-too-close',
  'paused-daily-loss',
  'daily-trade-limit',
  'daily-loss-limit',
  'exposure-cap',
  'symbol-blocked',
  'symbol-not-allowed',
  'signal-too-old',
  'spot-cannot-short',
  'stop-wrong-side-at-market',
  'account-disabled',
  'server-paused',
  'signal-cancelled',
  'no-position-to-reduce',
  'copy-futures-only',
  'opposite-position-open',
  'position-open-on-symbol',
  'quote-not-usd',
  'max-position-reached',
  'copy-master-ended',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Why an order that was attempted did not (or may not) stand on the exchange. */
export const FAILURE_REASONS = [
  'key-revoked',
  'exchange-timeout',
  'rate-limited',
  'insufficient-funds',
  'invalid-order',
  'not-supported',
  'not-placed',
  'entry-expired',
  'exchange-error',
  'would-trigger',
  'conditional-limit',
  'leverage-not-allowed',
  'trading-restricted',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export type ReasonCode = SkipReason | FailureReason | SignalRejectionReason;

const SKIP_TEXT: { readonly [K in SkipReason]: string } = {
  'symbol-not-listed': 'not listed on this exchange',
  'quote-not-usd': 'priced in a coin, not in dollars: sizes and limits are in USD',
  'balance-stale': 'balance not synced recently',
  'insufficient-balance': 'insufficient balance',
  'below-min-notional': 'below the exchange minimum',
  'kelly-no-edge': 'recent trades show no edge (Kelly sizing)',
  'price-unavailable': 'no current price for this market',
  'stop-too-close': "stop too close to the entry for this market's price step",
  'paused-daily-loss': 'paused after reaching the daily loss limit',
  'daily-trade-limit': 'daily trade limit reached',
  'daily-loss-limit': 'daily loss limit reached',
  'exposure-cap': 'exposure cap for this symbol reached',
  'symbol-blocked': 'symbol blocked in account settings',
  'symbol-not-allowed': 'symbol not in the allow list',
  'signal-too-old': 'signal too old',
  'spot-cannot-short': 'spot accounts cannot short',
  'stop-wrong-side-at-market': 'price already beyond the stop',
  'account-disabled': 'account disabled',
  'server-paused': 'trading paused on this server',
  'signal-cancelled': 'signal withdrawn by its caller',
  'no-position-to-reduce': 'no copied position left to reduce',
  'copy-futures-only': 'copy trading needs a futures account',
  'opposite-position-open': 'a position the other way is open on this one-way account (it would net out)',
  'max-position-reached': 'the copied position is already at the max position',
  'copy-master-ended': 'the master is no longer a copy-trading master',
  'position-open-on-symbol': 'a position is already open on this symbol (the exchange holds one per symbol; its exits would mix)',
};

const FAILURE_TEXT: { readonly [K in FailureReason]: string } = {
  'key-revoked': 'key revoked',
  'exchange-timeout': 'exchange timed out',
  'rate-limited': 'exchange rate limit reached',
  'insufficient-funds': 'insufficient funds on the exchange',
  'invalid-order': 'order rejected as invalid',
  'not-supported': 'not supported on this exchange',
  'not-placed': 'order was not placed',
  'entry-expired': 'entry not filled in time',
  'exchange-error': 'exchange error',
  'would-trigger': 'the price is already past the trigger',
  'conditional-limit': 'too many stop and take-profit orders on this symbol',
  'leverage-not-allowed':
    "leverage above 20× not allowed for this account yet (exchange verification, account age or region): lower the account's leverage",
  'trading-restricted':
    'the exchange allows only reduce-only orders on this account right now, or no new orders at all (risk rules, cooling-off period or region)',
};

const SIGNAL_TEXT: { readonly [K in SignalRejectionReason]: string } = {
  'no-symbol': 'no symbol',
  'bad-symbol': 'malformed symbol',
  'no-entry': 'no entry',
  'no-stop': 'no stop-loss',
  'stop-wrong-side': 'stop on the wrong side of the entry',
  'target-wrong-side': 'take-profit on the wrong side of the entry',
  'bad-number': 'invalid number',
  'unclear-number': 'a label glued to its price ("TP41.3100"): write a space between them',
  'bad-leverage': 'leverage out of range',
  'several-stops': 'more than one stop price: write the one stop',
  'several-symbols': 'the message names more than one pair: post one signal per pair, naming only its pair',
  'breakout-entry':
    'entry on a breakout ("enter above" a long, "below" a short): a limit order there would fill at once, before the breakout; write the entry price or zone',
  'mixed-entry': 'a market entry with limit orders to add beside it (DCA): post the entries as prices, or market alone',
  'percent-stop': 'stop given as a percentage: write the stop price',
  'conditional-stop': 'stop on a candle close: the exchange can only hold a stop at a price, write that price',
  'unreadable-targets': 'take-profits written in a form the bot cannot read: write each target price',
  'too-many-prices': 'more than 15 entries or 15 take-profits',
  'prices-out-of-scale': 'prices too far apart to be one trade (a number misread?)',
  'too-long': 'message too long to be a signal',
  'unknown-symbol': "pair not listed on the exchanges of this server's accounts",
  'far-from-market':
    "prices far from the market's (under half or over twice it): a number misread, or written short (\"445\" for 0.445, satoshis)?",
};

export const REASON_TEXT: { readonly [K in ReasonCode]: string } = {
  ...SKIP_TEXT,
  ...FAILURE_TEXT,
  ...SIGNAL_TEXT,
};

/** Plain words for the feed. */
export function describeReason(code: ReasonCode): string {
  return REASON_TEXT[code];
}

/** For codes read back from storage. */
export function isReasonCode(value: string): value is ReasonCode {
  return Object.hasOwn(REASON_TEXT, value);
}

export interface Skipped<R extends SkipReason = SkipReason> {
  readonly kind: 'skipped';
  readonly reason: R;
}

export function skip<R extends SkipReason>(reason: R): Skipped<R> {
  return { kind: 'skipped', reason };
}

/** Facts about a plan worth telling the member, none of which stop the trade. */
export const PLAN_NOTES = [
  'kelly-fallback-fixed',
  'leverage-capped',
  'capped-max-position',
  'capped-available',
  'capped-max-amount',
  'raised-to-minimum',
  'quote-substituted',
  'entries-merged',
  'take-profits-merged',
  'take-profits-below-minimum',
  'take-profits-folded',
] as const;
export type PlanNote = (typeof PLAN_NOTES)[number];

export const NOTE_TEXT: { readonly [K in PlanNote]: string } = {
  'kelly-fallback-fixed': 'too few closed trades for Kelly sizing, fixed size used',
  'leverage-capped': 'leverage capped',
  'capped-max-position': 'capped at the max position',
  'capped-available': 'capped at the available balance (less than the risk asked for)',
  'capped-max-amount': "capped at the exchange's maximum quantity",
  'raised-to-minimum': 'raised to the exchange minimum',
  'quote-substituted': 'traded against another stablecoin quote',
  'entries-merged': 'small entries merged',
  'take-profits-merged': 'small take-profits merged',
  'take-profits-below-minimum': 'take-profits below the exchange minimum, stop only',
  'take-profits-folded': "farthest take-profits folded into the last one to fit the exchange's limit on stop orders per symbol",
};
