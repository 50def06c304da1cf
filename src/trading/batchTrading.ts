import type {
  ExecutionPlanPatch,
  NewOrder,
  NewPosition,
  OrderRow,
  TradingRepository,
} from '../db/repositories/trading';
import { GroupCommit } from './groupCommit';

const PLAN_COLUMNS: ReadonlySet<string> = new Set([
  'symbol',
  'leverage',
  'leverageCapped',
  'quantity',
  'notional',
  'margin',
  'notes',
]);

/**
 * The trading repository as one batch of executions sees it: the orders of the batch are read once
 * and kept in memory, written through to the database with group commits (multi-row statements), so
 * each account's steps still wait for their own writes (intent persisted before it is sent) while a
 * thousand accounts cost a few dozen statements instead of thousands.
 */
export async function batchTradingRepository(
  base: TradingRepository,
  executionIds: string[],
  onGroupFailure: (error: unknown, size: number) => void = () => {},
): Promise<TradingRepository> {
  const byExecution = await base.ordersOfExecutions(executionIds);
  const byId = new Map<string, OrderRow>();
  for (const rows of byExecution.values()) for (const row of rows) byId.set(row.id, row);

  const remember = (row: OrderRow) => {
    byId.set(row.id, row);
    const rows = byExecution.get(row.executionId);
    if (rows && !rows.some((existing) => existing.id === row.id)) rows.push(row);
  };
  const refresh = async (executionId: string) => {
    const rows = await base.ordersOfExecution(executionId);
    byExecution.set(executionId, rows);
    for (const row of rows) byId.set(row.id, row);
  };

  const inserts = new GroupCommit<NewOrder[]>(
    async (groups) => {
      const rows = groups.flat();
      const written = await base.insertOrdersReturning(rows);
      for (const row of written) remember(row);
      // A row that already existed (another writer got there first) is read back as it is.
      if (written.length < rows.length) {
        for (const executionId of new Set(rows.map((row) => row.executionId))) await refresh(executionId);
      }
    },
    async (rows) => {
      await base.insertOrders(rows);
      for (const executionId of new Set(rows.map((row) => row.executionId))) await refresh(executionId);
    },
    onGroupFailure,
  );
  const updates = new GroupCommit<{ id: string; patch: Partial<NewOrder> }>(
    async (patches) => {
      await base.updateOrdersMany(patches);
      for (const { id, patch } of patches) {
        const row = byId.get(id);
        if (row) Object.assign(row, patch, { updatedAt: new Date() });
      }
    },
    async ({ id, patch }) => {
      await base.updateOrder(id, patch);
      const row = byId.get(id);
      if (row) Object.assign(row, patch, { updatedAt: new Date() });
    },
    onGroupFailure,
  );
  const positions = new GroupCommit<NewPosition>(
    (rows) => base.insertPositions(rows),
    (row) => base.insertPosition(row),
    onGroupFailure,
  );

  const touches = new GroupCommit<{ id: string; patch: ExecutionPlanPatch }>(
    (patches) => base.touchExecutionsMany(patches),
    ({ id, patch }) => base.touchExecution(id, patch),
    onGroupFailure,
  );

  const batch = Object.create(base) as TradingRepository;
  batch.ordersOfExecution = async (executionId) => {
    const rows = byExecution.get(executionId);
    if (!rows) return base.ordersOfExecution(executionId);
    return rows.map((row) => ({ ...row })).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  };
  batch.insertOrders = async (rows) => {
    if (rows.length === 0) return;
    if (rows.every((row) => byExecution.has(row.executionId))) return inserts.submit(rows);
    return base.insertOrders(rows);
  };
  batch.updateOrder = async (id, patch) =>
    byId.has(id) ? updates.submit({ id, patch }) : base.updateOrder(id, patch);
  batch.insertPosition = (row) => positions.submit(row);
  batch.touchExecution = async (id, patch = {}) =>
    Object.keys(patch).every((key) => PLAN_COLUMNS.has(key))
      ? touches.submit({ id, patch: patch as ExecutionPlanPatch })
      : base.touchExecution(id, patch);
  return batch;
}
