import { and, asc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { dailyStats, exchangeAccounts, executions, feedOutbox, orders, positions } from '../schema';
import type { NewOutboxRow } from './outbox';
import type { ExecutionRow, NewPosition, PositionRow } from './trading';

/** Order states that may still change on the exchange (or are not known yet). */
export const LIVE_ORDER_STATES = ['intent', 'unknown', 'open', 'partially-filled'] as const;

export interface PositionClose {
  realizedPnl: number;
  fees: number;
  exitQuantity: number;
  averageExitPrice: number | null;
  closeReason: NonNullable<PositionRow['closeReason']>;
  closedAt: Date;
  /** UTC day key the realised PnL counts for. */
  day: string;
  feed: NewOutboxRow[];
}

/**
 * Read and write side of the position lifecycle (src/trading/positionSync.ts). Only executions that
 * executeAccount finished (`placed`) are followed here, so the two never work on one leg at once.
 */
export function positionsRepository(db: Database) {
  return {
    /** Accounts with an open bot position or a live bot order of a finished execution. */
    async accountsToSync(): Promise<string[]> {
      const open = await db
        .selectDistinct({ accountId: positions.accountId })
        .from(positions)
        .where(eq(positions.status, 'open'));
      const live = await db
        .selectDistinct({ accountId: orders.accountId })
        .from(orders)
        .innerJoin(executions, eq(executions.id, orders.executionId))
        .where(and(inArray(orders.status, [...LIVE_ORDER_STATES]), eq(executions.status, 'placed')));
      return [...new Set([...open, ...live].map((row) => row.accountId))];
    },

    /** The account's executions still being followed: an open position, or live orders. */
    async activeExecutions(accountId: string): Promise<ExecutionRow[]> {
      const withLiveOrders = db
        .select({ id: orders.executionId })
        .from(orders)
        .where(and(eq(orders.accountId, accountId), inArray(orders.status, [...LIVE_ORDER_STATES])));
      const withOpenPosition = db
        .select({ id: executions.id })
        .from(executions)
        .innerJoin(
          positions,
          and(eq(positions.signalId, executions.signalId), eq(positions.accountId, executions.accountId)),
        )
        .where(and(eq(positions.accountId, accountId), eq(positions.status, 'open')));
      return db
        .select()
        .from(executions)
        .where(
          and(
            eq(executions.accountId, accountId),
            eq(executions.status, 'placed'),
            sql`(${executions.id} in (${withLiveOrders}) or ${executions.id} in (${withOpenPosition}))`,
          ),
        )
        .orderBy(asc(executions.createdAt));
    },

    async positionOf(signalId: string, accountId: string): Promise<PositionRow | null> {
      const [row] = await db
        .select()
        .from(positions)
        .where(and(eq(positions.signalId, signalId), eq(positions.accountId, accountId)));
      return row ?? null;
    },

    openPositionsOf(accountId: string): Promise<PositionRow[]> {
      return db
        .select()
        .from(positions)
        .where(and(eq(positions.accountId, accountId), eq(positions.status, 'open')));
    },

    async insertPosition(row: NewPosition): Promise<void> {
      await db.insert(positions).values(row).onConflictDoNothing();
    },

    async updatePosition(id: string, patch: Partial<NewPosition>): Promise<void> {
      await db
        .update(positions)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(positions.id, id));
    },

    /**
     * Records exit progress; `takeProfitsHit` only rises, and the feed rows for new hits are written
     * only by the call that raised it (another process syncing the same position writes none).
     */
    async recordProgress(id: string, patch: Partial<NewPosition>, takeProfitsHit: number, feed: NewOutboxRow[]): Promise<void> {
      await db.transaction(async (tx) => {
        await tx
          .update(positions)
          .set({ ...patch, updatedAt: sql`now()` })
          .where(eq(positions.id, id));
        if (feed.length === 0) return;
        const raised = await tx
          .update(positions)
          .set({ takeProfitsHit })
          .where(and(eq(positions.id, id), lt(positions.takeProfitsHit, takeProfitsHit)))
          .returning({ id: positions.id });
        if (raised.length > 0) await tx.insert(feedOutbox).values(feed);
      });
    },

    /**
     * Closes an open position, adds its realised PnL to the day's statistics and writes its feed rows,
     * in one transaction; a position already closed (another process got there first) is left alone.
     */
    async closePosition(id: string, accountId: string, close: PositionClose): Promise<boolean> {
      return db.transaction(async (tx) => {
        const done = await tx
          .update(positions)
          .set({
            status: 'closed',
            quantity: 0,
            realizedPnl: close.realizedPnl,
            fees: close.fees,
            exitQuantity: close.exitQuantity,
            averageExitPrice: close.averageExitPrice,
            closeReason: close.closeReason,
            closedAt: close.closedAt,
            updatedAt: sql`now()`,
          })
          .where(and(eq(positions.id, id), eq(positions.status, 'open')))
          .returning({ id: positions.id });
        if (done.length === 0) return false;
        await tx
          .insert(dailyStats)
          .values({ accountId, day: close.day, realizedPnl: close.realizedPnl })
          .onConflictDoUpdate({
            target: [dailyStats.accountId, dailyStats.day],
            set: { realizedPnl: sql`${dailyStats.realizedPnl} + ${close.realizedPnl}` },
          });
        if (close.feed.length > 0) await tx.insert(feedOutbox).values(close.feed);
        return true;
      });
    },

    /**
     * Pauses the account until `until` and writes the announcement, once per UTC day: the flag on
     * the day's statistics row is the "already told" mark.
     */
    async pauseForDailyLoss(accountId: string, day: string, until: Date, feed: NewOutboxRow[]): Promise<boolean> {
      return db.transaction(async (tx) => {
        await tx.insert(dailyStats).values({ accountId, day }).onConflictDoNothing();
        const marked = await tx
          .update(dailyStats)
          .set({ pausedNotified: true })
          .where(and(eq(dailyStats.accountId, accountId), eq(dailyStats.day, day), eq(dailyStats.pausedNotified, false)))
          .returning({ day: dailyStats.day });
        await tx
          .update(exchangeAccounts)
          .set({ pausedUntil: until, updatedAt: sql`now()` })
          .where(eq(exchangeAccounts.id, accountId));
        if (marked.length === 0) return false;
        if (feed.length > 0) await tx.insert(feedOutbox).values(feed);
        return true;
      });
    },

    /** Live bot orders of one account (for /panic), oldest first. */
    liveOrdersOf(accountId: string) {
      return db
        .select()
        .from(orders)
        .where(and(eq(orders.accountId, accountId), inArray(orders.status, [...LIVE_ORDER_STATES])))
        .orderBy(asc(orders.createdAt));
    },

    /**
     * Realised PnL per account and UTC day of one owner's accounts in one server (the /pnl chart),
     * oldest first; `sinceDay` is inclusive. Scoped by the owner's Discord id.
     */
    dailyPnlOfOwner(ownerId: string, guildId: string, sinceDay: string | null, accountId?: string | null) {
      return db
        .select({ accountId: dailyStats.accountId, name: exchangeAccounts.name, day: dailyStats.day, pnl: dailyStats.realizedPnl })
        .from(dailyStats)
        .innerJoin(exchangeAccounts, eq(exchangeAccounts.id, dailyStats.accountId))
        .where(
          and(
            eq(exchangeAccounts.ownerId, ownerId),
            eq(exchangeAccounts.guildId, guildId),
            sinceDay === null ? undefined : gte(dailyStats.day, sinceDay),
            accountId ? eq(exchangeAccounts.id, accountId) : undefined,
          ),
        )
        .orderBy(asc(exchangeAccounts.name), asc(dailyStats.day));
    },

    async executionOf(signalId: string, accountId: string): Promise<ExecutionRow | null> {
      const [row] = await db
        .select()
        .from(executions)
        .where(and(eq(executions.signalId, signalId), eq(executions.accountId, accountId)));
      return row ?? null;
    },
  };
}

export type PositionsRepository = ReturnType<typeof positionsRepository>;
