/**
 * Executions and their orders, the engine's aggregate: fan-out rows, claims, the order intents and
 * their outcomes (outcomes.ts), and the figures risk limits read (riskFigures.ts).
 */
import { and, asc, eq, gte, inArray, ne, or, sql, type SQLWrapper } from 'drizzle-orm';
import type { Database } from '../client';
import { executeRows } from '../executeRows';
import { jsonRows } from '../jsonRows';
import { accountLeases, engineInstances, executions, orders, positions, signals } from '../schema';
import { enqueueFeed, type NewOutboxRow } from './outbox';
import { executionOutcomes } from './outcomes';
import { riskFigures } from './riskFigures';

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

    ...executionOutcomes(db),
    ...riskFigures(db),

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

export type TradingRepository = ReturnType<typeof tradingRepository>;
