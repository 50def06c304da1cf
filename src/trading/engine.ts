import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pLimit from 'p-limit';
import type { Database } from '../db/client';
import { accountsRepository, type AccountRow } from '../db/repositories/accounts';
import { guildsRepository } from '../db/repositories/guilds';
import type { NewOutboxRow } from '../db/repositories/outbox';
import { signalsRepository, toTradeSignal, type SignalRow } from '../db/repositories/signals';
import {
  tradingRepository,
  type ExecutionOutcome,
  type ExecutionRow,
  type NewExecution,
  type SummaryRow,
} from '../db/repositories/trading';
import { usersRepository } from '../db/repositories/users';
import type { ReasonCode } from '../domain/reasons';
import { utcDayKey } from '../domain/risk';
import { validateSignal } from '../domain/signalValidation';
import { isExchangeError } from '../exchange/errors';
import type { ExchangeGateway } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Clock } from './clock';
import { executeAccount, type AccountExecutionContext } from './executeAccount';
import { skippedOrderEvent, type NoticeEvent } from './feedEvents';
import { batchTradingRepository } from './batchTrading';
import { BatchedClaimCheck, isLostClaim, LostClaim } from './claims';
import { EngineInstance } from './instance';
import { ExposureLedger } from './exposureLedger';
import { GroupCommit } from './groupCommit';
import { buildSummary } from './summary';

export interface GatewayProvider {
  forAccount(account: AccountRow): ExchangeGateway;
  invalidate(accountId: string): void;
}

export interface EngineSettings {
  /**
   * A readable prefix of the instance id (default host:pid). The id itself is `<name>:<random>`, new
   * at every start, so no two processes (nor two starts of one) share claims: work a process leaves
   * in flight is taken over through its heartbeat, by whichever process comes first.
   */
  instanceName: string;
  concurrency: number;
  maxSignalLagMs: number;
  balanceMaxAgeMs: number;
  /**
   * Balances refreshed per cycle off the signal path. Binance futures: 5 weight each of 2,400 a
   * minute per IP, so 20 per 10 s cycle is a quarter of the budget, leaving the rest to trading.
   */
  balanceRefreshPerCycle: number;
  /** Unknown orders are looked up for this long before the protocol may conclude (≥ 60 s). */
  lookupWindowMs: number;
  /**
   * A process whose heartbeat is older than this is dead: its in-flight executions (and account
   * leases) are taken over by another process. The heartbeat is written every `heartbeatEveryMs`.
   */
  takeoverAfterMs: number;
  heartbeatEveryMs: number;
  /** While the signal path of a cycle runs, the `beside` steps (position sync) run again this often. */
  besideEveryMs: number;
  summaryTimeoutMs: number;
  kelly: { lookbackTrades: number; fraction: number; cap: number };
}

export const defaultEngineSettings = (instanceName = `${hostname()}:${process.pid}`): EngineSettings => ({
  instanceName,
  concurrency: 64,
  maxSignalLagMs: 120_000,
  balanceMaxAgeMs: 300_000,
  balanceRefreshPerCycle: 20,
  lookupWindowMs: 60_000,
  takeoverAfterMs: 30_000,
  heartbeatEveryMs: 5_000,
  besideEveryMs: 5_000,
  summaryTimeoutMs: 60_000,
  kelly: { lookbackTrades: 20, fraction: 0.5, cap: 0.25 },
});

export interface CycleReport {
  signals: number;
  executions: number;
  /** From claiming the signals to the last account's outcome (every leg acknowledged). */
  fanOutMs: number;
  durationMs: number;
}

/**
 * The trading engine: claims pending signals, fans each out to every enabled account of its server,
 * and runs every (signal, account) through executeAccount with bounded concurrency, each account
 * isolated from the others' failures.
 *
 * Several processes (DESIGN.md, "Scaling past one process"), invariants:
 *  - every start has a new instance id, registered with a heartbeat (EngineInstance);
 *  - an execution is worked only by the process that claimed it; another process takes it over only
 *    when the claimer's heartbeat is older than `takeoverAfterMs` or its row is gone;
 *  - every send and resend asks whether the claim is still held (and the heartbeat fresh), and every
 *    outcome is written only where the execution is still in flight and claimed by this process: a
 *    process whose claim was taken over stops with LostClaim and writes nothing;
 *  - claiming a signal and creating all its executions (with the skipped accounts' feed rows and
 *    the completion when nothing is left to do) is one transaction;
 *  - work of dead processes is taken over at start and at the beginning of every cycle, before new
 *    signals are claimed (protocol rule 6).
 */
