/**
 * How executions' outcomes are written and a signal completes with its summary (part of the trading
 * repository, which spreads these methods in).
 */
import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { executeRows } from '../executeRows';
import { dailyStats, exchangeAccounts, executions, feedOutbox, orders, signals } from '../schema';
import { enqueueFeed, type NewOutboxRow } from './outbox';
import type { ExecutionOutcome, ExecutionRow, SummaryRow } from './trading';
import { DEFINITE_EXECUTION_STATES } from './trading';

export function executionOutcomes(db: Database) {
  return {
    /**
     * Records executions' outcomes and their feed rows in ONE transaction (a handful of statements
     * however many accounts: the engine group-commits them). The signal rows are locked first, so
     * when a signal's last outcome lands exactly one transaction sees "none left", writes the summary
     * (built by `summarize`) and marks the signal done.
     *
     * Fenced: an outcome is written only while the execution is still in flight and claimed by
     * `claimedBy`; one another process took over is left alone with its feed rows and trade count.
     * Answers the ids written (the others lost their claim).
     */
    async finalizeExecutions(
      items: { execution: Pick<ExecutionRow, 'id' | 'signalId' | 'accountId'>; outcome: ExecutionOutcome }[],
      summarize: (signalId: string) => (rows: SummaryRow[]) => NewOutboxRow | null,
      now: Date,
      claimedBy: string,
    ): Promise<Set<string>> {
      if (items.length === 0) return new Set();
      return db.transaction(async (tx) => {
        const signalIds = [...new Set(items.map((item) => item.execution.signalId))].sort();
        await tx.select({ id: signals.id }).from(signals).where(inArray(signals.id, signalIds)).for('update');
        const records = items.map(({ execution, outcome }) => ({
          id: execution.id,
          status: outcome.status,
          reason: outcome.reason,
          symbol: outcome.symbol ?? null,
          leverage: outcome.leverage ?? null,
          quantity: outcome.quantity ?? null,
          notional: outcome.notional ?? null,
          margin: outcome.margin ?? null,
        }));
        const updated = await executeRows<{ id: string; trade_day: string | null }>(
          tx,
          sql`
          update ${executions} as e set
            status = v.status, reason = v.reason, updated_at = now(),
            symbol = coalesce(v.symbol, e.symbol), leverage = coalesce(v.leverage, e.leverage),
            quantity = coalesce(v.quantity, e.quantity), notional = coalesce(v.notional, e.notional),
            margin = coalesce(v.margin, e.margin)
          from json_to_recordset(${JSON.stringify(records)}::json)
            as v(id uuid, status text, reason text, symbol text, leverage int, quantity numeric, notional numeric, margin numeric)
          where e.id = v.id and e.claimed_by = ${claimedBy} and e.status = 'in-flight'
          returning e.id, e.trade_day::text as trade_day`,
        );
        const reservedDay = new Map(updated.map((row) => [row.id, row.trade_day]));
        const written = new Set(reservedDay.keys());
        const kept = items.filter((item) => written.has(item.execution.id));
        const feed = kept.flatMap((item) => item.outcome.feed);
        await enqueueFeed(tx, feed);
        // A trade reserved before the entry was sent stays counted when something was placed and is
        // given back when nothing was; an execution that reserved nothing (copy) is counted here.
        const trades = new Map<string, { accountId: string; day: string; trades: number }>();
        for (const { execution, outcome } of kept) {
          const reserved = reservedDay.get(execution.id) ?? null;
          const change = reserved === null ? (outcome.countsAsTrade ? 1 : 0) : outcome.countsAsTrade ? 0 : -1;
          if (change === 0) continue;
          const day = reserved ?? outcome.day;
          const key = `${execution.accountId}:${day}`;
          const entry = trades.get(key) ?? { accountId: execution.accountId, day, trades: 0 };
          entry.trades += change;
          trades.set(key, entry);
        }
        const counted = [...trades.values()].filter((entry) => entry.trades > 0);
        if (counted.length > 0) {
          await tx
            .insert(dailyStats)
            .values(counted)
            .onConflictDoUpdate({
              target: [dailyStats.accountId, dailyStats.day],
              set: { trades: sql`${dailyStats.trades} + excluded.trades` },
            });
        }
        // A reservation's row exists (it was written by the reservation).
        for (const entry of [...trades.values()].filter((released) => released.trades < 0)) {
          await tx
            .update(dailyStats)
            .set({ trades: sql`greatest(${dailyStats.trades} - ${-entry.trades}, 0)` })
            .where(and(eq(dailyStats.accountId, entry.accountId), eq(dailyStats.day, entry.day)));
        }
        for (const signalId of new Set(kept.map((item) => item.execution.signalId))) {
          await completeSignalIfDone(tx as unknown as Database, signalId, summarize(signalId), now);
        }
        return written;
      });
    },

    /** Marks the signal done and writes its summary when no execution is left open (one transaction). */
    completeIfDone(
      signalId: string,
      summarize: (rows: SummaryRow[]) => NewOutboxRow | null,
      now: Date,
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        await tx.select({ id: signals.id }).from(signals).where(eq(signals.id, signalId)).for('update');
        return completeSignalIfDone(tx as unknown as Database, signalId, summarize, now);
      });
    },

    /** completeIfDone inside a transaction that already holds the signal's row lock (the fan-out's). */
    completeIfDoneLocked: (
      signalId: string,
      summarize: (rows: SummaryRow[]) => NewOutboxRow | null,
      now: Date,
    ): Promise<boolean> => completeSignalIfDone(db, signalId, summarize, now),

    summaryRows: (signalId: string) => summaryRows(db, signalId),

    async hasSummary(signalId: string): Promise<boolean> {
      const [row] = await db
        .select({ id: feedOutbox.id })
        .from(feedOutbox)
        .where(and(eq(feedOutbox.signalId, signalId), eq(feedOutbox.kind, 'summary')))
        .limit(1);
      return row !== undefined;
    },
  };
}

