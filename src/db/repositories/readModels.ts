import { and, asc, count, desc, eq, gte, inArray, isNull, like, or, sql } from 'drizzle-orm';
import type { FeeCharge } from '../../domain/fees';
import type { Database } from '../client';
import { exchangeAccounts, executions, feedOutbox, orders, positions } from '../schema';
import type { orderStatuses } from '../schema';
import { isUuid } from './ids';
import type { OutboxRow } from './outbox';

export type OrderStatus = (typeof orderStatuses)[number];

/** A closed position with the fees of its filled orders, per currency. */
export interface ClosedPositionFees {
  id: string;
  signalId: string;
  symbol: string;
  side: 'long' | 'short';
  openedAt: Date;
  closedAt: Date;
  realizedPnl: number;
  funding: number;
  fees: FeeCharge[];
}

/** One order as `/orders` shows it: the order and the name of the account it belongs to. */
export interface OwnedOrderRow {
  id: string;
  accountId: string;
  accountName: string;
  exchangeId: string;
  signalId: string;
  leg: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit' | 'stop-loss' | 'take-profit';
  status: OrderStatus;
  quantity: number;
  filledQuantity: number;
  price: number | null;
  triggerPrice: number | null;
  averagePrice: number | null;
  reason: string | null;
  createdAt: Date;
}

export interface OwnedOrdersQuery {
  guildId?: string;
  accountId?: string;
  statuses?: readonly OrderStatus[];
  limit: number;
  offset: number;
}

/** One position as `/pnl` needs it. */
export interface OwnedPositionRow {
  id: string;
  accountId: string;
  symbol: string;
  side: 'long' | 'short';
  status: 'open' | 'closed';
  quantity: number;
  averageEntryPrice: number | null;
  realizedPnl: number;
  fees: number;
  closedAt: Date | null;
  openedAt: Date;
}

/**
 * Read models behind the personal views (/orders, /pnl): every query takes the owner's Discord id
 * and filters on it, so another member's account id simply finds nothing. Also the feed poster's
 * delivery bookkeeping that the outbox repository does not cover (batch reservation).
 */
