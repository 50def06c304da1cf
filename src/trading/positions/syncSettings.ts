/**
 * The position sync's settings and their defaults (positionSync.ts): how long entries wait, how lost
 * and refused exits are retried, and how the continuous loop paces its visits and reconciliations.
 */
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../domain/lifecycle/refusals';

export interface PositionSyncSettings {
  /** Entries not filled after this long are cancelled. */
  entryTtlMs: number;
  /** The protocol's lookup window for exit legs whose answer was lost. */
  lookupWindowMs: number;
  /** Accounts synced at once. */
  concurrency: number;
  /** Backoff and escalation of refused exits. */
  retry: RetryPolicy;
  /** A position with no resting stop gets a new stop version once a lost one is this old. */
  lostExitGraceMs: number;
  /**
   * How long a pass keeps starting routine visits (accounts whose stops rest and whose orders' prices
   * the market has not reached) after its urgent ones (src/domain/syncPriority.ts).
   */
  routineBudgetMs: number;
  /** Continuous following (start()): a pass is planned this often. */
  planEveryMs: number;
  /** Continuous following: prices ranked by are read again once this old (they cost the IP's weight). */
  priceMaxAgeMs: number;
  /** Continuous following: gap between two user-data stream connects of this process (see accountStreams.ts). */
  streamConnectEveryMs: number;
  /** Continuous following: routine turns of an account whose stream is open come this often (syncPriority.ts routineDue). */
  streamedReconcileMs: number;
  /**
   * Continuous following: at most this many of those turns (reconciliations) start a minute, per
   * market type, so that the net's weight stays a small share of the IP's whatever the number of
   * accounts: past `streamedReconcileMs × perMinute` accounts the rounds simply take longer (the
   * stalest first). Sized on Binance's weights: a futures visit costs about 7 of 2,400, a spot one
   * about 28 of 6,000 (README, "Exchange limits").
   */
  streamedReconcilePerMinute: { readonly futures: number; readonly spot: number };
}

export const defaultPositionSyncSettings: PositionSyncSettings = {
  entryTtlMs: 24 * 3_600_000,
  lookupWindowMs: 60_000,
  concurrency: 16,
  retry: DEFAULT_RETRY_POLICY,
  // Short: a lost stop is looked up at once (an urgent account is visited each second), and a second
  // reduce-only stop beside one that turns out to exist is only cancelled; while three losses in a row
  // each waited 5 s, a position went 30 s without its stop (bench:chaos).
  lostExitGraceMs: 2_000,
  routineBudgetMs: 5_000,
  planEveryMs: 1_000,
  priceMaxAgeMs: 3_000,
  streamConnectEveryMs: 1_200,
  streamedReconcileMs: 5 * 60_000,
  // About 210 of 2,400 and 560 of 6,000 weight a minute: with the stream-reported visits, balance
  // re-reads and price reads, the whole background stays under a quarter of the IP's budget
  // (bench:steady). 1,000 streamed futures accounts: a round in about 33 minutes.
  streamedReconcilePerMinute: { futures: 30, spot: 20 },
};
