/**
 * The store a batch of executions shares (ExecutionStore, execution/context.ts), written behind:
 *
 * - Reads that do not change while the batch runs are loaded once for the whole batch: the
 *   accounts, their owners, today's figures, and the orders of the batch's executions (kept in
 *   memory and updated as they are written).
 * - Writes are group-committed (multi-row statements). Each caller still waits for its own write,
 *   so an order's intent is persisted before it is sent (the order-safety protocol), while a
 *   thousand accounts cost a few dozen statements instead of thousands. A group that fails is
 *   written again item by item, so one bad row cannot fail the others.
 * - Anything outside the batch (an order of another execution, another day's figures) goes
 *   straight to the repositories.
 */
import type { AccountsRepository } from '../db/repositories/accounts';
import type { ExecutionPlanPatch, NewExecution, NewOrder, NewPosition, TradingRepository } from '../db/repositories/trading';
import type { UsersRepository } from '../db/repositories/users';
import type { ExecutionStore } from './execution/context';
import { GroupCommit } from './groupCommit';
import type { Account, Execution, Member, Order } from '../domain/records';

/** Execution columns a plan writes (touches of these are group-committed; others go straight through). */
const PLAN_COLUMNS: ReadonlySet<string> = new Set(['symbol', 'leverage', 'leverageCapped', 'quantity', 'notional', 'margin', 'notes']);

type DayFigures = Awaited<ReturnType<TradingRepository['dayFigures']>>;

export interface WriteBehindSources {
  accounts: AccountsRepository;
  users: UsersRepository;
  trading: TradingRepository;
}

export class WriteBehindExecutionStore implements ExecutionStore {
  private readonly byId = new Map<string, Order>();
  private readonly inserts: GroupCommit<NewOrder[]>;
  private readonly updates: GroupCommit<{ id: string; patch: Partial<NewOrder> }>;
  private readonly positions: GroupCommit<NewPosition>;
  private readonly touches: GroupCommit<{ id: string; patch: ExecutionPlanPatch }>;

  /** Loads what the batch's executions read (a handful of statements however many accounts). */
  static async open(
    sources: WriteBehindSources,
    executions: readonly Execution[],
    today: string,
    onGroupFailure: (error: unknown, size: number) => void = () => {},
  ): Promise<WriteBehindExecutionStore> {
    const accountIds = [...new Set(executions.map((execution) => execution.accountId))];
    const accounts = new Map((await sources.accounts.byIds(accountIds)).map((row) => [row.id, row]));
    const ownerIds = [...new Set([...accounts.values()].map((row) => row.ownerId))];
    const owners = new Map((await sources.users.getMany(ownerIds)).map((row) => [row.discordId, row]));
    const dayFigures = await sources.trading.dayFiguresOf(accountIds, today);
    const orders = await sources.trading.ordersOfExecutions(executions.map((execution) => execution.id));
    return new WriteBehindExecutionStore(sources, { accounts, owners, dayFigures, orders, today }, onGroupFailure);
  }

  private constructor(
    private readonly sources: WriteBehindSources,
    private readonly loaded: {
      accounts: ReadonlyMap<string, Account>;
      owners: ReadonlyMap<string, Member>;
      dayFigures: ReadonlyMap<string, DayFigures>;
      /** Orders per execution of the batch; only these executions' orders are kept here. */
      orders: Map<string, Order[]>;
      today: string;
    },
    onGroupFailure: (error: unknown, size: number) => void,
  ) {
    const trading = sources.trading;
    for (const rows of loaded.orders.values()) for (const row of rows) this.byId.set(row.id, row);
    this.inserts = new GroupCommit<NewOrder[]>(
      async (groups) => {
        const rows = groups.flat();
        const written = await trading.insertOrdersReturning(rows);
        for (const row of written) this.remember(row);
        // A row that already existed (another writer got there first) is read back as it is.
        if (written.length < rows.length) for (const executionId of executionsOf(rows)) await this.refresh(executionId);
      },
      async (rows) => {
        await trading.insertOrders(rows);
        for (const executionId of executionsOf(rows)) await this.refresh(executionId);
      },
      onGroupFailure,
    );
    this.updates = new GroupCommit<{ id: string; patch: Partial<NewOrder> }>(
      async (patches) => {
        await trading.updateOrdersMany(patches);
        for (const { id, patch } of patches) this.patchKept(id, patch);
      },
      async ({ id, patch }) => {
        await trading.updateOrder(id, patch);
        this.patchKept(id, patch);
      },
      onGroupFailure,
    );
    this.positions = new GroupCommit<NewPosition>(
      (rows) => trading.insertPositions(rows),
      (row) => trading.insertPositions([row]),
      onGroupFailure,
    );
    this.touches = new GroupCommit<{ id: string; patch: ExecutionPlanPatch }>(
      (patches) => trading.touchExecutionsMany(patches),
      ({ id, patch }) => trading.touchExecution(id, patch),
      onGroupFailure,
    );
  }