export class TradingEngine {
  private readonly accounts;
  private readonly signals;
  private readonly trading;
  private readonly users;
  private running: Promise<CycleReport> | null = null;
  private readonly steps: { name: string; run: () => Promise<void>; beside: boolean }[] = [];
  private started = false;
  private readonly claims: BatchedClaimCheck;
  /** Executions being run by this process now (see runExecutions). */
  private readonly runningExecutions = new Set<string>();
  /** This process's row and heartbeat in the database; account leases of the cycle steps use it too. */
  readonly instance: EngineInstance;
  lastSuccessfulCycleAt: number | null = null;

  constructor(
    private readonly db: Database,
    private readonly gateways: GatewayProvider,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: EngineSettings,
    private readonly metrics?: Metrics,
  ) {
    this.accounts = accountsRepository(db);
    this.signals = signalsRepository(db);
    this.trading = tradingRepository(db);
    this.users = usersRepository(db);
    this.instance = new EngineInstance(db, settings.instanceName, clock, log, {
      takeoverAfterMs: settings.takeoverAfterMs,
      heartbeatEveryMs: settings.heartbeatEveryMs,
    });
    this.claims = new BatchedClaimCheck((ids) =>
      this.trading.heldExecutions(this.instanceId, ids, this.instance.freshSince()),
    );
  }

  /** The id claims are made under: `<instanceName>:<random>`, new at every start (and after a lapse). */
  get instanceId(): string {
    return this.instance.id;
  }

  /**
   * Registers this process (heartbeat), then rule 6: the in-flight work of dead processes is taken
   * over and reconciled before new signals are accepted. (A process that died just now is taken over
   * by a later cycle, once its heartbeat is older than the threshold.)
   */
  async start(): Promise<void> {
    await this.instance.start();
    const taken = await this.takeOverAbandoned();
    if (taken > 0) this.log.info({ executions: taken }, 'took over in-flight executions of stopped processes');
    this.started = true;
  }

  /** A clean stop: waits for the running cycle, then frees every claim of this process at once. */
  async stop(): Promise<void> {
    await this.running?.catch(() => {});
    this.started = false;
    await this.instance.stop();
  }

  /**
   * Adds work to every cycle after signals are executed (copy-trading polls, the strategy), or, with
   * `beside`, while they are (the position sync: a fan-out to many accounts must not hold up the stop
   * of a position whose entry filled meanwhile). Each step is isolated: one failing step never stops
   * the others or the cycle.
   */
  addCycleStep(name: string, run: () => Promise<void>, options: { beside?: boolean } = {}): void {
    this.steps.push({ name, run, beside: options.beside ?? false });
  }

