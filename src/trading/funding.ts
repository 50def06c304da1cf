/**
 * Futures funding into the book: for each live or demo futures account that held a position across a
 * funding time since its cursor, read the exchange's funding history after the next 8-hour slot (one
 * request of weight 30 serves every payment up to it; accounts spread over an hour after the slot),
 * give each payment to the bot's positions that held its symbol then (src/domain/funding.ts), and
 * book it: the position's funding and realised PnL, and the day it was paid (daily-loss check, /pnl
 * chart). Once per payment, whichever process reads it; accounts are claimed like the other background
 * steps, and an account whose read fails waits longer each time (up to an hour).
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { Store } from '../db/store';
import type { FundingCandidate } from '../db/repositories/funding';
import { attributeFunding, fundingStep, type FundingTiming } from '../domain/funding';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import { pauseOnDailyLoss } from './dailyLossPause';
import type { GatewayProvider } from './engine';

export interface FundingBookDeps {
  store: Store;
  gateways: GatewayProvider;
  clock: Clock;
  log: Logger;
  /** Claims accounts for this process (see accountLeases); all of them when absent. */
  claimAccounts?: (accountIds: string[]) => Promise<string[]>;
  /** How long after a funding time its records are read (the exchange writes them a little later). */
  settleMs?: number;
  /** Accounts' reads are spread over this long after each slot (0: all at once, as tests want). */
  spreadMs?: number;
  concurrency?: number;
}

const MAX_BACK_OFF_MS = 3_600_000;

/** A stable offset in [0, spread) per account. */
const offsetOf = (accountId: string, spreadMs: number): number =>
  spreadMs <= 0 ? 0 : createHash('sha256').update(accountId).digest().readUInt32BE(0) % spreadMs;

export interface FundingReport {
  accountsRead: number;
  paymentsBooked: number;
}

export function createFundingBook(deps: FundingBookDeps) {
  const repo = deps.store.funding;
  const accounts = deps.store.accounts;
  const settleMs = deps.settleMs ?? 5 * 60_000;
  const spreadMs = deps.spreadMs ?? 3_600_000;
  const log = deps.log.child({ component: 'funding' });
  /** Accounts whose last read failed: when to try again. */
  const backOff = new Map<string, { failures: number; until: number }>();

  async function visit(candidate: FundingCandidate, report: FundingReport): Promise<void> {
    const now = deps.clock.now();
    const timing: FundingTiming = { settleMs, offsetMs: offsetOf(candidate.accountId, spreadMs) };
    const planned = fundingStep(candidate.cursor, now, candidate.spans, timing);
    if (planned.kind === 'wait') return;
    if (planned.kind === 'advance') {
      await repo.book(candidate.accountId, [], planned.until);
      return;
    }
    if ((backOff.get(candidate.accountId)?.until ?? 0) > now) return;
    const account = await accounts.byId(candidate.accountId);
    if (!account) return;
    const gateway = deps.gateways.forAccount(account);
    if (!gateway.income) return;
    // Judged again on the exchange's clock: what it has paid is what its clock says.
    const step = fundingStep(candidate.cursor, gateway.exchangeNow(), candidate.spans, timing);
    if (step.kind !== 'read') return;
    let read;
    try {
      read = await gateway.income({ kinds: ['funding'], since: step.since, until: step.until });
      backOff.delete(account.id);
    } catch (error) {
      const failures = (backOff.get(account.id)?.failures ?? 0) + 1;
      backOff.set(account.id, { failures, until: now + Math.min(MAX_BACK_OFF_MS, 60_000 * 2 ** (failures - 1)) });
      throw error;
    }
    report.accountsRead += 1;
    const payments = read.entries.map((entry) => ({
      paymentId: entry.id,
      symbol: entry.symbol,
      amount: entry.amount,
      currency: entry.currency,
      at: entry.at,
      shares: attributeFunding(entry, candidate.spans),
    }));
    // Only as far as the exchange's answer went (a very long history is read over several visits).
    const fresh = await repo.book(account.id, payments, read.readUntil);
    report.paymentsBooked += fresh;
    if (fresh > 0 && (await pauseOnDailyLoss(deps.store, account.id, now))) {
      log.warn({ accountId: account.id }, 'daily loss limit reached after funding: account paused until the next UTC day');
    }
  }

  return {
    async run(): Promise<FundingReport> {
      const report: FundingReport = { accountsRead: 0, paymentsBooked: 0 };
      const candidates = await repo.candidates();
      if (candidates.length === 0) return report;
      const held = deps.claimAccounts ? new Set(await deps.claimAccounts(candidates.map((c) => c.accountId))) : null;
      const limit = pLimit(deps.concurrency ?? 4);
      await Promise.all(
        candidates
          .filter((candidate) => !held || held.has(candidate.accountId))
          .map((candidate) =>
            limit(async () => {
              try {
                await visit(candidate, report);
              } catch (error) {
                // Unread stays unread: the cursor did not move, the next cycle asks again.
                log.warn({ err: error, accountId: candidate.accountId }, 'funding history could not be read; next cycle tries again');
              }
            }),
          ),
      );
      return report;
    },
  };
}

export type FundingBook = ReturnType<typeof createFundingBook>;