  async account(id: string): Promise<Account | null> {
    return this.loaded.accounts.get(id) ?? this.sources.accounts.byId(id);
  }

  async owner(discordId: string): Promise<Member | null> {
    return this.loaded.owners.get(discordId) ?? this.sources.users.get(discordId);
  }

  async dayFigures(accountId: string, day: string): Promise<DayFigures> {
    if (day !== this.loaded.today) return this.sources.trading.dayFigures(accountId, day);
    return this.loaded.dayFigures.get(accountId) ?? { trades: 0, realizedPnl: 0, startEquity: null };
  }

  /** Copies, oldest first: a caller cannot change what the batch keeps. */
  async ordersOfExecution(executionId: string): Promise<Order[]> {
    const rows = this.loaded.orders.get(executionId);
    if (!rows) return this.sources.trading.ordersOfExecution(executionId);
    return rows.map((row) => ({ ...row })).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async insertOrders(rows: NewOrder[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.every((row) => this.loaded.orders.has(row.executionId))) return this.inserts.submit(rows);
    return this.sources.trading.insertOrders(rows);
  }

  async updateOrder(id: string, patch: Partial<NewOrder>): Promise<void> {
    return this.byId.has(id) ? this.updates.submit({ id, patch }) : this.sources.trading.updateOrder(id, patch);
  }

  async insertPosition(row: NewPosition): Promise<void> {
    return this.positions.submit(row);
  }

  async touchExecution(id: string, patch: Partial<NewExecution> = {}): Promise<void> {
    return Object.keys(patch).every((key) => PLAN_COLUMNS.has(key))
      ? this.touches.submit({ id, patch: patch as ExecutionPlanPatch })
      : this.sources.trading.touchExecution(id, patch);
  }

  stampSent: ExecutionStore['stampSent'] = (...args) => this.sources.trading.stampSent(...args);
  copiedQuantity: ExecutionStore['copiedQuantity'] = (...args) => this.sources.trading.copiedQuantity(...args);
  closedTradePnls: ExecutionStore['closedTradePnls'] = (...args) => this.sources.trading.closedTradePnls(...args);
  insertFeed: ExecutionStore['insertFeed'] = (...args) => this.sources.trading.insertFeed(...args);

  private remember(row: Order): void {
    this.byId.set(row.id, row);
    const rows = this.loaded.orders.get(row.executionId);
    if (rows && !rows.some((existing) => existing.id === row.id)) rows.push(row);
  }

  private async refresh(executionId: string): Promise<void> {
    const rows = await this.sources.trading.ordersOfExecution(executionId);
    this.loaded.orders.set(executionId, rows);
    for (const row of rows) this.byId.set(row.id, row);
  }

  private patchKept(id: string, patch: Partial<NewOrder>): void {
    const row = this.byId.get(id);
    if (row) Object.assign(row, patch, { updatedAt: new Date() });
  }
}

const executionsOf = (rows: readonly NewOrder[]): Set<string> => new Set(rows.map((row) => row.executionId));