  /** One cycle; a call while one runs joins it instead of overlapping. */
  runCycle(): Promise<CycleReport> {
    if (!this.started) return Promise.reject(new Error('engine not started: call start() first'));
    this.running ??= this.cycle().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async cycle(): Promise<CycleReport> {
    const startedAt = this.clock.now();
    try {
      // A cycle never starts on a stale heartbeat (after a pause it continues under a new id).
      await this.instance.beat();
      let signalsDone!: () => void;
      const signalPath = new Promise<void>((resolve) => (signalsDone = resolve));
      const beside = this.runBesideSteps(signalPath);
      let report: Omit<CycleReport, 'durationMs'>;
      try {
        report = await this.executeSignals(startedAt);
        await this.runSteps(false);
      } finally {
        signalsDone();
        await beside;
      }
      this.lastSuccessfulCycleAt = this.clock.now();
      this.metrics?.cycles.inc({ result: 'ok' });
      return { ...report, durationMs: this.clock.now() - startedAt };
    } catch (error) {
      this.metrics?.cycles.inc({ result: 'error' });
      throw error;
    }
  }

  /** The signal path of a cycle: in-flight work first (rule 6), then new signals, then their executions. */
  private async executeSignals(startedAt: number): Promise<Omit<CycleReport, 'durationMs'>> {
    // Executions this process left in flight (an answer the exchange could not give yet) go first,
    // then those of dead processes: both before any new signal (rule 6).
    const leftOver = await this.trading.listInFlightOf(this.instanceId);
    if (leftOver.length > 0) await this.runExecutions(leftOver);
    let executions = leftOver.length + (await this.takeOverAbandoned());
    const claimed = await this.claimAndFanOut(50);
    for (;;) {
      const batch = await this.trading.claimExecutions(
        this.instanceId,
        // Small batches: other instances on the same database take the rest meanwhile.
        this.settings.concurrency * 2,
        this.instance.staleBefore(),
      );
      if (batch.length === 0) break;
      executions += batch.length;
      await this.runExecutions(batch);
    }
    const fanOutMs = this.clock.now() - startedAt;
    await this.postOverdueSummaries();
    await this.cancelWithdrawnSignals();
    await this.refreshStaleBalances();
    return { signals: claimed, executions, fanOutMs };
  }

  /**
   * The `beside` steps run at least once per cycle and again, at most every `besideEveryMs`, while the
   * signal path is still busy: a long fan-out (hundreds of accounts under the exchange's weight budget)
   * must not hold up the stop of a position whose entry filled meanwhile.
   */
  private async runBesideSteps(signalPath: Promise<void>): Promise<void> {
    let done = false;
    void signalPath.then(() => (done = true));
    for (let pass = 0; ; pass += 1) {
      const passStartedAt = this.clock.now();
      // After the first pass, this process's executions whose answer is still unknown (a lost entry
      // answer, say) are reconciled here too, not only when the next cycle starts: until then a
      // filled entry has no stop.
      if (pass > 0) await this.resumeOwnInFlight();
      await this.runSteps(true);
      if (done) return;
      const rest = this.settings.besideEveryMs - (this.clock.now() - passStartedAt);
      if (rest > 0) await Promise.race([this.clock.sleep(rest), signalPath]);
      if (done) return;
    }
  }

  private async resumeOwnInFlight(): Promise<void> {
    try {
      const leftOver = await this.trading.listInFlightOf(this.instanceId);
      if (leftOver.length > 0) await this.runExecutions(leftOver);
    } catch (error) {
      this.log.error({ err: error }, 'resuming in-flight executions failed; the next pass tries again');
    }
  }

  /** The cycle steps run beside the signals, or after them; one failing never stops the others. */
  private async runSteps(beside: boolean): Promise<void> {
    // Let the cycle's own first statements go first (the steps start on the next turn).
    if (beside) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const step of this.steps) {
      if (step.beside !== beside) continue;
      try {
        await step.run();
      } catch (error) {
        this.log.error({ err: error, step: step.name }, 'cycle step failed');
      }
    }
  }

  /** In-flight executions of dead processes, claimed and run batch by batch; answers how many. */
  private async takeOverAbandoned(): Promise<number> {
    let taken = 0;
    for (;;) {
      const batch = await this.trading.claimExecutions(
        this.instanceId,
        this.settings.concurrency * 2,
        this.instance.staleBefore(),
        'abandoned',
      );
      if (batch.length === 0) return taken;
      taken += batch.length;
      this.log.info(
        { executions: batch.length, from: [...new Set(batch.map((row) => row.claimedBy))] },
        'taking over in-flight executions of a dead process',
      );
      await this.runExecutions(batch);
    }
  }

  /**
   * Claims up to `limit` signals, each with its fan-out in the same transaction. A fan-out that
   * fails rolls back whole (the signal stays pending, tried again next cycle) and never stops the
   * other signals.
   */
  private async claimAndFanOut(limit: number): Promise<number> {
    const failed: string[] = [];
    let claimed = 0;
    while (claimed < limit) {
      let signalId: string | null = null;
      try {
        const signal = await this.db.transaction(async (tx) => {
          const row = await signalsRepository(tx as unknown as Database).claimNext(
            this.instanceId,
            new Date(this.clock.now()),
            failed,
          );
          signalId = row?.id ?? null;
          if (row) await this.fanOut(tx as unknown as Database, row);
          return row;
        });
        if (!signal) return claimed;
        claimed += 1;
      } catch (error) {
        if (signalId === null) throw error;
        failed.push(signalId);
        this.log.error({ err: error, signalId }, 'fan-out failed; the signal stays pending for the next cycle');
      }
    }
    return claimed;
  }

