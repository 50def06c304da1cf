/**
 * Pre-trade risk checks for one account, in a fixed order so the reason a member sees is stable when
 * several apply; plus the UTC-day helpers and the daily-loss pause rule. Time comes in as epoch ms.
 */
import type { AccountSettings } from './account';
import { dec } from './precision';
import { skip, type Skipped } from './reasons';
import type { EntryType, Side } from './signal';

const DAY_MS = 86_400_000;

/** Midnight UTC of the day holding `nowMs` (epoch ms have no leap seconds, so days are 86 400 000 ms). */
export function utcDayStart(nowMs: number): number {
  return Math.floor(nowMs / DAY_MS) * DAY_MS;
}

export function nextUtcDay(nowMs: number): number {
  return utcDayStart(nowMs) + DAY_MS;
}

/** `YYYY-MM-DD` of the UTC day, the key of the daily statistics. */
export function utcDayKey(nowMs: number): string {
  return new Date(utcDayStart(nowMs)).toISOString().slice(0, 10);
}

/** The account's figures for the current UTC day. */
export interface DailyFigures {
  /** Entries opened today. */
  readonly trades: number;
  /** Realised PnL of positions closed today (fees included); negative is a loss. */
  readonly realisedPnl: number;
  /** Equity at the start of the day (the first sync of the day). */
  readonly startingEquity: number;
}

/** True when today's realised loss reached maxDailyLossPct of the day's starting equity. */
export function dailyLossReached(day: DailyFigures, maxDailyLossPct: number): boolean {
  if (!(day.realisedPnl < 0)) return false;
  // No known starting equity: any loss counts, the careful reading when the base is unknown.
  if (!(day.startingEquity > 0)) return true;
  return dec(-day.realisedPnl).gte(dec(day.startingEquity).times(dec(maxDailyLossPct)).div(100));
}

export type DailyLossDecision =
  | { readonly kind: 'continue' }
  | { readonly kind: 'pause'; readonly reason: 'paused-daily-loss'; readonly untilMs: number };

/**
 * With stop-on-loss, reaching the daily loss pauses the account until the next UTC day: the pause is
 * recorded (and announced) and holds even if a later win brings the day back under the limit. Without
 * it, the `daily-loss-limit` check still refuses new entries while the loss stands.
 */
export function dailyLossPause(
  nowMs: number,
  day: DailyFigures,
  account: Pick<AccountSettings, 'maxDailyLossPct' | 'stopOnLoss'>,
): DailyLossDecision {
  if (!account.stopOnLoss || !dailyLossReached(day, account.maxDailyLossPct)) return { kind: 'continue' };
  return { kind: 'pause', reason: 'paused-daily-loss', untilMs: nextUtcDay(nowMs) };
}

export interface RiskInput {
  readonly nowMs: number;
  readonly account: Pick<
    AccountSettings,
    'marketType' | 'maxDailyTrades' | 'maxDailyLossPct' | 'symbolAllow' | 'symbolBlock'
  >;
  /** Epoch ms the account is paused until, or null. */
  readonly pausedUntilMs: number | null;
  readonly day: DailyFigures;
  /** Member-wide, across all their accounts, for this symbol's base asset. */
  readonly exposure: {
    /** Notional USD already open or resting. */
    readonly currentUsd: number;
    /** Notional USD of the order being planned. */
    readonly newUsd: number;
    /** Member's cap; null = off. */
    readonly capUsd: number | null;
  };
  /** Upper-case base asset of the signal (`BTC`), what allow and block lists name. */
  readonly base: string;
  readonly signal: {
    readonly side: Side;
    readonly entryType: EntryType;
    readonly stopLoss: number;
    /** When the signal was published, epoch ms. */
    readonly timeMs: number;
  };
  readonly maxSignalLagMs: number;
  /** Last price of the account's market; needed for the market-entry stop check. */
  readonly currentPrice: number | null;
}

export type RiskSkipReason =
  | 'paused-daily-loss'
  | 'daily-trade-limit'
  | 'daily-loss-limit'
  | 'exposure-cap'
  | 'symbol-blocked'
  | 'symbol-not-allowed'
  | 'signal-too-old'
  | 'spot-cannot-short'
  | 'stop-wrong-side-at-market';

export type RiskCheck = { readonly kind: 'ok' } | Skipped<RiskSkipReason>;

/** Every check, in the order listed in RiskSkipReason; the first that fails is the reason. */
export function checkRisk(input: RiskInput): RiskCheck {
  const { account, day, exposure, signal } = input;
  const base = input.base.toUpperCase();
  if (input.pausedUntilMs !== null && input.nowMs < input.pausedUntilMs) return skip('paused-daily-loss');
  if (day.trades >= account.maxDailyTrades) return skip('daily-trade-limit');
  if (dailyLossReached(day, account.maxDailyLossPct)) return skip('daily-loss-limit');
  if (
    exposure.capUsd !== null &&
    dec(exposure.currentUsd).plus(dec(exposure.newUsd)).gt(dec(exposure.capUsd))
  ) {
    return skip('exposure-cap');
  }
  if (account.symbolBlock.some((s) => s.toUpperCase() === base)) return skip('symbol-blocked');
  if (account.symbolAllow.length > 0 && !account.symbolAllow.some((s) => s.toUpperCase() === base)) {
    return skip('symbol-not-allowed');
  }
  if (input.nowMs - signal.timeMs > input.maxSignalLagMs) return skip('signal-too-old');
  if (account.marketType === 'spot' && signal.side === 'short') return skip('spot-cannot-short');
  if (input.currentPrice !== null) {
    // At the stop counts as beyond it: the stop would trigger as soon as it is placed. A limit entry
    // too: one the price has already passed the stop of would fill at once into a position to close.
    const beyond =
      signal.side === 'long' ? input.currentPrice <= signal.stopLoss : input.currentPrice >= signal.stopLoss;
    if (beyond) return skip('stop-wrong-side-at-market');
  }
  return { kind: 'ok' };
}
