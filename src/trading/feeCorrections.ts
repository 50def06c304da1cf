/**
 * Fees valued after the close. A fee in a third currency (BNB) whose price could not be read when its
 * position closed was left out of the close's figures; this step looks such orders up again (closed
 * in the last 7 days, a few per run, each waiting longer after a failed try: a quarter of the time
 * since the close, 1 minute to 1 hour, kept in the database so every process and every order gets its
 * turn) and, once the fee is valued, books the difference: the position's fees and realised PnL, and
 * its close day's figures.
 */
import type { Store } from '../db/store';
import type { UnvaluedFeeOrder } from '../db/repositories/positions';
import { feesInQuote, sameFees } from '../domain/fees';
import { toNumber } from '../domain/precision';
import { utcDayKey } from '../domain/risk';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import type { GatewayProvider } from './engine';

const WINDOW_MS = 7 * 86_400_000;
const PER_RUN = 20;
const MIN_WAIT_MS = 60_000;
const MAX_WAIT_MS = 3_600_000;

export interface FeeCorrectionsDeps {
  store: Store;
  gateways: GatewayProvider;
  clock: Clock;
  log: Logger;
  claimAccounts?: (accountIds: string[]) => Promise<string[]>;
}

export function createFeeCorrections(deps: FeeCorrectionsDeps) {
  const positions = deps.store.positions;
  const accounts = deps.store.accounts;
  const log = deps.log.child({ component: 'fee-corrections' });

  async function correct(order: UnvaluedFeeOrder): Promise<boolean> {
    const account = await accounts.byId(order.accountId);
    if (!account) return false;
    const state = await deps.gateways.forAccount(account).fetchOrder(order.symbol, order.clientOrderId);
    if (!state || state.fees.length === 0) return false;
    // Only a fee valued now that was not before changes the figures; anything else waits.
    const valued = toNumber(feesInQuote(state.fees).minus(feesInQuote(order.fees)));
    if (!(valued > 0) || sameFees(state.fees, order.fees)) return false;
    return positions.correctFees({
      orderId: order.orderId,
      positionId: order.positionId,
      accountId: order.accountId,
      before: order.fees,
      after: state.fees,
      valued,
      day: utcDayKey(order.closedAt.getTime()),
    });
  }

  return {
    async run(): Promise<number> {
      const now = deps.clock.now();
      const due = await positions.unvaluedFeesOfClosed(new Date(now - WINDOW_MS), new Date(now), PER_RUN);
      if (due.length === 0) return 0;
      const held = deps.claimAccounts ? new Set(await deps.claimAccounts([...new Set(due.map((o) => o.accountId))])) : null;
      let corrected = 0;
      for (const order of due.filter((o) => !held || held.has(o.accountId))) {
        let done = false;
        try {
          done = await correct(order);
        } catch (error) {
          log.warn({ err: error, orderId: order.orderId }, 'fee lookup for a correction failed');
        }
        if (done) {
          corrected += 1;
          log.info({ orderId: order.orderId, positionId: order.positionId }, 'fee valued after the close: figures corrected');
        } else {
          const wait = Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, (now - order.closedAt.getTime()) / 4));
          await positions.deferFeeRetry(order.orderId, new Date(now + wait));
        }
      }
      return corrected;
    },
  };
}
