/**
 * The exchange side of one execution's legs: syncing their state, placing, resending and cancelling
 * them through the order-safety protocol. A cancel answer is not a state: "nothing to cancel" is
 * followed by a lookup, and the row ends in what the lookup says (the order may have filled).
 */

import type { NewOrder, TradingRepository } from '../../db/repositories/trading';
import { feesSettled, sameFees } from '../../domain/fees';
import { isInFlight, isLive, kindOf, replacedInFlight } from '../../domain/lifecycle/legs';
import type { OrderFields } from '../../domain/lifecycle/types';
import type { OrderIntent } from '../../exchange/gateway';
import type { LeaseFence } from '../accountLeases';
import type { Clock } from '../../clock';
import {
  orderIntent,
  orderStatePatch,
  reconcileOrder,
  resendRefused,
  sendOrder,
  type Placement,
  type ProtocolContext,
} from '../orderProtocol';
import { legOf } from './views';
import { openOrdersOf, type AccountWork } from './work';
import type { Execution, Order, Signal } from '../../domain/records';

/** One (signal, account) execution being followed. */
export interface Followed {
  execution: Execution;
  signal: Signal;
}

export interface LegIoDeps {
  trading: TradingRepository;
  clock: Clock;
  /** The protocol's lookup window: also how long a sent order may be unknown to the exchange. */
  lookupWindowMs: number;
  /** Several processes: the account's lease, asked before each send and written under with its stamp. */
  lease?: LeaseFence;
}