export function readModels(db: Database) {
  const ownedOrders = (ownerId: string, query: Omit<OwnedOrdersQuery, 'limit' | 'offset'>) =>
    and(
      eq(orders.ownerId, ownerId),
      eq(exchangeAccounts.ownerId, ownerId),
      query.guildId === undefined ? undefined : eq(exchangeAccounts.guildId, query.guildId),
      query.accountId === undefined ? undefined : eq(orders.accountId, query.accountId),
      query.statuses === undefined || query.statuses.length === 0 ? undefined : inArray(orders.status, [...query.statuses]),
    );

  return {
    /** The owner's orders, newest first, with the total for paging. A malformed account id finds nothing. */
    async ordersOfOwner(ownerId: string, query: OwnedOrdersQuery): Promise<{ rows: OwnedOrderRow[]; total: number }> {
      if (query.accountId !== undefined && !isUuid(query.accountId)) return { rows: [], total: 0 };
      const where = ownedOrders(ownerId, query);
      const [totalRow] = await db
        .select({ total: count() })
        .from(orders)
        .innerJoin(exchangeAccounts, eq(exchangeAccounts.id, orders.accountId))
        .where(where);
      const rows = await db
        .select({
          id: orders.id,
          accountId: orders.accountId,
          accountName: exchangeAccounts.name,
          exchangeId: exchangeAccounts.exchangeId,
          signalId: orders.signalId,
          leg: orders.leg,
          symbol: orders.symbol,
          side: orders.side,
          type: orders.type,
          status: orders.status,
          quantity: orders.quantity,
          filledQuantity: orders.filledQuantity,
          price: orders.price,
          triggerPrice: orders.triggerPrice,
          averagePrice: orders.averagePrice,
          reason: orders.reason,
          createdAt: orders.createdAt,
        })
        .from(orders)
        .innerJoin(exchangeAccounts, eq(exchangeAccounts.id, orders.accountId))
        .where(where)
        .orderBy(desc(orders.createdAt), desc(orders.leg), desc(orders.id))
        .limit(query.limit)
        .offset(query.offset);
      return { rows, total: totalRow?.total ?? 0 };
    },

    /**
     * The owner's positions that count for a period: open ones, and closed ones closed at or after
     * `since` (null = all time).
     */
    async positionsOfOwner(
      ownerId: string,
      query: { guildId?: string; accountId?: string; since: Date | null },
    ): Promise<OwnedPositionRow[]> {
      if (query.accountId !== undefined && !isUuid(query.accountId)) return [];
      return db
        .select({
          id: positions.id,
          accountId: positions.accountId,
          symbol: positions.symbol,
          side: positions.side,
          status: positions.status,
          quantity: positions.quantity,
          averageEntryPrice: positions.averageEntryPrice,
          realizedPnl: positions.realizedPnl,
          fees: positions.fees,
          closedAt: positions.closedAt,
          openedAt: positions.openedAt,
        })
        .from(positions)
        .innerJoin(exchangeAccounts, eq(exchangeAccounts.id, positions.accountId))
        .where(
          and(
            eq(positions.ownerId, ownerId),
            eq(exchangeAccounts.ownerId, ownerId),
            query.guildId === undefined ? undefined : eq(exchangeAccounts.guildId, query.guildId),
            query.accountId === undefined ? undefined : eq(positions.accountId, query.accountId),
            query.since === null
              ? undefined
              : or(eq(positions.status, 'open'), isNull(positions.closedAt), gte(positions.closedAt, query.since)),
          ),
        )
        .orderBy(asc(positions.openedAt));
    },

    /** Filled entry value per owned account since a time, for the PnL view's "traded" figure. */
    async filledEntriesOfOwner(
      ownerId: string,
      query: { guildId?: string; accountId?: string; since: Date | null },
    ): Promise<{ accountId: string; fills: number }[]> {
      if (query.accountId !== undefined && !isUuid(query.accountId)) return [];
      return db
        .select({ accountId: orders.accountId, fills: sql<number>`count(*)::int` })
        .from(orders)
        .innerJoin(exchangeAccounts, eq(exchangeAccounts.id, orders.accountId))
        .where(
          and(
            eq(orders.ownerId, ownerId),
            eq(exchangeAccounts.ownerId, ownerId),
            like(orders.leg, 'e%'),
            sql`${orders.filledQuantity} > 0`,
            query.guildId === undefined ? undefined : eq(exchangeAccounts.guildId, query.guildId),
            query.accountId === undefined ? undefined : eq(orders.accountId, query.accountId),
            query.since === null ? undefined : gte(orders.createdAt, query.since),
          ),
        )
        .groupBy(orders.accountId);
    },

    /**
     * An account's latest closed positions with every fee their orders paid (the reconciliation).
     * A copied position's orders carry its id; a signal's position owns its (signal, account) orders.
     */
    async closedPositionsWithFees(accountId: string, limit: number): Promise<ClosedPositionFees[]> {
      if (!isUuid(accountId)) return [];
      const closed = await db
        .select({
          id: positions.id,
          signalId: positions.signalId,
          symbol: positions.symbol,
          side: positions.side,
          openedAt: positions.openedAt,
          closedAt: positions.closedAt,
          realizedPnl: positions.realizedPnl,
          funding: positions.funding,
        })
        .from(positions)
        .where(and(eq(positions.accountId, accountId), eq(positions.status, 'closed')))
        .orderBy(desc(positions.closedAt))
        .limit(limit);
      if (closed.length === 0) return [];
      const filled = await db
        .select({ positionId: orders.positionId, signalId: orders.signalId, fees: orders.fees })
        .from(orders)
        .where(
          and(
            eq(orders.accountId, accountId),
            sql`${orders.filledQuantity} > 0`,
            or(inArray(orders.positionId, closed.map((p) => p.id)), and(isNull(orders.positionId), inArray(orders.signalId, closed.map((p) => p.signalId)))),
          ),
        );
      return closed.map((position) => ({
        ...position,
        closedAt: position.closedAt ?? position.openedAt,
        fees: filled
          .filter((o) => (o.positionId === null ? o.signalId === position.signalId : o.positionId === position.id))
          .flatMap((o) => o.fees),
      }));
    },

    /** How many accounts each signal went to (executions), for the feed's compaction threshold. */
    async accountsPerSignal(signalIds: readonly string[]): Promise<Map<string, number>> {
      const ids = signalIds.filter(isUuid);
      if (ids.length === 0) return new Map();
      const rows = await db
        .select({ signalId: executions.signalId, accounts: sql<number>`count(*)::int` })
        .from(executions)
        .where(inArray(executions.signalId, ids))
        .groupBy(executions.signalId);
      return new Map(rows.map((row) => [row.signalId, row.accounts]));
    },

    /**
     * Write-ahead of a feed batch: the rows that will go out in one message are tagged with the
     * message's nonce before it is sent, so after a crash they are sent again together, with the
     * same nonce, and Discord's `enforce_nonce` returns the message instead of posting it twice.
     */
    /** Every still pending row of the given reserved batches (to complete a batch cut by a page limit). */
    async pendingOfFeedBatches(tags: readonly string[]): Promise<OutboxRow[]> {
      if (tags.length === 0) return [];
      return db
        .select()
        .from(feedOutbox)
        .where(and(eq(feedOutbox.status, 'pending'), inArray(feedOutbox.messageId, [...tags])))
        .orderBy(asc(feedOutbox.id));
    },

    /** Counts of the owner's accounts in a guild, for /help and /setup show. */
    async accountCounts(guildId: string): Promise<{ accounts: number; enabled: number; members: number }> {
      const [row] = await db
        .select({
          accounts: sql<number>`count(*)::int`,
          enabled: sql<number>`count(*) filter (where ${exchangeAccounts.enabled})::int`,
          members: sql<number>`count(distinct ${exchangeAccounts.ownerId})::int`,
        })
        .from(exchangeAccounts)
        .where(eq(exchangeAccounts.guildId, guildId));
      return { accounts: row?.accounts ?? 0, enabled: row?.enabled ?? 0, members: row?.members ?? 0 };
    },
  };
}

export type ReadModels = ReturnType<typeof readModels>;
