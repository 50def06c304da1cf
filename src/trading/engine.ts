/**
 * The trading cycle (a bree job): claims pending signals and fans each out to its accounts, runs
 * their executions in parallel under the exchanges' weight budget with one account's failure kept
 * from the others, takes over the work of processes that died, and runs the cycle steps beside it
 * (position sync, copy polls, funding, the strategy). Its size: the cycle's scheduling in one class
 * (claims, takeover, lanes and steps share one heartbeat and one stop); each execution's steps are
 * in execution/, the claims in claims.ts, the batch store in writeBehindStore.ts.
 */
import { hostname } from 'node:os';
import pLimit from 'p-limit';
import { accountTurnsOf } from './accountTurns';
import type { Store } from '../db/store';
import type { ExchangeGateway } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { BalanceRefresh } from './balanceRefresh';
import { batchExecutionContext, type BatchDependencies } from './batchContext';
import { BatchedClaimCheck, isLostClaim } from './claims';
import type { Clock } from '../clock';
import { executeAccount } from './execution/executeAccount';
import { claimAndFanOut } from './fanOut';
import { inSignalLane } from '../exchange/requestLane';
import { EngineInstance, type LivenessSource } from './instance';
import { disableRevokedKey } from './keyRevoked';
import { postOverdueSummaries } from './summary';
import type { Account, Execution, Signal } from '../domain/records';

export interface GatewayProvider {
  forAccount(account: Account): ExchangeGateway;
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
  /** A balance a user-data stream vouches for is confirmed without a read for this long after the read (balanceRefresh.ts). */
  streamedBalanceMaxAgeMs: number;
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
  streamedBalanceMaxAgeMs: 30 * 60_000,
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
  private readonly balances: BalanceRefresh;
  private readonly batchDependencies: BatchDependencies;
  /** Executions being run by this process now (see runExecutions). */
  private readonly runningExecutions = new Map<string, symbol>();
  /** Per account, when the last execution of it queued in this process is done (accountTurns.ts). */
  private readonly accountTails = new Map<string, Promise<void>>();
  /** This process's row and heartbeat in the database; account leases of the cycle steps use it too. */
  readonly instance: EngineInstance;
  lastSuccessfulCycleAt: number | null = null;

  constructor(
    private readonly store: Store,
    private readonly gateways: GatewayProvider,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: EngineSettings,
    private readonly metrics?: Metrics,
    options: { liveness?: LivenessSource } = {},
  ) {
    this.accounts = store.accounts;
    this.signals = store.signals;
    this.trading = store.trading;
    this.users = store.users;
    this.instance = new EngineInstance(
      store,
      settings.instanceName,
      clock,
      log,
      { takeoverAfterMs: settings.takeoverAfterMs, heartbeatEveryMs: settings.heartbeatEveryMs },
      { ...(options.liveness ? { liveness: options.liveness } : {}), onPeersDead: () => this.peersDied() },
    );
    this.claims = new BatchedClaimCheck((ids) =>
      this.trading.heldExecutions(this.instanceId, ids, this.instance.freshSince()),
    );
    const onAuthFailure = (account: Account) =>
      disableRevokedKey(
        {
          accounts: this.accounts,
          trading: this.trading,
          invalidateGateway: (id) => gateways.invalidate(id),
          log,
        },
        account,
      );
    const gatewayFor = (account: Account) => this.gateways.forAccount(account);
    this.balances = new BalanceRefresh(
      { accounts: this.accounts, trading: this.trading, gatewayFor, clock, log, metrics, onAuthFailure },
      settings,
    );
    this.batchDependencies = {
      accounts: this.accounts,
      users: this.users,
      trading: this.trading,
      gatewayFor,
      clock,
      log,
      settings,
      metrics,
      instanceId: () => this.instanceId,
      holdsClaim: (executionId) => this.claims.holds(executionId),
      stampSent: (executionId, orderId, sentAt, previous) =>
        this.trading.stampSent(orderId, sentAt, previous, {
          kind: 'execution',
          executionId,
          holder: this.instanceId,
          freshSince: this.instance.freshSince(),
        }),
      onAuthFailure,
      followPosition: (accountId) => this.positionFollower(accountId),
    };
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
    if (taken > 0)
      this.log.info({ executions: taken }, 'took over in-flight executions of stopped processes');
    this.started = true;
  }

  /** Wakes a waiting beside pass (see runBesideSteps). */
  private wakeBeside: (() => void) | null = null;
  private onPeerDeath: () => void = () => {};

  /**
   * Another process was found dead (PostgreSQL liveness lock): its in-flight executions and leases
   * are free, and a position it was protecting must not wait for the next pass to be taken over.
   */
  private peersDied(): void {
    this.wakeBeside?.();
    this.onPeerDeath();
  }

  /** What else wakes when another process dies (the app starts a cycle, which takes its work over). */
  whenPeersDie(wake: () => void): void {
    this.onPeerDeath = wake;
  }

  /** Where an execution whose stop was not placed hands its account (see followPositionsWith). */
  private positionFollower: (accountId: string) => Promise<void> = async () => {};