export function legIo(deps: LegIoDeps) {
  const { trading, clock, lease } = deps;

  const protocolFor = (work: AccountWork): ProtocolContext => ({
    gateway: work.gateway,
    repo: trading,
    clock,
    log: work.log,
    lookupWindowMs: deps.lookupWindowMs,
    // Exits protect a position: a provably unplaced exit may always go once more.
    withinLag: () => true,
    // Refused exits are retried each second by the lifecycle: no account's back-off holds up the pass.
    waitOutRateLimits: false,
    ...(lease
      ? {
          holdsClaim: () => lease.holds(work.account.id),
          stampUnderClaim: (orderId: string, sentAt: number, previous: number | null) =>
            lease.stamp(work.account.id, orderId, sentAt, previous),
        }
      : {}),
  });

  const extraOf = (work: AccountWork, signal: Signal): Pick<OrderIntent, 'positionSide'> =>
    work.account.positionMode === 'hedge' ? { positionSide: signal.side } : {};

  /** Brings every live leg up to date with the exchange; returns the execution's legs after. */
  async function refresh(work: AccountWork, followed: Followed, orders: Order[]): Promise<Order[]> {
    const protocol = protocolFor(work);
    // A replaced exit proven absent is written off, not sent again beside its replacement.
    const noResend: ProtocolContext = { ...protocol, withinLag: () => false };
    const replaced = new Set(replacedInFlight(orders.map(legOf)).map((leg) => leg.id));
    const extra = extraOf(work, followed.signal);
    let changed = false;
    for (const order of orders) {
      if (!isLive(order)) continue;
      changed = true;
      const entry = kindOf(order) === 'entry';
      try {
        if (isInFlight(order)) {
          if (entry) work.unsettled.add(order.executionId);
          // One look per visit: the next pass (seconds away) looks again, and a wait here would hold
          // up this account's other legs and every account after it.
          await reconcileOrder(replaced.has(order.id) ? noResend : protocol, order, extra, { budgetMs: 0 });
          continue;
        }
        const listed = (await openOrdersOf(work, order.symbol))?.get(order.clientOrderId);
        if (listed && listed.status === order.status && listed.filledQuantity === order.filledQuantity)
          continue;
        const state = await work.gateway.fetchOrder(order.symbol, order.clientOrderId);
        if (!state || (entry && state.filledQuantity > order.filledQuantity))
          work.unsettled.add(order.executionId);
        if (state) await trading.updateOrder(order.id, orderStatePatch(state, order));
      } catch (error) {
        work.unsettled.add(order.executionId);
        work.log.warn({ err: error, leg: order.leg }, 'order sync failed; next cycle tries again');
      }
    }
    return changed ? trading.ordersOfExecution(followed.execution.id) : orders;
  }

  /**
   * Fees of filled legs not known and valued yet: some exchanges report them only with the trades,
   * and a fee in a third currency (BNB) needs that currency's price at fill time.
   */
  async function refreshFees(work: AccountWork, orders: Order[]): Promise<Order[]> {
    let changed = false;
    for (const order of orders) {
      if (order.filledQuantity <= 0 || feesSettled(order.fees) || isLive(order)) continue;
      // An entry whose fees stay unknown: what it holds is not known either (a spot fee in the coin).
      const unknown = () => {
        if (kindOf(order) === 'entry') work.unsettled.add(order.executionId);
      };
      try {
        const state = await work.gateway.fetchOrder(order.symbol, order.clientOrderId);
        if (!state || state.feesUnknown) unknown();
        if (state && state.fees.length > 0 && !sameFees(state.fees, order.fees)) {
          await trading.updateOrder(order.id, { fees: state.fees });
          changed = true;
        }
      } catch (error) {
        unknown();
        work.log.warn({ err: error, leg: order.leg }, 'fee lookup failed');
      }
    }
    return changed && orders[0] ? trading.ordersOfExecution(orders[0].executionId) : orders;
  }

  /** Persists an intent (attempts = 1, no stamp yet) and sends it; an existing row is reconciled. */
  async function place(
    work: AccountWork,
    followed: Followed,
    legId: string,
    fields: OrderFields,
  ): Promise<Placement> {
    const { account } = work;
    const protocol = protocolFor(work);
    const extra = extraOf(work, followed.signal);
    const existing = (await trading.ordersOfExecution(followed.execution.id)).find(
      (order) => order.leg === legId,
    );
    if (existing) {
      // Written by an earlier cycle: never send blindly, reconcile or report what is known.
      if (isInFlight(existing)) return reconcileOrder(protocol, existing, extra);
      if (existing.status === 'rejected')
        return { kind: 'rejected', reason: 'invalid-order', errorKind: 'invalid-order' };
      if (existing.status === 'not-placed') return { kind: 'not-placed', reason: 'not-placed' };
      return {
        kind: 'placed',
        state: { ...orderStatePatchOf(existing), clientOrderId: existing.clientOrderId },
      };
    }
    const owner = {
      executionId: followed.execution.id,
      signalId: followed.signal.id,
      accountId: account.id,
      ownerId: account.ownerId,
    };
    const intent: NewOrder = orderIntent(owner, legId, fields);
    await trading.insertOrders([intent]);
    const row = (await trading.ordersOfExecution(followed.execution.id)).find((order) => order.leg === legId);
    if (!row) throw new Error(`order leg ${legId} vanished`);
    return sendOrder(protocol, row, extra);
  }

  /** Sends a refused leg again under its own id (after its backoff). */
  function resend(work: AccountWork, followed: Followed, order: Order): Promise<Placement> {
    return resendRefused(protocolFor(work), order, extraOf(work, followed.signal));
  }

  /**
   * Cancels one leg; the row ends in what the exchange says. "Nothing to cancel" is looked up: the
   * order may have filled meanwhile (then it stays filled and is followed as such). An order the
   * lookup does not know either is taken as cancelled only once it is older than the lookup window
   * (the exchange may not show a fresh order for a while, but keeps filled ones); before that the
   * row stays as it is and the next cycle asks again. Returns whether the row changed.
   */
  async function cancel(work: AccountWork, order: Order): Promise<boolean> {
    try {
      const state = await work.gateway.cancelOrder(order.symbol, order.clientOrderId);
      const after = state ?? (await work.gateway.fetchOrder(order.symbol, order.clientOrderId));
      if (after) {
        // An entry found filled further by its cancel: what it holds may be more than the reads before saw.
        if (kindOf(order) === 'entry' && after.filledQuantity > order.filledQuantity) work.unsettled.add(order.executionId);
        const patch = orderStatePatch(after, order);
        // A cancel answer may echo "open" for the order it just cancelled; it is gone now.
        await trading.updateOrder(
          order.id,
          after.status === 'open' && state ? { ...patch, status: 'cancelled' } : patch,
        );
        return true;
      }
      // The send stamp is on the exchange's clock: so is the window (a host clock ahead would end it early).
      const sent = order.sentAt ?? 0;
      if (work.gateway.exchangeNow() - sent < deps.lookupWindowMs) {
        work.log.info(
          { leg: order.leg },
          'order unknown to the exchange right after it was sent; cancel asked again next cycle',
        );
        return false;
      }
      await trading.updateOrder(order.id, { status: 'cancelled' });
      return true;
    } catch (error) {
      work.log.warn({ err: error, leg: order.leg }, 'cancel failed; next cycle tries again');
      return false;
    }
  }

  const ordersOf = (followed: Followed) => trading.ordersOfExecution(followed.execution.id);

  return { refresh, refreshFees, place, resend, cancel, ordersOf, protocolFor, extraOf };
}

export type LegIo = ReturnType<typeof legIo>;

/** What a stored row says of its order, as the protocol reports a placement. */
function orderStatePatchOf(row: Order) {
  return {
    exchangeOrderId: row.exchangeOrderId ?? '',
    symbol: row.symbol,
    side: row.side,
    type: row.type,
    status:
      row.status === 'intent' ||
      row.status === 'unknown' ||
      row.status === 'not-placed' ||
      row.status === 'rejected'
        ? ('open' as const)
        : row.status,
    quantity: row.quantity,
    filledQuantity: row.filledQuantity,
    averagePrice: row.averagePrice,
    fees: row.fees,
    updatedAt: row.updatedAt.getTime(),
  };
}
