import type { AccountsRepository } from '../db/repositories/accounts';
import type { ExecutionOutcome, TradingRepository } from '../db/repositories/trading';
import type { UsersRepository } from '../db/repositories/users';
import { utcDayKey } from '../domain/risk';
import type { ExchangeGateway } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { LostClaim } from './claims';
import type { Clock } from '../clock';
import type { AccountExecutionContext } from './execution/executeAccount';
import { ExposureLedger } from './exposureLedger';
import { GroupCommit } from './groupCommit';
import { summaryOutboxRow } from './summary';
import { WriteBehindExecutionStore } from './writeBehindStore';
import type { Account, Execution, Signal } from '../domain/records';

/** What the engine lends a batch of executions. */
export interface BatchDependencies {
  accounts: AccountsRepository;
  users: UsersRepository;
  trading: TradingRepository;
  gatewayFor: (account: Account) => ExchangeGateway;
  clock: Clock;
  log: Logger;
  settings: AccountExecutionContext['settings'];
  metrics: Metrics | undefined;
  /** The id outcomes are fenced with (this process's claims). */
  instanceId: () => string;
  holdsClaim: (executionId: string) => Promise<boolean>;
  stampSent: AccountExecutionContext['stampSent'];
  onAuthFailure: (account: Account) => Promise<void>;
  followPosition: (accountId: string) => Promise<void>;
}

/**
 * Everything a batch of executions reads that does not change while it runs is loaded once for
 * the batch (the write-behind store: accounts, owners, today's figures, the batch's orders; open
 * exposures, conditional counts); writes and outcomes are group-committed. On PGlite every
 * statement runs one after another, so statements per account are what bounds a 1,000-account
 * fan-out.
 */
export async function batchExecutionContext(
  deps: BatchDependencies,
  executions: Execution[],
  signalOf: (id: string) => Promise<Signal | null>,
): Promise<AccountExecutionContext> {
  const { trading: repository, clock, log, metrics } = deps;
  const accountIds = [...new Set(executions.map((execution) => execution.accountId))];
  const onGroupFailure = (error: unknown, size: number) =>
    log.warn({ err: error, size }, 'group write failed; writing its items one by one');
  const store = await WriteBehindExecutionStore.open(deps, executions, utcDayKey(clock.now()), onGroupFailure);
  const openExposures = await repository.openExposuresOf(accountIds);
  const conditional = await repository.liveConditionalCounts(accountIds);

  const quotes = new Map<string, Promise<number | undefined>>();
  type Outcome = { execution: Execution; outcome: ExecutionOutcome; signal: Signal | null };
  // Outcomes the fence refused: their execution was taken over by another process.
  const lost = new Set<string>();
  const finalizeAll = async (items: Outcome[]) => {
    const written = await repository.finalizeExecutions(
      items,
      (signalId) => (rows) => {
        const signal = items.find((item) => item.signal?.id === signalId)?.signal;
        return signal ? summaryOutboxRow(signal, rows, true) : null;
      },
      new Date(clock.now()),
      deps.instanceId(),
    );
    for (const item of items) if (!written.has(item.execution.id)) lost.add(item.execution.id);
  };
  // One bad outcome cannot fail the others: a failed group is written again one by one.
  const outcomes = new GroupCommit<Outcome>(finalizeAll, (item) => finalizeAll([item]), onGroupFailure);
  return {
    store,
    gatewayFor: deps.gatewayFor,
    exposure: new ExposureLedger((ownerId, mode, baseAsset) =>
      repository.memberExposure(ownerId, mode, baseAsset),
    ),
    conditionalOrders: async (accountId, symbol) =>
      (
        conditional.get(accountId) ?? (await repository.liveConditionalCounts([accountId])).get(accountId)
      )?.get(symbol) ?? 0,
    openExposures: async (accountId) => {
      let open = openExposures.get(accountId);
      if (!open) {
        open = (await repository.openExposuresOf([accountId])).get(accountId) ?? [];
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
            log.warn({ err: error, symbol }, 'quote unavailable');
            return undefined;
          },
        );
        quotes.set(key, cached);
      }
      return cached;
    },
    clock,
    log,
    settings: deps.settings,
    finalize: async (execution, outcome) => {
      await outcomes.submit({ execution, outcome, signal: await signalOf(execution.signalId) });
      if (lost.has(execution.id))
        throw new LostClaim(`execution ${execution.id} was taken over; outcome not written`);
      metrics?.orders.inc({ outcome: outcome.status, reason: outcome.reason ?? 'none' });
    },
    holdsClaim: deps.holdsClaim,
    stampSent: deps.stampSent,
    reserveTrade: (execution, maxDailyTrades) =>
      repository.reserveDailyTrade(execution, utcDayKey(clock.now()), maxDailyTrades, deps.instanceId()),
    onAuthFailure: deps.onAuthFailure,
    followPosition: deps.followPosition,
  };
}