  /**
   * The position lifecycle that follows an account at once when an execution's stop was refused
   * (the position sync's followNow); without one, the sync's next pass does.
   */
  followPositionsWith(follow: (accountId: string) => Promise<void>): void {
    this.positionFollower = follow;
  }

  /** Where the user-data streams say since when an account's balances are unchanged (BalanceRefresh). */
  confirmBalancesWith(quietSince: (accountId: string) => number | null): void {
    this.balances.confirmWith(quietSince);
  }

  private reconciler: { stop: () => void; done: Promise<void> } | null = null;

  /**
   * Between and during cycles (the app; tests drive cycles by hand): every `everyMs`, this process's
   * executions left in flight (an entry whose answer was lost, a lookup the exchange could not answer)
   * are run again, each as soon as its last run ended. Otherwise a filled entry whose answer was lost
   * waits for its stop until the next cycle or beside pass, which a long fan-out or a slow pass holds up.
   */
  keepReconciling(everyMs = 1_000): void {
    if (this.reconciler) return;
    let stopped = false;
    let wake: () => void = () => {};
    const runs = new Set<Promise<unknown>>();
    // An execution still in flight after a run waits longer each time (1, 2, 4, then every 5 s): the
    // exchange answers a lost order within seconds, and one that keeps failing must not cost a run a second.
    const tries = new Map<string, { count: number; nextAt: number }>();
    const loop = async () => {
      while (!stopped) {
        if (this.started) {
          try {
            const leftOver = await this.trading.listInFlightOf(this.instanceId);
            const now = this.clock.now();
            const present = new Set(leftOver.map((execution) => execution.id));
            for (const id of tries.keys()) if (!present.has(id)) tries.delete(id);
            const due = leftOver.filter((execution) => (tries.get(execution.id)?.nextAt ?? 0) <= now);
            for (const execution of due) {
              const count = (tries.get(execution.id)?.count ?? 0) + 1;
              tries.set(execution.id, { count, nextAt: now + Math.min(everyMs * 2 ** (count - 1), 5 * everyMs) });
            }
            if (stopped) break;
            // Not awaited: one slow execution must not hold up the next tick's others (runExecutions
            // never runs an execution twice at once, and rechecks a list other runs may have finished).
            const run = this.runExecutions(due, { recheck: true }).catch((error: unknown) =>
              this.log.error({ err: error }, 'reconciling in-flight executions failed; next tick tries again'),
            );
            runs.add(run);
            void run.finally(() => runs.delete(run));
          } catch (error) {
            this.log.warn({ err: error }, 'in-flight executions could not be listed; next tick tries again');
          }
        }
        if (stopped) break;
        await Promise.race([this.clock.sleep(everyMs), new Promise<void>((resolve) => (wake = resolve))]);
      }
      await Promise.all(runs);
    };
    this.reconciler = {
      stop: () => {
        stopped = true;
        wake();
      },
      done: loop(),
    };
  }

  /** A clean stop: waits for the running cycle, then frees every claim of this process at once. */
  async stop(): Promise<void> {
    if (this.reconciler) {
      this.reconciler.stop();
      await this.reconciler.done;
      this.reconciler = null;
    }
    await this.running?.catch(() => {});
    await this.balanceRoutine;
    this.started = false;
    await this.instance.stop();
  }

  /**
   * Adds work to every cycle after signals are executed (copy-trading polls, the strategy), or, with
   * `beside`, while they are (the position sync: a fan-out to many accounts must not hold up the stop
   * of a position whose entry filled meanwhile). Each step is isolated: one failing step never stops
   * the others or the cycle.
   */
  /** The routine balance refresh under way, if any. */
  private balanceRoutine: Promise<void> | null = null;

  /**
   * Starts the routine balance refresh unless one runs, and does not wait for it: its reads are
   * background reads that may wait for weight, and the next cycle's signals must not wait behind them.
   */
  private refreshBalances(): void {
    this.balanceRoutine ??= this.balances
      .routine()
      .catch((error: unknown) => this.log.warn({ err: error }, 'routine balance refresh failed; the next cycle tries again'))
      .finally(() => {
        this.balanceRoutine = null;
      });
  }

