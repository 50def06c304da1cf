/**
 * Futures funding into the book: for each live or demo futures account that held a position across a
 * funding time since its cursor, read the exchange's funding history once, give each payment to the
 * bot's positions that held its symbol then (src/domain/funding.ts), and book it: the position's
 * funding and realised PnL, and the day it was paid (daily-loss check, /pnl chart). Once per payment,
 * whichever process reads it; accounts are claimed like the other background steps.
 */
import pLimit from 'p-limit';
import type { Database } from '../db/client';
import { accountsRepository } from '../db/repositories/accounts';
import { fundingRepository, type FundingCandidate } from '../db/repositories/funding';
import { attributeFunding, fundingStep } from '../domain/funding';
import type { Logger } from '../logger';
import type { Clock } from './clock';
import { pauseOnDailyLoss } from './dailyLossPause';
import type { GatewayProvider } from './engine';

export interface FundingBookDeps {
  db: Database;
  gateways: GatewayProvider;
  clock: Clock;
  log: Logger;
  /** Claims accounts for this process (see accountLeases); all of them when absent. */
  claimAccounts?: (accountIds: string[]) => Promise<string[]>;
  /** How long after a funding time its records are read (the exchange writes them a little later). */
  settleMs?: number;
  concurrency?: number;
}

export interface FundingReport {
  accountsRead: number;
  paymentsBooked: number;
}

export function createFundingBook(deps: FundingBookDeps) {
  const repo = fundingRepository(deps.db);
  const accounts = accountsRepository(deps.db);
  const settleMs = deps.settleMs ?? 60_000;
  const log = deps.log.child({ component: 'funding' });

  async function visit(candidate: FundingCandidate, report: FundingReport): Promise<void> {
    const now = deps.clock.now();
    const step = fundingStep(candidate.cursor, now, candidate.spans, settleMs);
    if (step.kind === 'wait') return;
    if (step.kind === 'advance') {
      await repo.book(candidate.accountId, [], step.until);
      return;
    }
    const account = await accounts.byId(candidate.accountId);
    if (!account) return;
    const gateway = deps.gateways.forAccount(account);
    if (!gateway.income) return;
    const paid = await gateway.income({ kinds: ['funding'], since: step.since, until: step.until });
    report.accountsRead += 1;
    const payments = paid.map((entry) => ({
      paymentId: entry.id,
      symbol: entry.symbol,
      amount: entry.amount,
      currency: entry.currency,
      at: entry.at,
      shares: attributeFunding(entry, candidate.spans),
    }));
    const fresh = await repo.book(account.id, payments, step.until);
    report.paymentsBooked += fresh;
    if (fresh > 0 && (await pauseOnDailyLoss(deps.db, account.id, now))) {
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