  /**
   * Creates one execution per enabled account of the signal's server (copy: its followers), the
   * skipped accounts' feed rows, and completes the signal when nothing is left to do, all in `tx`
   * (the transaction that claimed the signal).
   */
  private async fanOut(tx: Database, signal: SignalRow): Promise<void> {
    const now = this.clock.now();
    const trading = tradingRepository(tx);
    const validation = validateSignal(toTradeSignal(signal));
    const guild = await guildsRepository(tx).get(signal.guildId);
    const candidates = await accountsRepository(tx).listEnabledInGuild(signal.guildId);
    const targets = selectTargets(signal, candidates);
    const rows: NewExecution[] = targets.map((account) => {
      const skipReason = !validation.ok
        ? validation.reason
        : guild?.paused
          ? 'server-paused'
          : account.pausedUntil && account.pausedUntil.getTime() > now
            ? 'paused-daily-loss'
            : null;
      return {
        id: randomUUID(),
        signalId: signal.id,
        accountId: account.id,
        ownerId: account.ownerId,
        status: skipReason ? 'skipped' : 'pending',
        reason: skipReason,
      };
    });
    await trading.createExecutions(rows);
    const skipped = rows.filter((row) => row.status === 'skipped');
    if (skipped.length > 0) {
      const byId = new Map(targets.map((account) => [account.id, account]));
      await trading.insertFeed(
        skipped.map((row) => {
          const account = byId.get(row.accountId)!;
          return {
            guildId: signal.guildId,
            kind: 'order' as const,
            signalId: signal.id,
            accountId: account.id,
            payload: skippedOrderEvent(signal, account, row.reason as ReasonCode),
          };
        }),
      );
    }
    await trading.completeIfDoneLocked(signal.id, this.summarizer(signal, true), new Date(now));
    this.log.info(
      { signalId: signal.id, accounts: rows.length, skipped: skipped.length },
      'signal fanned out',
    );
  }

  private async runExecutions(batch: ExecutionRow[]): Promise<void> {
    // An execution runs once at a time in this process (the signal path and the beside passes both
    // resume this process's in-flight work): taken here, synchronously, by whichever comes first.
    const executions = batch.filter((execution) => !this.runningExecutions.has(execution.id));
    if (executions.length === 0) return;
    for (const execution of executions) this.runningExecutions.add(execution.id);
    try {
      await this.runTakenExecutions(executions);
    } finally {
      for (const execution of executions) this.runningExecutions.delete(execution.id);
    }
  }

  private async runTakenExecutions(executions: ExecutionRow[]): Promise<void> {
    const signalCache = new Map<string, Promise<SignalRow | null>>();
    const signalOfExecution = (id: string) => {
      let cached = signalCache.get(id);
      if (!cached) {
        cached = this.signals.byId(id);
        signalCache.set(id, cached);
      }
      return cached;
    };
    await this.syncBalances(executions);
    const context = await this.executionContext(executions, signalOfExecution);
    const limit = pLimit(this.settings.concurrency);
    const claimedAt = this.clock.now();
    await Promise.all(
      executions.map((execution) =>
        limit(async () => {
          try {
            const signal = await signalOfExecution(execution.signalId);
            if (!signal) return;
            await executeAccount(context, execution, signal);
          } catch (error) {
            if (isLostClaim(error)) {
              // Taken over (this process's heartbeat lapsed): whoever claims it now continues from here.
              this.log.warn({ executionId: execution.id }, 'claim lost; the execution is left to its new claimer');
              return;
            }
            // One account's failure never touches another's; it stays in flight for the next cycle.
            this.log.error({ err: error, executionId: execution.id }, 'execution failed unexpectedly');
          } finally {
            // Done here: a beside pass may resume it at once if its answer is still unknown.
            this.runningExecutions.delete(execution.id);
          }
        }),
      ),
    );
    this.metrics?.fanOutSeconds.observe((this.clock.now() - claimedAt) / 1000);
  }

