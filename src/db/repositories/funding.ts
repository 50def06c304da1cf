import { and, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import { FUNDING_LOOKBACK_DAYS, REREAD_MS, type HeldSpan } from '../../domain/funding';
import { utcDayKey } from '../../domain/risk';
import type { Database } from '../client';
import { exchangeAccounts, fundingPayments, positions } from '../schema';
import { addToDay } from './positions';

/** A futures account whose funding may need reading: its cursor and the positions it held since. */
export interface FundingCandidate {
  accountId: string;
  cursor: number | null;
  spans: HeldSpan[];
}

/** One payment as read from the exchange, with the bot positions' shares of it. */
export interface FundingToBook {
  paymentId: string;
  symbol: string;
  amount: number;
  currency: string;
  at: number;
  shares: { positionId: string; amount: number }[];
}

/**
 * Funding payments (src/trading/funding.ts): which accounts to read, and booking what was read,
 * each payment once whoever reads it.
 */
export function fundingRepository(db: Database) {
  return {
    /**
     * Live and demo Binance futures accounts (the only income history read) with a position open, or
     * closed after their funding cursor less the re-read hour (a payment found late is still theirs).
     */
    async candidates(): Promise<FundingCandidate[]> {
      const rows = await db
        .select({
          accountId: exchangeAccounts.id,
          cursor: exchangeAccounts.fundingReadUntil,
          positionId: positions.id,
          symbol: positions.symbol,
          openedAt: positions.openedAt,
          closedAt: positions.closedAt,
          weight: positions.entryQuantity,
        })
        .from(positions)
        .innerJoin(exchangeAccounts, eq(exchangeAccounts.id, positions.accountId))
        .where(
          and(
            eq(exchangeAccounts.marketType, 'futures'),
            ne(exchangeAccounts.mode, 'paper'),
            inArray(exchangeAccounts.exchangeId, ['binance', 'binanceusdm']),
            or(
              eq(positions.status, 'open'),
              gt(
                positions.closedAt,
                sql`coalesce(to_timestamp((${exchangeAccounts.fundingReadUntil} - ${REREAD_MS})::float8 / 1000), now() - make_interval(days => ${FUNDING_LOOKBACK_DAYS}))`,
              ),
            ),
          ),
        );
      const byAccount = new Map<string, FundingCandidate>();
      for (const row of rows) {
        let candidate = byAccount.get(row.accountId);
        if (!candidate) {
          candidate = { accountId: row.accountId, cursor: row.cursor, spans: [] };
          byAccount.set(row.accountId, candidate);
        }
        candidate.spans.push({
          positionId: row.positionId,
          symbol: row.symbol,
          openedAt: row.openedAt.getTime(),
          closedAt: row.closedAt?.getTime() ?? null,
          weight: row.weight,
        });
      }
      return [...byAccount.values()];
    },

    /**
     * In one transaction: each payment not booked before is recorded, its shares added to the
     * positions' funding and realised PnL and to the day it was paid; then the cursor moves to `until`.
     * Returns how many payments were new.
     */
    async book(accountId: string, payments: readonly FundingToBook[], until: number): Promise<number> {
      return db.transaction(async (tx) => {
        let fresh = 0;
        for (const payment of payments) {
          const inserted = await tx
            .insert(fundingPayments)
            .values({
              accountId,
              paymentId: payment.paymentId,
              symbol: payment.symbol,
              amount: payment.amount,
              currency: payment.currency,
              paidAt: new Date(payment.at),
              positionId: payment.shares.length === 1 ? payment.shares[0]!.positionId : null,
            })
            .onConflictDoNothing()
            .returning({ paymentId: fundingPayments.paymentId });
          if (inserted.length === 0) continue;
          fresh += 1;
          for (const share of payment.shares) {
            await tx
              .update(positions)
              .set({ funding: sql`${positions.funding} + ${share.amount}`, realizedPnl: sql`${positions.realizedPnl} + ${share.amount}`, updatedAt: sql`now()` })
              .where(and(eq(positions.id, share.positionId), eq(positions.accountId, accountId)));
            await addToDay(tx, accountId, utcDayKey(payment.at), share.amount);
          }
        }
        await tx
          .update(exchangeAccounts)
          .set({ fundingReadUntil: until })
          .where(and(eq(exchangeAccounts.id, accountId), or(isNull(exchangeAccounts.fundingReadUntil), sql`${exchangeAccounts.fundingReadUntil} < ${until}`)));
        return fresh;
      });
    },
  };
}

export type FundingRepository = ReturnType<typeof fundingRepository>;