  /** Waits for the routine balance refresh under way (tests that read what it wrote). */
  async balancesSettled(): Promise<void> {
    await this.balanceRoutine;
  }

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
    // In-flight work, this process's and dead processes', before any new signal (rule 6).
    let executions = await this.resumeInFlight();
    const claimed = await claimAndFanOut(this.store, this.instanceId, this.clock, this.log, 50);
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
    await postOverdueSummaries(this.signals, this.trading, this.clock.now(), this.settings.summaryTimeoutMs);
    await this.cancelWithdrawnSignals();
    this.refreshBalances();
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
      if (pass > 0) {
        await this.resumeInFlight().catch((error: unknown) =>
          this.log.error({ err: error }, 'resuming in-flight executions failed; the next pass tries again'),
        );
      }
      await this.runSteps(true);
      if (done) return;
      const rest = this.settings.besideEveryMs - (this.clock.now() - passStartedAt);
      if (rest > 0) {
        const woken = new Promise<void>((resolve) => (this.wakeBeside = resolve));
        await Promise.race([this.clock.sleep(rest), signalPath, woken]);
        this.wakeBeside = null;
      }
      if (done) return;
    }
  }

  /**
   * Executions this process left in flight (an answer the exchange could not give yet), then those
   * of dead processes; answers how many. Run at the start of every cycle and in the beside passes: a
   * process killed between an entry's fill and its stop leaves a position only its execution knows
   * to protect, and a long fan-out must not hold that takeover until the next cycle starts.
   */
  private async resumeInFlight(): Promise<number> {
    const leftOver = await this.trading.listInFlightOf(this.instanceId);
    if (leftOver.length > 0) await this.runExecutions(leftOver);
    return leftOver.length + (await this.takeOverAbandoned());
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
      // Claims of this very process (its heartbeat went stale while they ran) come back as
      // "abandoned" while they still run here: nothing new to run means nothing more to take now.
      if ((await this.runExecutions(batch)) === 0) return taken;
    }
  }

  /**
   * Runs the executions of `batch` not already running here; answers how many it ran. With `recheck`
   * (a list read while other runs were finishing), those no longer in flight under this process are
   * dropped once marked: the outcome of a run is written before its mark is released, so what the
   * database says after the mark is final.
   */
  private async runExecutions(batch: Execution[], options: { recheck?: boolean } = {}): Promise<number> {
    // An execution runs once at a time in this process (the signal path and the beside passes both
    // resume this process's in-flight work): taken here, synchronously, by whichever comes first.
    // Each run releases only its own mark: an id released early and taken by a later run stays taken.
    const run = Symbol('run');
    let executions = batch.filter((execution) => !this.runningExecutions.has(execution.id));
    if (executions.length === 0) return 0;
    for (const execution of executions) this.runningExecutions.set(execution.id, run);
    const release = (id: string) => {
      if (this.runningExecutions.get(id) === run) this.runningExecutions.delete(id);
    };
    try {
      if (options.recheck) {
        const held = await this.trading.heldExecutions(
          this.instanceId,
          executions.map((execution) => execution.id),
          this.instance.freshSince(),
        );
        for (const execution of executions) if (!held.has(execution.id)) release(execution.id);
        executions = executions.filter((execution) => held.has(execution.id));
        if (executions.length === 0) return 0;
      }
      await this.runTakenExecutions(executions, release);
    } finally {
      for (const execution of executions) release(execution.id);
    }
    return executions.length;
  }

  /** A signal's work: its exchange reads go ahead of background reads (src/exchange/requestLane.ts). */
  private runTakenExecutions(executions: Execution[], release: (id: string) => void): Promise<void> {
    return inSignalLane(() => this.runSignalWork(executions, release));
  }

  private async runSignalWork(executions: Execution[], release: (id: string) => void): Promise<void> {
    const signalCache = new Map<string, Promise<Signal | null>>();
    const signalOfExecution = (id: string) => {
      let cached = signalCache.get(id);
      if (!cached) {
        cached = this.signals.byId(id);
        signalCache.set(id, cached);
      }
      return cached;
    };
    await this.balances.beforeFanOut(executions.map((execution) => execution.accountId));
    const context = await batchExecutionContext(this.batchDependencies, executions, signalOfExecution);
    const limit = pLimit(this.settings.concurrency);
    const claimedAt = this.clock.now();
    // One account's executions run one after another in signal order (see accountTurns.ts), after
    // those of the account still running in this process's other runs (the reconcile loop's, say).
    const turns = await accountTurnsOf(executions, signalOfExecution, this.accountTails);
    await Promise.all(
      executions.map(async (execution) => {
        // Its turn comes before a concurrency slot is taken: a waiting execution never holds one.
        await turns.get(execution.id)?.before;
        return limit(async () => {
          try {
            const signal = await signalOfExecution(execution.signalId);
            if (!signal) return;
            await executeAccount(context, execution, signal);
          } catch (error) {
            if (isLostClaim(error)) {
              // Taken over (this process's heartbeat lapsed): whoever claims it now continues from here.
              this.log.warn(
                { executionId: execution.id },
                'claim lost; the execution is left to its new claimer',
              );
              return;
            }
            // One account's failure never touches another's; it stays in flight for the next cycle.
            this.log.error({ err: error, executionId: execution.id }, 'execution failed unexpectedly');
          } finally {
            turns.get(execution.id)?.done();
            // Done here: a beside pass may resume it at once if its answer is still unknown.
            release(execution.id);
          }
        });
      }),
    );
    this.metrics?.fanOutSeconds.observe((this.clock.now() - claimedAt) / 1000);
  }

  /**
   * /signal cancel: nothing new starts for a withdrawn signal. Its resting entries are cancelled by
   * the position sync (the lifecycle's lapse rule), which looks a "nothing to cancel" answer up and
   * follows what filled meanwhile into a protected position.
   */
  private async cancelWithdrawnSignals(): Promise<void> {
    await this.trading.cancelPendingOfWithdrawnSignals();
  }
}
