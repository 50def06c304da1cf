/**
 * The figures risk limits read per account and member: the day's trades and realised PnL, the
 * reservation of a day's trade, copied quantities, closed trades for Kelly, open exposure (part of
 * the trading repository, which spreads these methods in).
 */
import { and, eq, inArray, like, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { executeRows } from '../executeRows';
import { dailyStats, exchangeAccounts, executions, orders, positions, signals } from '../schema';
import { signedFill } from './copy';
import { NO_POSITION } from './positions';

export function riskFigures(db: Database) {
  return {
    /** Today's figures of many accounts at once (one query per batch instead of one per account). */
    async dayFiguresOf(
      accountIds: string[],
      day: string,
    ): Promise<Map<string, { trades: number; realizedPnl: number; startEquity: number | null }>> {
      const out = new Map<string, { trades: number; realizedPnl: number; startEquity: number | null }>();
      if (accountIds.length === 0) return out;
      const rows = await db
        .select()
        .from(dailyStats)
        .where(and(inArray(dailyStats.accountId, accountIds), eq(dailyStats.day, day)));
      for (const row of rows) {
        out.set(row.accountId, {
          trades: row.trades,
          realizedPnl: row.realizedPnl,
          startEquity: row.startEquity,
        });
      }
      return out;
    },

    async dayFigures(
      accountId: string,
      day: string,
    ): Promise<{ trades: number; realizedPnl: number; startEquity: number | null }> {
      const [row] = await db
        .select()
        .from(dailyStats)
        .where(and(eq(dailyStats.accountId, accountId), eq(dailyStats.day, day)));
      return {
        trades: row?.trades ?? 0,
        realizedPnl: row?.realizedPnl ?? 0,
        startEquity: row?.startEquity ?? null,
      };
    },

    /**
     * Reserves one of the account's trades of `day` for the execution before its entry is sent, in
     * one statement per table (so two executions of one account, in one batch or in two processes,
     * cannot both take the last slot): 'reserved' (also when this execution reserved before, a resumed
     * one), 'limit' when the day's trades already reached `maxTrades`, 'lost' when the execution is no
     * longer in flight under `claimedBy` (nothing is reserved then).
     */
    async reserveDailyTrade(
      execution: { id: string; accountId: string },
      day: string,
      maxTrades: number,
      claimedBy: string,
    ): Promise<'reserved' | 'limit' | 'lost'> {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .select({
            tradeDay: executions.tradeDay,
            claimedBy: executions.claimedBy,
            status: executions.status,
          })
          .from(executions)
          .where(eq(executions.id, execution.id))
          .for('update');
        if (!row || row.claimedBy !== claimedBy || row.status !== 'in-flight') return 'lost';
        if (row.tradeDay !== null) return 'reserved';
        const counted = await tx
          .insert(dailyStats)
          .values({ accountId: execution.accountId, day, trades: 1 })
          .onConflictDoUpdate({
            target: [dailyStats.accountId, dailyStats.day],
            set: { trades: sql`${dailyStats.trades} + 1` },
            setWhere: sql`${dailyStats.trades} < ${maxTrades}`,
          })
          .returning({ trades: dailyStats.trades });
        if (counted.length === 0) return 'limit';
        await tx.update(executions).set({ tradeDay: day }).where(eq(executions.id, execution.id));
        return 'reserved';
      });
    },

    /** Records the equity an account starts the UTC day with (first sync of the day wins). */
    async recordStartEquity(accountId: string, day: string, equity: number): Promise<void> {
      await db
        .insert(dailyStats)
        .values({ accountId, day, startEquity: equity })
        .onConflictDoUpdate({
          target: [dailyStats.accountId, dailyStats.day],
          set: { startEquity: sql`coalesce(${dailyStats.startEquity}, ${equity})` },
        });
    },

    /**
     * What copy trading holds on an account's (symbol, side): its open copied positions, plus copy
     * fills not in one (not booked yet, or from before the book followed copies): opens less reduces. A copy's reduce or close acts on this, never
     * on the member's own position on the coin.
     */
    async copiedQuantity(accountId: string, symbol: string, side: 'long' | 'short'): Promise<number> {
      const [booked] = await db
        .select({ quantity: sql<string>`coalesce(sum(${positions.quantity}), 0)::text` })
        .from(positions)
        .innerJoin(signals, eq(signals.id, positions.signalId))
        .where(
          and(
            eq(positions.accountId, accountId),
            eq(positions.symbol, symbol),
            eq(positions.side, side),
            eq(positions.status, 'open'),
            eq(signals.source, 'copy'),
          ),
        );
      const [unbooked] = await db
        .select({
          quantity: sql<string>`coalesce(sum(${signedFill}), 0)::text`,
        })
        .from(orders)
        .innerJoin(signals, eq(signals.id, orders.signalId))
        .where(
          and(
            eq(orders.accountId, accountId),
            eq(orders.symbol, symbol),
            eq(signals.source, 'copy'),
            eq(signals.side, side),
            // Not booked yet, or copied before the book followed copies (marked NO_POSITION): still copied.
            sql`(${orders.positionId} is null or ${orders.positionId} = ${NO_POSITION}::uuid)`,
            sql`${orders.filledQuantity} > 0`,
          ),
        );
      const total = Number(booked?.quantity ?? 0) + Number(unbooked?.quantity ?? 0);
      return total > 0 ? total : 0;
    },

    /** Realised PnL of the account's last closed positions, oldest first (Kelly sizing input). */
    async closedTradePnls(accountId: string, limit: number): Promise<number[]> {
      const rows = await db
        .select({ pnl: positions.realizedPnl })
        .from(positions)
        .where(and(eq(positions.accountId, accountId), eq(positions.status, 'closed')))
        .orderBy(sql`${positions.closedAt} desc`)
        .limit(limit);
      return rows.map((row) => row.pnl).reverse();
    },

    /**
     * What each account has open, by symbol and side: open positions (the bot's and copied ones) and
     * entries still working. One query for a batch of accounts.
     */
    async openExposuresOf(
      accountIds: string[],
    ): Promise<Map<string, { symbol: string; side: 'long' | 'short' }[]>> {
      const out = new Map<string, { symbol: string; side: 'long' | 'short' }[]>(
        accountIds.map((id) => [id, []]),
      );
      if (accountIds.length === 0) return out;
      const open = await db
        .selectDistinct({ accountId: positions.accountId, symbol: positions.symbol, side: positions.side })
        .from(positions)
        .where(and(inArray(positions.accountId, accountIds), eq(positions.status, 'open')));
      const entries = await db
        .selectDistinct({ accountId: orders.accountId, symbol: orders.symbol, side: signals.side })
        .from(orders)
        .innerJoin(signals, eq(signals.id, orders.signalId))
        .where(
          and(
            inArray(orders.accountId, accountIds),
            like(orders.leg, 'e%'),
            inArray(orders.status, ['intent', 'unknown', 'open', 'partially-filled']),
          ),
        );
      for (const row of [...open, ...entries])
        out.get(row.accountId)?.push({ symbol: row.symbol, side: row.side });
      return out;
    },

    /**
     * Live conditional orders (stops, take-profit triggers) per account and symbol: the exchange caps
     * them per symbol (Binance -4045), and new exits are planned within what is left.
     */
    async liveConditionalCounts(accountIds: string[]): Promise<Map<string, Map<string, number>>> {
      const out = new Map<string, Map<string, number>>(accountIds.map((id) => [id, new Map()]));
      if (accountIds.length === 0) return out;
      const rows = await db
        .select({ accountId: orders.accountId, symbol: orders.symbol, count: sql<number>`count(*)::int` })
        .from(orders)
        .where(
          and(
            inArray(orders.accountId, accountIds),
            inArray(orders.type, ['stop-loss', 'take-profit']),
            inArray(orders.status, ['intent', 'unknown', 'open', 'partially-filled']),
          ),
        )
        .groupBy(orders.accountId, orders.symbol);
      for (const row of rows) out.get(row.accountId)?.set(row.symbol, row.count);
      return out;
    },

    /**
     * The member's exposure in one base asset across all their accounts (notional at entry prices):
     * open positions, plus entries that may still fill — resting or partly filled limit entries (what
     * is left of them) and entries sent or about to be sent whose answer is not known — plus planned
     * executions whose entries are not written yet. A limit entry is exposure the moment it rests:
     * four resting entries must not each pass a cap that only counts what has filled. Counted within
     * one mode (live, demo, paper: only live is money); reduce-only orders add nothing.
     */
    async memberExposure(ownerId: string, mode: string, base: string): Promise<number> {
      const pattern = `${base}/%`;
      const [row] = await executeRows<{ exposure: number }>(
        db,
        sql`
        select (
          (select coalesce(sum(p.quantity * coalesce(p.average_entry_price, 0)), 0)
             from ${positions} p join ${exchangeAccounts} a on a.id = p.account_id
            where p.owner_id = ${ownerId} and a.mode = ${mode} and p.symbol like ${pattern} and p.status = 'open')
          +
          (select coalesce(sum((o.quantity - o.filled_quantity)
                    * coalesce(o.price, e.notional / nullif(e.quantity, 0), 0)), 0)
             from ${orders} o join ${executions} e on e.id = o.execution_id
                  join ${exchangeAccounts} a on a.id = o.account_id
            where o.owner_id = ${ownerId} and a.mode = ${mode} and o.symbol like ${pattern} and o.leg like 'e%'
              and not o.reduce_only
              and o.status in ('intent', 'unknown', 'open', 'partially-filled'))
          +
          (select coalesce(sum(e.notional), 0)
             from ${executions} e join ${exchangeAccounts} a on a.id = e.account_id
            where e.owner_id = ${ownerId} and a.mode = ${mode} and e.symbol like ${pattern} and e.status = 'in-flight'
              and e.notional is not null
              and not exists (select 1 from ${orders} o where o.execution_id = e.id and o.leg like 'e%'))
        )::float8 as exposure`,
      );
      return Number(row?.exposure ?? 0);
    },
  };
}