  /**
   * Everything a batch of executions reads that does not change while it runs is loaded once for
   * the batch (accounts, owners, today's figures); outcomes are group-committed. On PGlite every
   * statement runs one after another, so statements per account are what bounds a 1,000-account
   * fan-out.
   */
  private async executionContext(
    executions: ExecutionRow[],
    signalOf: (id: string) => Promise<SignalRow | null>,
  ): Promise<AccountExecutionContext> {
    const accountIds = [...new Set(executions.map((execution) => execution.accountId))];
    const accountRows = new Map((await this.accounts.byIds(accountIds)).map((row) => [row.id, row]));
    const owners = new Map(
      (await this.users.getMany([...new Set([...accountRows.values()].map((row) => row.ownerId))])).map(
        (row) => [row.discordId, row],
      ),
    );
    const today = utcDayKey(this.clock.now());
    const dayFigures = await this.trading.dayFiguresOf(accountIds, today);
    const openExposures = await this.trading.openExposuresOf(accountIds);
    const conditional = await this.trading.liveConditionalCounts(accountIds);
    const accounts = Object.create(this.accounts) as typeof this.accounts;
    accounts.byId = async (id) => accountRows.get(id) ?? this.accounts.byId(id);
    const users = Object.create(this.users) as typeof this.users;
    users.get = async (id) => owners.get(id) ?? this.users.get(id);
    const onGroupFailure = (error: unknown, size: number) =>
      this.log.warn({ err: error, size }, 'group write failed; writing its items one by one');
    const trading = await batchTradingRepository(
      this.trading,
      executions.map((execution) => execution.id),
      onGroupFailure,
    );
    trading.dayFigures = async (accountId, day) =>
      (day === today ? dayFigures.get(accountId) : undefined) ??
      (day === today
        ? { trades: 0, realizedPnl: 0, startEquity: null }
        : this.trading.dayFigures(accountId, day));

    const quotes = new Map<string, Promise<number | undefined>>();
    type Outcome = { execution: ExecutionRow; outcome: ExecutionOutcome; signal: SignalRow | null };
    // Outcomes the fence refused: their execution was taken over by another process.
    const lost = new Set<string>();
    const finalizeAll = async (items: Outcome[]) => {
      const written = await this.trading.finalizeExecutions(
        items,
        (signalId) => (rows) => {
          const signal = items.find((item) => item.signal?.id === signalId)?.signal;
          return signal ? this.summarizer(signal, true)(rows) : null;
        },
        new Date(this.clock.now()),
        this.instanceId,
      );
      for (const item of items) if (!written.has(item.execution.id)) lost.add(item.execution.id);
    };
    // One bad outcome cannot fail the others: a failed group is written again one by one.
    const outcomes = new GroupCommit<Outcome>(finalizeAll, (item) => finalizeAll([item]), onGroupFailure);
    return {
      accounts,
      users,
      trading,
      gatewayFor: (account) => this.gateways.forAccount(account),
      exposure: new ExposureLedger((ownerId, baseAsset) => this.trading.memberExposure(ownerId, baseAsset)),
      conditionalOrders: async (accountId, symbol) =>
        (conditional.get(accountId) ?? (await this.trading.liveConditionalCounts([accountId])).get(accountId))?.get(symbol) ?? 0,
      openExposures: async (accountId) => {
        let open = openExposures.get(accountId);
        if (!open) {
          open = (await this.trading.openExposuresOf([accountId])).get(accountId) ?? [];
          openExposures.set(accountId, open);
        }
        return open;
      },
      quote: (gateway, account, symbol) => {
        // One quote per (exchange, mode, symbol) per batch, shared by every account that needs it.
        const key = `${account.exchangeId}:${account.mode === 'paper' ? 'live' : account.mode}:${symbol}`;
        let cached = quotes.get(key);
        if (!cached) {
          cached = gateway.quote(symbol).then(
            (quote) => quote.last,
            (error: unknown) => {
              quotes.delete(key);
              this.log.warn({ err: error, symbol }, 'quote unavailable');
              return undefined;
            },
          );
          quotes.set(key, cached);
        }
        return cached;
      },
      clock: this.clock,
      log: this.log,
      settings: this.settings,
      finalize: async (execution, outcome) => {
        await outcomes.submit({ execution, outcome, signal: await signalOf(execution.signalId) });
        if (lost.has(execution.id)) throw new LostClaim(`execution ${execution.id} was taken over; outcome not written`);
        this.metrics?.orders.inc({ outcome: outcome.status, reason: outcome.reason ?? 'none' });
      },
      holdsClaim: (executionId) => this.claims.holds(executionId),
      onAuthFailure: (account) => this.disableForAuth(account),
    };
  }

  private summarizer(signal: SignalRow, final: boolean) {
    return (rows: SummaryRow[]): NewOutboxRow | null => ({
      guildId: signal.guildId,
      kind: 'summary',
      signalId: signal.id,
      accountId: null,
      payload: buildSummary(signal, rows, final),
    });
  }

