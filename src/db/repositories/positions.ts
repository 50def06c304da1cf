/**
 * Positions and what the lifecycle reads and writes of them: the watched orders of a sync pass,
 * exit progress with its feed rows, closes with their PnL and the day's figures, the daily-loss
 * pause. Its size: one repository for the position aggregate, whose writes go together in one
 * transaction each (a close, its figures and its feed rows).
 */
import { and, asc, eq, gt, gte, inArray, isNull, lt, lte, notInArray, or, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { dailyStats, exchangeAccounts, executions, orders, positions, signals } from '../schema';
import { enqueueFeed, type NewOutboxRow } from './outbox';
import type { FeeCharge } from '../../domain/fees';
import { kindOf } from '../../domain/lifecycle/legs';
import { dec, toNumber } from '../../domain/precision';
import { utcDayKey } from '../../domain/risk';
import type { SyncSnapshot, WatchedOrder, WatchedPosition } from '../../domain/syncPriority';
import type { ExecutionRow, NewPosition, OrderRow, PositionRow } from './trading';

/** Order states that may still change on the exchange (or are not known yet). */
export const LIVE_ORDER_STATES = ['intent', 'unknown', 'open', 'partially-filled'] as const;

/**
 * `orders.position_id` of a copy fill that was looked at and belongs to no followed position (a
 * reduction of a position opened before copied positions were followed): booked as "nothing".
 */
export const NO_POSITION = '00000000-0000-0000-0000-000000000000';

/** A copy order not booked into a position yet, with what booking it needs. */
export interface UnbookedCopyOrder {
  order: OrderRow;
  side: 'long' | 'short';
  leverage: number | null;
}

/** Where a copy fill goes when no open copied position takes it: a new one opened by this fill. */
export type CopyPositionSeed = Pick<NewPosition, 'accountId' | 'ownerId' | 'symbol' | 'side' | 'leverage' | 'openedAt'>;

export type CopyBooking =
  | { kind: 'booked'; position: PositionRow }
  | { kind: 'already-booked' }
  | { kind: 'no-position' };

/** A filled order of a closed position whose fee has a part not valued yet. */
export interface UnvaluedFeeOrder {
  orderId: string;
  accountId: string;
  positionId: string;
  symbol: string;
  clientOrderId: string;
  fees: readonly FeeCharge[];
  closedAt: Date;
}

export interface PositionClose {
  /** The trading part (exits against entries, fees); funding booked on the position is added to it. */
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
type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** The trading part of what a position has booked as realised (its realised PnL less its funding), locked; null when not in `status`. */
async function bookedTrading(tx: Tx, id: string, status: 'open' | 'closed'): Promise<number | null> {
  const [row] = await tx
    .select({ realizedPnl: positions.realizedPnl, funding: positions.funding })
    .from(positions)
    .where(and(eq(positions.id, id), eq(positions.status, status)))
    .for('update');
  return row ? toNumber(dec(row.realizedPnl).minus(dec(row.funding))) : null;
}

/** Adds realised PnL to an account's day (the daily-loss check and the /pnl chart read it). */
export async function addToDay(tx: Tx, accountId: string, day: string, amount: number): Promise<void> {
  if (amount === 0) return;
  await tx
    .insert(dailyStats)
    .values({ accountId, day, realizedPnl: amount })
    .onConflictDoUpdate({ target: [dailyStats.accountId, dailyStats.day], set: { realizedPnl: sql`${dailyStats.realizedPnl} + ${amount}` } });
}

export function positionsRepository(db: Database) {
  // Copy signals' orders and positions are followed by src/copy/copyPositions.ts, not by positionSync:
  // a copied position grows and shrinks over many signals, which positionSync's one-signal view would undo.
  const copySignalIds = () => db.select({ id: signals.id }).from(signals).where(eq(signals.source, 'copy'));
  // An entry recorded as filled whose position was never written (the process died in between): the
  // execution is still followed, or the fill would be left without a position and without a stop.
  // For queries over `executions`.
  const unbookedFill = sql`(exists (select 1 from ${orders} o where o.execution_id = ${executions.id} and o.leg like 'e%' and o.filled_quantity > 0) and not exists (select 1 from ${positions} p where p.signal_id = ${executions.signalId} and p.account_id = ${executions.accountId}))`;

  return {
    /**
     * What the position sync ranks its accounts by (src/domain/syncPriority.ts): per account with an
     * open bot position or a live bot order of a finished execution (copies excluded), those positions
     * and orders.
     */
    async syncSnapshots(): Promise<SyncSnapshot[]> {
      const open = await db
        .select({
          accountId: positions.accountId,
          signalId: positions.signalId,
          symbol: positions.symbol,
          side: positions.side,
          stopLoss: positions.stopLoss,
        })
        .from(positions)
        .where(and(eq(positions.status, 'open'), notInArray(positions.signalId, copySignalIds())));
      const live = await db
        .select({
          accountId: orders.accountId,
          signalId: orders.signalId,
          symbol: orders.symbol,
          side: orders.side,
          type: orders.type,
          status: orders.status,
          price: orders.price,
          triggerPrice: orders.triggerPrice,
        })
        .from(orders)
        .innerJoin(executions, eq(executions.id, orders.executionId))
        .where(
          and(
            inArray(orders.status, [...LIVE_ORDER_STATES]),
            eq(executions.status, 'placed'),
            notInArray(orders.signalId, copySignalIds()),
          ),
        );
      const unbooked = await db
        .selectDistinct({ accountId: executions.accountId })
        .from(executions)
        .where(and(eq(executions.status, 'placed'), notInArray(executions.signalId, copySignalIds()), unbookedFill));
      const ids = [...new Set([...open, ...live, ...unbooked].map((row) => row.accountId))];
      if (ids.length === 0) return [];
      const markets = await db
        .select({ id: exchangeAccounts.id, marketType: exchangeAccounts.marketType })
        .from(exchangeAccounts)
        .where(inArray(exchangeAccounts.id, ids));
      const byAccount = new Map(
        markets.map((m) => [
          m.id,
          { accountId: m.id, marketType: m.marketType, openPositions: [] as WatchedPosition[], liveOrders: [] as WatchedOrder[], unbookedFill: false },
        ]),
      );
      for (const u of unbooked) {
        const snapshot = byAccount.get(u.accountId);
        if (snapshot) snapshot.unbookedFill = true;
      }
      for (const p of open) {
        byAccount.get(p.accountId)?.openPositions.push({ signalId: p.signalId, symbol: p.symbol, side: p.side, stopLoss: p.stopLoss });
      }
      for (const o of live) {
        byAccount.get(o.accountId)?.liveOrders.push({
          signalId: o.signalId,
          symbol: o.symbol,
          side: o.side,
          type: o.type,
          status: o.status as WatchedOrder['status'],
          level: o.type === 'limit' ? o.price : o.type === 'market' ? null : o.triggerPrice,
        });
      }
      return [...byAccount.values()];
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
            notInArray(executions.signalId, copySignalIds()),
            sql`(${executions.id} in (${withLiveOrders}) or ${executions.id} in (${withOpenPosition}) or ${unbookedFill})`,
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

    /** Open positions of the bot's own signals (copied ones follow their master, see openCopyPositions). */
    openPositionsOf(accountId: string): Promise<PositionRow[]> {
      return db
        .select()
        .from(positions)
        .where(and(eq(positions.accountId, accountId), eq(positions.status, 'open'), notInArray(positions.signalId, copySignalIds())));
    },

    /**
     * Every order the bot keeps for the account on the symbol (any signal, any position): the trades an
     * external close is priced from must not include the bot's own fills of another position.
     */
    botOrdersOnSymbol(accountId: string, symbol: string): Promise<OrderRow[]> {
      return db.select().from(orders).where(and(eq(orders.accountId, accountId), eq(orders.symbol, symbol)));
    },

    /** What the entries of these signals' executions on the account have filled, per signal (0 when none). */
    async entryFillsOf(accountId: string, signalIds: readonly string[]): Promise<Map<string, number>> {
      const out = new Map(signalIds.map((id): [string, number] => [id, 0]));
      if (signalIds.length === 0) return out;
      const rows = await db
        .select({ signalId: orders.signalId, leg: orders.leg, filledQuantity: orders.filledQuantity })
        .from(orders)
        .where(and(eq(orders.accountId, accountId), inArray(orders.signalId, [...signalIds])));
      for (const row of rows)
        if (kindOf(row) === 'entry') out.set(row.signalId, toNumber(dec(out.get(row.signalId) ?? 0).plus(dec(row.filledQuantity))));
      return out;
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
        if (raised.length > 0) await enqueueFeed(tx, feed);
      });
    },

    /**
     * Closes an open position, adds its realised PnL to the day's statistics and writes its feed rows,
     * in one transaction; a position already closed (another process got there first) is left alone.
     */
    async closePosition(id: string, accountId: string, close: PositionClose): Promise<boolean> {
      return db.transaction(async (tx) => {
        const booked = await bookedTrading(tx, id, 'open');
        if (booked === null) return false;
        const done = await tx
          .update(positions)
          .set({
            status: 'closed',
            quantity: 0,
            realizedPnl: sql`${close.realizedPnl} + ${positions.funding}`,
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
        await addToDay(tx, accountId, close.day, toNumber(dec(close.realizedPnl).minus(dec(booked))));
        await enqueueFeed(tx, close.feed);
        return true;
      });
    },

    /**
     * Realises what an open position's exits have gained so far (take-profits hit, partial closes):
     * its realised PnL becomes `trading` (plus its funding), and the change since the last booking
     * counts for `day`, so the day's figures, the daily-loss check and /pnl see a partial exit when it
     * fills, not when the position closes.
     */
    async bookRealised(id: string, accountId: string, trading: number, day: string): Promise<void> {
      await db.transaction(async (tx) => {
        const booked = await bookedTrading(tx, id, 'open');
        if (booked === null) return;
        const change = dec(trading).minus(dec(booked));
        if (change.eq(0)) return;
        await tx
          .update(positions)
          .set({ realizedPnl: sql`${trading} + ${positions.funding}`, updatedAt: sql`now()` })
          .where(eq(positions.id, id));
        await addToDay(tx, accountId, day, toNumber(change));
      });
    },

    /**
     * Filled orders of recently closed positions with a fee not valued yet (a BNB price that could not
     * be read at the close), oldest first: the fee corrections look them up again.
     */
    async unvaluedFeesOfClosed(closedSince: Date, now: Date, limit: number): Promise<UnvaluedFeeOrder[]> {
      return db
        .select({
          orderId: orders.id,
          accountId: positions.accountId,
          positionId: positions.id,
          symbol: orders.symbol,
          clientOrderId: orders.clientOrderId,
          fees: orders.fees,
          closedAt: positions.closedAt,
        })
        .from(orders)
        .innerJoin(
          positions,
          or(eq(orders.positionId, positions.id), and(isNull(orders.positionId), eq(orders.signalId, positions.signalId), eq(orders.accountId, positions.accountId))),
        )
        .where(
          and(
            // The partial index orders_unvalued_fees: only orders with a fee not valued, due now.
            sql`${orders.feesUnvalued}`,
            or(isNull(orders.feesRetryAt), lte(orders.feesRetryAt, now)),
            eq(positions.status, 'closed'),
            gte(positions.closedAt, closedSince),
            sql`${orders.filledQuantity} > 0`,
          ),
        )
        .orderBy(sql`${orders.feesRetryAt} asc nulls first`, asc(positions.closedAt))
        .limit(limit)
        .then((rows) => rows.map((row) => ({ ...row, closedAt: row.closedAt ?? new Date(0) })));
    },

    /** An order whose fee could not be valued this time: not looked at again before `until` (by any process). */
    async deferFeeRetry(orderId: string, until: Date): Promise<void> {
      await db.update(orders).set({ feesRetryAt: until }).where(eq(orders.id, orderId));
    },

    /**
     * A closed position's fee valued after its close: the order's fees replaced (only if still what was
     * read: once), the position's fees and realised PnL and its close day's figures corrected by the
     * newly valued amount. Returns whether it was applied.
     */
    async correctFees(fix: { orderId: string; positionId: string; accountId: string; before: readonly FeeCharge[]; after: readonly FeeCharge[]; valued: number; day: string }): Promise<boolean> {
      return db.transaction(async (tx) => {
        const changed = await tx
          .update(orders)
          .set({ fees: fix.after, updatedAt: sql`now()` })
          .where(and(eq(orders.id, fix.orderId), sql`${orders.fees} = ${JSON.stringify(fix.before)}::jsonb`))
          .returning({ id: orders.id });
        if (changed.length === 0) return false;
        if (fix.valued === 0) return true;
        await tx
          .update(positions)
          .set({ fees: sql`${positions.fees} + ${fix.valued}`, realizedPnl: sql`${positions.realizedPnl} - ${fix.valued}`, updatedAt: sql`now()` })
          .where(and(eq(positions.id, fix.positionId), eq(positions.status, 'closed')));
        await addToDay(tx, fix.accountId, fix.day, -fix.valued);
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
        await enqueueFeed(tx, feed);
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
        .select({ accountId: dailyStats.accountId, name: exchangeAccounts.name, mode: exchangeAccounts.mode, day: dailyStats.day, pnl: dailyStats.realizedPnl })
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

    /**
     * Copy orders of finished executions not booked into a position yet, oldest first: live ones (to
     * look up) and those with fills. `position_id` is the booking mark, so each fill counts once.
     */
    unbookedCopyOrders(): Promise<UnbookedCopyOrder[]> {
      return db
        .select({ order: orders, side: signals.side, leverage: executions.leverage })
        .from(orders)
        .innerJoin(executions, eq(executions.id, orders.executionId))
        .innerJoin(signals, eq(signals.id, orders.signalId))
        .where(
          and(
            eq(signals.source, 'copy'),
            eq(executions.status, 'placed'),
            isNull(orders.positionId),
            or(inArray(orders.status, [...LIVE_ORDER_STATES]), gt(orders.filledQuantity, 0)),
          ),
        )
        .orderBy(asc(orders.createdAt), asc(orders.id));
    },

    /**
     * Books one copy fill into the follower's open copied position of its (symbol, side), opening
     * one from `seed` when there is none and the fill opens; then sets the position's figures from
     * every fill booked into it. One transaction, serialised per follower, and the order's
     * `position_id` is the mark: a repeated cycle or a second process books nothing twice.
     */
    async bookCopyFill(
      orderId: string,
      seed: CopyPositionSeed & { id: string; signalId: string },
      opens: boolean,
      figures: (booked: OrderRow[]) => Partial<NewPosition>,
    ): Promise<CopyBooking> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`copy-position:${seed.accountId}`}))`);
        const [order] = await tx
          .select({ id: orders.id })
          .from(orders)
          .where(and(eq(orders.id, orderId), isNull(orders.positionId)))
          .for('update');
        if (!order) return { kind: 'already-booked' as const };
        let [position] = await tx
          .select()
          .from(positions)
          .where(
            and(
              eq(positions.accountId, seed.accountId),
              eq(positions.symbol, seed.symbol),
              eq(positions.side, seed.side),
              eq(positions.status, 'open'),
              inArray(positions.signalId, copySignalIds()),
            ),
          )
          .orderBy(asc(positions.openedAt))
          .limit(1);
        if (!position) {
          if (!opens) {
            await tx.update(orders).set({ positionId: NO_POSITION }).where(eq(orders.id, orderId));
            return { kind: 'no-position' as const };
          }
          [position] = await tx.insert(positions).values(seed).returning();
          if (!position) throw new Error('copied position not written');
        }
        await tx.update(orders).set({ positionId: position.id }).where(eq(orders.id, orderId));
        const booked = await tx.select().from(orders).where(eq(orders.positionId, position.id)).orderBy(asc(orders.createdAt), asc(orders.id));
        const { realizedPnl: trading, ...rest } = figures(booked);
        const before = dec(position.realizedPnl).minus(dec(position.funding));
        const [updated] = await tx
          .update(positions)
          .set({ ...rest, ...(trading === undefined ? {} : { realizedPnl: sql`${trading} + ${positions.funding}` }), updatedAt: sql`now()` })
          .where(eq(positions.id, position.id))
          .returning();
        // A reduce realises its share when it is booked (see bookRealised); the seed's time is now.
        if (trading !== undefined) await addToDay(tx, seed.accountId, utcDayKey((seed.openedAt ?? new Date()).getTime()), toNumber(dec(trading).minus(before)));
        return { kind: 'booked' as const, position: updated ?? position };
      });
    },

    /** Open copied positions (every account), oldest first. */
    openCopyPositions(): Promise<PositionRow[]> {
      return db
        .select()
        .from(positions)
        .where(and(eq(positions.status, 'open'), inArray(positions.signalId, copySignalIds())))
        .orderBy(asc(positions.openedAt));
    },

    /** Open copied positions of one account (for /panic), oldest first. */
    openCopyPositionsOf(accountId: string): Promise<PositionRow[]> {
      return db
        .select()
        .from(positions)
        .where(and(eq(positions.accountId, accountId), eq(positions.status, 'open'), inArray(positions.signalId, copySignalIds())))
        .orderBy(asc(positions.openedAt));
    },

    /** Live copy orders of one account (for /panic), oldest first. */
    liveCopyOrdersOf(accountId: string): Promise<OrderRow[]> {
      return db
        .select()
        .from(orders)
        .where(and(eq(orders.accountId, accountId), inArray(orders.status, [...LIVE_ORDER_STATES]), inArray(orders.signalId, copySignalIds())))
        .orderBy(asc(orders.createdAt), asc(orders.id));
    },

    /** The fills booked into a position, oldest first. */
    ordersOfPosition(positionId: string): Promise<OrderRow[]> {
      return db.select().from(orders).where(eq(orders.positionId, positionId)).orderBy(asc(orders.createdAt), asc(orders.id));
    },

    /** Accounts with a copy execution the engine has not finished (its fills are not bookable yet). */
    async accountsWithUnfinishedCopies(): Promise<Set<string>> {
      const rows = await db
        .selectDistinct({ accountId: executions.accountId })
        .from(executions)
        .where(and(inArray(executions.status, ['pending', 'in-flight']), inArray(executions.signalId, copySignalIds())));
      return new Set(rows.map((row) => row.accountId));
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
