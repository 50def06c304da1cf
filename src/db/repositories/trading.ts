import { and, asc, eq, gte, inArray, like, ne, notInArray, or, sql, type SQLWrapper } from 'drizzle-orm';
import type { Database } from '../client';
import { executeRows } from '../executeRows';
import { jsonRows } from '../jsonRows';
import {
  accountLeases,
  dailyStats,
  engineInstances,
  exchangeAccounts,
  executions,
  feedOutbox,
  orders,
  positions,
  signals,
} from '../schema';
import { signedFill } from './copy';
import { NO_POSITION } from './positions';
import { enqueueFeed, type NewOutboxRow } from './outbox';

export type ExecutionRow = typeof executions.$inferSelect;
export type NewExecution = typeof executions.$inferInsert;
/** What an execution records of its plan before its orders are sent. */
export type ExecutionPlanPatch = Partial<
  Pick<NewExecution, 'symbol' | 'leverage' | 'leverageCapped' | 'quantity' | 'notional' | 'margin' | 'notes'>
>;
export type OrderRow = typeof orders.$inferSelect;
export type NewOrder = typeof orders.$inferInsert;
export type PositionRow = typeof positions.$inferSelect;
export type NewPosition = typeof positions.$inferInsert;

/** Execution states after which nothing more will happen for that (signal, account). */
export const DEFINITE_EXECUTION_STATES = [
  'placed',
  'skipped',
  'failed',
  'not-placed',
  'dry-run',
  'cancelled',
] as const;
/** Order states whose outcome is not known yet: reconciled before anything new is sent. */
export const IN_FLIGHT_ORDER_STATES = ['intent', 'unknown'] as const;

export interface ExecutionOutcome {
  status: (typeof DEFINITE_EXECUTION_STATES)[number];
  reason: string | null;
  /** The plan's figures, recorded with the outcome. */
  symbol?: string | null;
  leverage?: number | null;
  quantity?: number | null;
  notional?: number | null;
  margin?: number | null;
  feed: NewOutboxRow[];
  /** Counted in the day's trades when an entry was placed. */
  countsAsTrade: boolean;
  day: string;
}

/** Order columns a batched patch may set: [column name, SQL type]. */
const ORDER_COLUMN_TYPES = {
  status: ['status', 'text'],
  exchangeOrderId: ['exchange_order_id', 'text'],
  fillOrderId: ['fill_order_id', 'text'],
  filledQuantity: ['filled_quantity', 'numeric'],
  averagePrice: ['average_price', 'numeric'],
  fees: ['fees', 'jsonb'],
  reason: ['reason', 'text'],
  attempts: ['attempts', 'int'],
  sentAt: ['sent_at', 'bigint'],
  positionId: ['position_id', 'uuid'],
  quantity: ['quantity', 'numeric'],
  price: ['price', 'numeric'],
  triggerPrice: ['trigger_price', 'numeric'],
} as const;

/**
 * The claim an order is sent under: an execution claimed by this process, or the account's lease of a
 * background task. Held only while the holder's heartbeat is at least `freshSince`.
 */
export type SendClaim =
  | { kind: 'execution'; executionId: string; holder: string; freshSince: Date }
  | {
      kind: 'lease';
      task: (typeof accountLeases.task.enumValues)[number];
      accountId: string;
      holder: string;
      freshSince: Date;
    };

/** What the summary needs: one line per execution of the signal. */
export interface SummaryRow {
  status: ExecutionRow['status'];
  reason: string | null;
  accountName: string;
  ownerId: string;
  notional: number | null;
  shareAmounts: boolean;
  filled: boolean;
}

/** Advisory lock key space of execution claims (one lock per account, held until the claim commits). */
const CLAIM_LOCK_SPACE = 1_101_001;