/** Call with the signal row locked: exactly one caller sees "none left" and writes the summary. */
async function completeSignalIfDone(
  tx: Database,
  signalId: string,
  summarize: (rows: SummaryRow[]) => NewOutboxRow | null,
  now: Date,
): Promise<boolean> {
  const [open] = await tx
    .select({ count: sql<number>`count(*)::int` })
    .from(executions)
    .where(
      and(eq(executions.signalId, signalId), notInArray(executions.status, [...DEFINITE_EXECUTION_STATES])),
    );
  if ((open?.count ?? 0) > 0) return false;
  const done = await tx
    .update(signals)
    .set({ status: 'done', completedAt: now })
    .where(and(eq(signals.id, signalId), eq(signals.status, 'executing')))
    .returning({ id: signals.id });
  if (done.length === 0) return false;
  const summary = summarize(await summaryRows(tx, signalId));
  if (summary) await enqueueFeed(tx, [summary]);
  return true;
}

async function summaryRows(db: Database, signalId: string): Promise<SummaryRow[]> {
  const rows = await db
    .select({
      status: executions.status,
      reason: executions.reason,
      accountName: exchangeAccounts.name,
      ownerId: executions.ownerId,
      notional: executions.notional,
      shareAmounts: exchangeAccounts.shareAmounts,
      filled: sql<boolean>`exists (select 1 from ${orders} where ${orders.executionId} = ${executions.id} and ${orders.leg} like 'e%' and ${orders.filledQuantity} > 0)`,
    })
    .from(executions)
    .innerJoin(exchangeAccounts, eq(exchangeAccounts.id, executions.accountId))
    .where(eq(executions.signalId, signalId))
    .orderBy(asc(exchangeAccounts.name));
  return rows;
}