  /**
   * Balances for sizing come from the cycle's sync, never from a call per account per signal: the
   * refresh step keeps them fresh off the signal's path (oldest first, within the exchange's weight
   * budget); here only balances too old to size with are read, right before the fan-out.
   */
  private async syncBalances(executions: ExecutionRow[]): Promise<void> {
    const ids = [...new Set(executions.map((execution) => execution.accountId))];
    await this.refreshBalances(await this.accounts.byIds(ids), this.settings.balanceMaxAgeMs * 0.9);
  }

  /** Routine refresh, each cycle: the stalest balances first, a bounded number per cycle. */
  private async refreshStaleBalances(): Promise<void> {
    const olderThan = new Date(this.clock.now() - this.settings.balanceMaxAgeMs / 2);
    await this.refreshBalances(
      await this.accounts.listStaleBalances(olderThan, this.settings.balanceRefreshPerCycle),
      0,
    );
  }

  private async refreshBalances(rows: AccountRow[], olderThanMs: number): Promise<void> {
    const now = this.clock.now();
    const limit = pLimit(this.settings.concurrency);
    await Promise.all(
      rows.map((account) =>
        limit(async () => {
          const id = account.id;
          const age = account.balanceAt ? now - account.balanceAt.getTime() : Infinity;
          if (age < olderThanMs) return;
          try {
            const gateway = this.gateways.forAccount(account);
            // A definite rejection (-1021) of a read is safe to repeat once at once.
            const balance = await gateway.balance().catch((error: unknown) => {
              if (isExchangeError(error, 'retryable')) return gateway.balance();
              throw error;
            });
            await this.accounts.recordBalance(id, balance.free, balance.equity, new Date(balance.asOf));
            await this.trading.recordStartEquity(id, utcDayKey(now), balance.equity);
          } catch (error) {
            if (isExchangeError(error, 'auth-failed')) await this.disableForAuth(account);
            this.metrics?.exchangeErrors.inc({
              exchange: account.exchangeId,
              kind: isExchangeError(error) ? error.kind : 'unexpected',
            });
            this.log.warn({ err: error, accountId: id }, 'balance sync failed');
          }
        }),
      ),
    );
  }

  /** Summaries still waiting after the timeout are posted with the pending count, then edited. */
  private async postOverdueSummaries(): Promise<void> {
    const now = this.clock.now();
    for (const signal of await this.signals.listExecuting()) {
      const claimedAt = signal.claimedAt?.getTime() ?? signal.createdAt.getTime();
      if (now - claimedAt < this.settings.summaryTimeoutMs) continue;
      if (await this.trading.hasSummary(signal.id)) continue;
      const rows = await this.trading.summaryRows(signal.id);
      // No execution yet (a signal an older version left half claimed): the fan-out repairs it first.
      if (rows.length === 0) continue;
      await this.trading.insertFeed([this.summarizer(signal, false)(rows)!]);
    }
  }

  /**
   * /signal cancel: nothing new starts for a withdrawn signal. Its resting entries are cancelled by
   * the position sync (the lifecycle's lapse rule), which looks a "nothing to cancel" answer up and
   * follows what filled meanwhile into a protected position.
   */
  private async cancelWithdrawnSignals(): Promise<void> {
    await this.trading.cancelPendingOfWithdrawnSignals();
  }

  private async disableForAuth(account: AccountRow): Promise<void> {
    if (!account.enabled && account.disabledReason === 'key-revoked') return;
    await this.accounts.disable(account.id, 'key-revoked');
    this.gateways.invalidate(account.id);
    const notice: NoticeEvent = {
      type: 'notice',
      kind: 'account-disabled',
      accountName: account.name,
      reason: 'key-revoked',
      detail: null,
    };
    await this.trading.insertFeed([
      {
        guildId: account.guildId,
        kind: 'dm',
        signalId: null,
        accountId: account.id,
        recipientId: account.ownerId,
        payload: notice,
      },
    ]);
    this.log.warn({ accountId: account.id }, 'account disabled: its key was refused');
  }
}

/** Which enabled accounts a signal goes to: copy signals name their followers, strategy needs opt-in. */
export function selectTargets(signal: SignalRow, accounts: AccountRow[]): AccountRow[] {
  if (signal.source === 'strategy') return accounts.filter((account) => account.strategyOptIn);
  if (signal.source === 'copy') {
    const copy = signal.copy as { followers?: { accountId: string }[] } | null;
    const wanted = new Set((copy?.followers ?? []).map((follower) => follower.accountId));
    return accounts.filter((account) => wanted.has(account.id));
  }
  return accounts;
}