export function tradingRepository(db: Database) {
  return {
    /** Idempotent: a (signal, account) pair gets exactly one execution row, whoever fans out. */
    async createExecutions(rows: NewExecution[]): Promise<void> {
      if (rows.length > 0)
        await db.insert(executions).select(jsonRows(executions, rows)).onConflictDoNothing();
    },

    /**
     * Claims executions to work on (FOR UPDATE SKIP LOCKED: several processes on one PostgreSQL
     * never take the same (signal, account) at once). `abandoned` takes only in-flight executions
     * whose claimer is dead: its heartbeat is older than `staleBefore` or its engine_instances row is
     * gone (a clean stop); `any` takes pending ones too. The order intents a dead claimer left are
     * reconciled before anything is sent (executeAccount's resumed path).
     */
    async claimExecutions(
      instanceId: string,
      limit: number,
      staleBefore: Date,
      which: 'abandoned' | 'any' = 'any',
    ): Promise<ExecutionRow[]> {
      // Whether the process named in `claimedBy` is alive (its heartbeat fresher than `staleBefore`).
      const liveClaimer = (claimedBy: SQLWrapper) =>
        sql`exists (select 1 from ${engineInstances} i where i.id = ${claimedBy} and i.heartbeat_at >= ${staleBefore.toISOString()}::timestamptz)`;
      const abandoned = and(
        eq(executions.status, 'in-flight'),
        sql`not ${liveClaimer(executions.claimedBy)}`,
      );
      // A withdrawn signal starts nothing more: its pending executions are left to
      // cancelPendingOfWithdrawnSignals, whichever process claims next (in-flight ones are still reconciled).
      const notWithdrawn = sql`not exists (select 1 from ${signals} s where s.id = ${executions.signalId} and s.status = 'cancelled')`;
      // One account's executions run in one process at a time: the netting check of one (and the
      // intents it writes) must see what another process's execution of the same account wrote.
      const busyElsewhere = sql`exists (select 1 from ${executions} o where o.account_id = ${executions.accountId} and o.status = 'in-flight' and o.claimed_by <> ${instanceId} and ${liveClaimer(sql.raw('o.claimed_by'))})`;
      return db.transaction(async (tx) => {
        const candidates = await tx
          .select({ id: executions.id, accountId: executions.accountId })
          .from(executions)
          .where(
            and(
              which === 'abandoned'
                ? abandoned
                : or(and(eq(executions.status, 'pending'), notWithdrawn), abandoned),
              sql`not ${busyElsewhere}`,
            ),
          )
          .orderBy(asc(executions.createdAt))
          .limit(limit)
          .for('update', { skipLocked: true });
        if (candidates.length === 0) return [];
        // Two processes claiming at once each see the other's claims only once committed: an advisory
        // lock per account (held to commit) orders them, and the check is made again under it.
        const accountIds = [...new Set(candidates.map((row) => row.accountId))];
        const locked = await executeRows<{ id: string }>(
          tx,
          sql`select a.id from unnest(array[${sql.join(
            accountIds.map((id) => sql`${id}`),
            sql`, `,
          )}]::uuid[]) as a(id) where pg_try_advisory_xact_lock(${CLAIM_LOCK_SPACE}, hashtext(a.id::text))`,
        );
        const lockedIds = locked.map((row) => row.id);
        if (lockedIds.length === 0) return [];
        const busy = await tx
          .selectDistinct({ accountId: executions.accountId })
          .from(executions)
          .where(
            and(
              inArray(executions.accountId, lockedIds),
              eq(executions.status, 'in-flight'),
              ne(executions.claimedBy, instanceId),
              liveClaimer(executions.claimedBy),
            ),
          );
        const blocked = new Set(busy.map((row) => row.accountId));
        const mine = candidates.filter(
          (row) => lockedIds.includes(row.accountId) && !blocked.has(row.accountId),
        );
        if (mine.length === 0) return [];
        return tx
          .update(executions)
          .set({ status: 'in-flight', claimedBy: instanceId, updatedAt: sql`now()` })
          .where(
            inArray(
              executions.id,
              mine.map((row) => row.id),
            ),
          )
          .returning();
      });
    },

    /** In-flight executions this process claimed and has not finished (an answer still unknown). */
    listInFlightOf(instanceId: string): Promise<ExecutionRow[]> {
      return db
        .select()
        .from(executions)
        .where(and(eq(executions.status, 'in-flight'), eq(executions.claimedBy, instanceId)));
    },

    /**
     * Which of `ids` this process still holds: in flight, claimed by it, and its heartbeat in the
     * database at least `freshSince` (so nobody may take them over for a while yet). One statement
     * for many executions.
     */
    async heldExecutions(instanceId: string, ids: string[], freshSince: Date): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await db
        .select({ id: executions.id })
        .from(executions)
        .innerJoin(engineInstances, eq(engineInstances.id, executions.claimedBy))
        .where(
          and(
            inArray(executions.id, ids),
            eq(executions.claimedBy, instanceId),
            eq(executions.status, 'in-flight'),
            gte(engineInstances.heartbeatAt, freshSince),
          ),
        );
      return new Set(rows.map((row) => row.id));
    },

    async touchExecution(id: string, patch: Partial<NewExecution> = {}): Promise<void> {
      await db
        .update(executions)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(executions.id, id));
    },

    /**
     * Many executions' plans (or bare keep-alive touches) in one statement. Columns a patch leaves out
     * keep their value.
     */
    async touchExecutionsMany(patches: { id: string; patch: ExecutionPlanPatch }[]): Promise<void> {
      if (patches.length === 0) return;
      const records = patches.map(({ id, patch }) => ({
        id,
        symbol: patch.symbol ?? null,
        leverage: patch.leverage ?? null,
        leverage_capped: patch.leverageCapped ?? null,
        quantity: patch.quantity ?? null,
        notional: patch.notional ?? null,
        margin: patch.margin ?? null,
        notes: patch.notes ?? null,
      }));
      await db.execute(sql`
        update ${executions} as e set
          updated_at = now(),
          symbol = coalesce(v.symbol, e.symbol), leverage = coalesce(v.leverage, e.leverage),
          leverage_capped = coalesce(v.leverage_capped, e.leverage_capped),
          quantity = coalesce(v.quantity, e.quantity), notional = coalesce(v.notional, e.notional),
          margin = coalesce(v.margin, e.margin), notes = coalesce(v.notes, e.notes)
        from json_to_recordset(${JSON.stringify(records)}::json)
          as v(id uuid, symbol text, leverage int, leverage_capped boolean, quantity numeric, notional numeric, margin numeric, notes text[])
        where e.id = v.id`);
    },

    ordersOfExecution(executionId: string): Promise<OrderRow[]> {
      return db
        .select()
        .from(orders)
        .where(eq(orders.executionId, executionId))
        .orderBy(asc(orders.createdAt));
    },

    /** Persists intents BEFORE they are sent (protocol rule 2); unique on (signal, account, leg). */
    async insertOrders(rows: NewOrder[]): Promise<void> {
      if (rows.length > 0) await db.insert(orders).select(jsonRows(orders, rows)).onConflictDoNothing();
    },

    /**
     * Writes an order's send stamp, the last step before its request leaves; false means it must not
     * be sent. A compare-and-set: written only while the row is still the intent the sender read
     * (status intent, the stamp it saw), so of two senders of one intent (a lease holder and a /panic
     * in another process, say) only one may send it. With a `claim`, also only while that claim is
     * held, in the same statement, locking the claim's row for share (and the holder's instance row
     * against deletion): a takeover either waits for this write and then reads the stamp (so it
     * reconciles the order instead of sending it again), or has already moved the claim.
     */
    async stampSent(
      orderId: string,
      sentAt: number,
      previous: number | null,
      claim: SendClaim | null,
    ): Promise<boolean> {
      const unchanged = sql`status = 'intent' and sent_at is not distinct from ${previous}::bigint`;
      if (claim === null) {
        const rows = await executeRows<{ id: string }>(
          db,
          sql`update ${orders} set sent_at = ${sentAt}, updated_at = now() where id = ${orderId} and ${unchanged} returning id`,
        );
        return rows.length > 0;
      }
      const fresh = sql`${claim.freshSince.toISOString()}::timestamptz`;
      const held =
        claim.kind === 'execution'
          ? sql`select 1 from ${executions} e join ${engineInstances} i on i.id = e.claimed_by
              where e.id = ${claim.executionId} and e.claimed_by = ${claim.holder} and e.status = 'in-flight'
                and i.heartbeat_at >= ${fresh}
              for share of e for key share of i`
          : sql`select 1 from ${accountLeases} l join ${engineInstances} i on i.id = l.holder
              where l.task = ${claim.task} and l.account_id = ${claim.accountId} and l.holder = ${claim.holder}
                and i.heartbeat_at >= ${fresh}
              for share of l for key share of i`;
      const rows = await executeRows<{ id: string }>(
        db,
        sql`update ${orders} set sent_at = ${sentAt}, updated_at = now() where id = ${orderId} and ${unchanged} and exists (${held}) returning id`,
      );
      return rows.length > 0;
    },

    async updateOrder(id: string, patch: Partial<NewOrder>): Promise<void> {
      await db
        .update(orders)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(orders.id, id));
    },

    /** Orders of many executions in one query, by execution id. */
    async ordersOfExecutions(executionIds: string[]): Promise<Map<string, OrderRow[]>> {
      const out = new Map<string, OrderRow[]>(executionIds.map((id) => [id, []]));
      if (executionIds.length === 0) return out;
      const rows = await db
        .select()
        .from(orders)
        .where(inArray(orders.executionId, executionIds))
        .orderBy(asc(orders.createdAt));
      for (const row of rows) out.get(row.executionId)?.push(row);
      return out;
    },

    /** Inserts intents and returns the rows written (a row that already existed is not returned). */
    async insertOrdersReturning(rows: NewOrder[]): Promise<OrderRow[]> {
      if (rows.length === 0) return [];
      return db.insert(orders).select(jsonRows(orders, rows)).onConflictDoNothing().returning();
    },

    /**
     * Many order patches in as few statements as possible: patches with the same columns become one
     * UPDATE ... FROM json_to_recordset($1): a single parameter whatever the count, so neither the
     * query builder nor the database's parser does work per value.
     */
    async updateOrdersMany(patches: { id: string; patch: Partial<NewOrder> }[]): Promise<void> {
      const groups = new Map<string, { id: string; patch: Partial<NewOrder> }[]>();
      for (const entry of patches) {
        const key = Object.keys(entry.patch)
          .filter((column) => column in ORDER_COLUMN_TYPES)
          .sort()
          .join(',');
        if (key === '') continue;
        const group = groups.get(key);
        if (group) group.push(entry);
        else groups.set(key, [entry]);
      }
      for (const [key, group] of groups) {
        const columns = key.split(',') as (keyof typeof ORDER_COLUMN_TYPES)[];
        const records = group.map(({ id, patch }) => {
          const record: Record<string, unknown> = { id };
          for (const column of columns)
            record[ORDER_COLUMN_TYPES[column][0]] = (patch as Record<string, unknown>)[column] ?? null;
          return record;
        });
        const assignments = columns
          .map((column) => `${ORDER_COLUMN_TYPES[column][0]} = v.${ORDER_COLUMN_TYPES[column][0]}`)
          .join(', ');
        const definitions = [
          'id uuid',
          ...columns.map((column) => `${ORDER_COLUMN_TYPES[column][0]} ${ORDER_COLUMN_TYPES[column][1]}`),
        ].join(', ');
        await db.execute(
          sql`update ${orders} as o set ${sql.raw(assignments)}, updated_at = now() from json_to_recordset(${JSON.stringify(records)}::json) as v(${sql.raw(definitions)}) where o.id = v.id`,
        );
      }
    },

    /** Positions opened by a batch's entries (one statement); a position already recorded is kept. */
    async insertPositions(rows: NewPosition[]): Promise<void> {
      if (rows.length > 0) await db.insert(positions).values(rows).onConflictDoNothing();
    },

    /** Every order whose outcome is not known yet, oldest first. */
    listInFlightOrders(): Promise<OrderRow[]> {
      return db
        .select()
        .from(orders)
        .where(inArray(orders.status, [...IN_FLIGHT_ORDER_STATES]))
        .orderBy(asc(orders.createdAt));
    },

    insertFeed: (rows: NewOutboxRow[]) => enqueueFeed(db, rows),

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

    /** Withdrawn signals: executions not started yet are cancelled (one statement). */
    async cancelPendingOfWithdrawnSignals(): Promise<number> {
      const cancelled = await db
        .update(executions)
        .set({ status: 'cancelled', reason: 'signal-cancelled', updatedAt: sql`now()` })
        .where(
          and(
            eq(executions.status, 'pending'),
            inArray(
              executions.signalId,
              db.select({ id: signals.id }).from(signals).where(eq(signals.status, 'cancelled')),
            ),
          ),
        )
        .returning({ id: executions.id });
      return cancelled.length;
    },

    executionsOfSignal(signalId: string): Promise<ExecutionRow[]> {
      return db.select().from(executions).where(eq(executions.signalId, signalId));
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

export type TradingRepository = ReturnType<typeof tradingRepository>;
