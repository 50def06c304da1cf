
import type { NewOutboxRow } from '../../db/repositories/outbox';
import type { ExecutionOutcome, NewPosition, TradingRepository } from '../../db/repositories/trading';
import type { OpenExposure } from '../../domain/netting';
import type { ExchangeGateway } from '../../exchange/gateway';
import type { Logger } from '../../logger';
import type { Clock } from '../../clock';
import type { ExposureLedger } from '../exposureLedger';
import type { FeedEvent } from '../../domain/feedEvents';
import type { Account, Execution, Member, Order, Signal } from '../../domain/records';

/**
 * What executing one account reads and writes in the database, and nothing more. The engine's
 * batches share a write-behind implementation (../writeBehindStore.ts); the repositories themselves
 * fit it too, written through.
 */
export type ExecutionStore = Pick<
  TradingRepository,
  | 'ordersOfExecution'
  | 'insertOrders'
  | 'updateOrder'
  | 'stampSent'
  | 'touchExecution'
  | 'dayFigures'
  | 'copiedQuantity'
  | 'closedTradePnls'
  | 'insertFeed'
> & {
  account(id: string): Promise<Account | null>;
  owner(discordId: string): Promise<Member | null>;
  /** Records the position an entry opened (once: a second insert of its id does nothing). */
  insertPosition(row: NewPosition): Promise<void>;
};

/** What executing one account needs; built once per cycle by the engine. */
export interface AccountExecutionContext {
  store: ExecutionStore;
  gatewayFor: (account: Account) => ExchangeGateway;
  /** Member exposure per base asset for the batch; plans of one member's accounts pass through it in turn. */
  exposure: ExposureLedger;
  /** What the account has open by symbol and side (positions and working entries), for the netting rule. */
  openExposures: (accountId: string) => Promise<OpenExposure[]>;
  /** Live conditional orders of the account on the symbol (the exchange caps them per symbol). */
  conditionalOrders: (accountId: string, symbol: string) => Promise<number>;
  /** Shared per cycle: one quote per (exchange, mode, symbol), not one per account. */
  quote: (gateway: ExchangeGateway, account: Account, symbol: string) => Promise<number | undefined>;
  clock: Clock;
  log: Logger;
  settings: {
    maxSignalLagMs: number;
    balanceMaxAgeMs: number;
    lookupWindowMs: number;
    kelly: { lookbackTrades: number; fraction: number; cap: number };
  };
  /**
   * Writes the outcome (and the summary when it is the signal's last) in one transaction; throws
   * LostClaim, writing nothing, when another process has taken the execution over.
   */
  finalize: (execution: Execution, outcome: ExecutionOutcome) => Promise<void>;
  /**
   * Whether this process still holds the execution's claim (and its heartbeat is fresh): asked before
   * every order is sent or resent, so a process whose claim was taken over sends nothing more.
   */
  holdsClaim: (executionId: string) => Promise<boolean>;
  /** Writes an order's send stamp under the execution's claim; false when the claim is gone (see sendOrder). */
  stampSent: (
    executionId: string,
    orderId: string,
    sentAt: number,
    previous: number | null,
  ) => Promise<boolean>;
  /**
   * Takes one of the account's trades of today (UTC) before its entry is sent, atomically against
   * every other execution of the account: 'limit' when the day's trades are used up, 'lost' when the
   * execution was taken over. Given back by the outcome when nothing was placed.
   */
  reserveTrade: (execution: Execution, maxDailyTrades: number) => Promise<'reserved' | 'limit' | 'lost'>;
  /**
   * Called once an execution finished with a filled entry whose stop was not placed: the position
   * lifecycle follows the account at once (a stop refused because the price is already through it
   * closes at market) rather than on the position sync's next pass.
   */
  followPosition: (accountId: string) => Promise<void>;
  /** Called when an account's key stops working: disable it and tell its owner. */
  onAuthFailure: (account: Account) => Promise<void>;
}

/** One (signal, account) being executed: what every step of it reads. */
export interface ExecutionBase {
  ctx: AccountExecutionContext;
  execution: Execution;
  signal: Signal;
  account: Account;
  log: Logger;
}

export const entryOrders = (orders: Order[]) => orders.filter((order) => order.leg.startsWith('e'));
export const exitOrders = (orders: Order[]) => orders.filter((order) => /^[st]/.test(order.leg));

export function feedRow(
  base: ExecutionBase,
  event: FeedEvent,
  kind: NewOutboxRow['kind'] = 'event',
): NewOutboxRow {
  return {
    guildId: base.signal.guildId,
    kind,
    signalId: base.signal.id,
    accountId: base.account.id,
    payload: event,
  };
}
