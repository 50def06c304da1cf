import { copyInstructionFor, copySignalTimeMs, isCopyExit } from '../../domain/copy';
import type { MarketRules } from '../../domain/market';
import type { AccountOrderPlan } from '../../domain/planOrder';
import type { ReasonCode } from '../../domain/reasons';
import type { NewOrder } from '../../db/repositories/trading';
import type { ExchangeGateway, OrderIntent } from '../../exchange/gateway';
import { LostClaim } from '../claims';
import { planCopyOrder } from '../copyOrder';
import {
  orderIntent,
  reconcileOrder,
  sendOrder,
  type Placement,
  type ProtocolContext,
} from '../orderProtocol';
import { entryOrders, type AccountExecutionContext, type ExecutionBase } from './context';
import { placeExits } from './exits';
import { failFromError, finish } from './outcome';
import { placementOfRow } from './placements';
import { conflict, planFor } from './plan';
import type { Execution, Signal } from '../../domain/records';

export type { AccountExecutionContext } from './context';

const copyExitOf = (signal: Signal, accountId: string): boolean =>
  signal.source === 'copy' && isCopyExit(signal.copy, accountId);
const signalTimeMs = (signal: Signal): number =>
  signal.source === 'copy'
    ? copySignalTimeMs(signal.copy, signal.createdAt.getTime())
    : signal.createdAt.getTime();

/**
 * Runs one (signal, account) to a definite outcome, or leaves it in flight for the next cycle when
 * the exchange cannot tell yet. Resumable: everything it decides is read back from the database, so
 * a crash at any point continues where it stopped without sending anything twice.
 */
export async function executeAccount(
  ctx: AccountExecutionContext,
  execution: Execution,
  signal: Signal,
): Promise<void> {
  const account = await ctx.store.account(execution.accountId);
  const log = ctx.log.child({ signalId: signal.id, accountId: execution.accountId });
  if (!account) return; // removed meanwhile: the cascade removed the execution too
  const base = { ctx, execution, signal, account, log };

  let orders = await ctx.store.ordersOfExecution(execution.id);
  let gateway: ExchangeGateway;
  try {
    gateway = ctx.gatewayFor(account);
  } catch (error) {
    log.warn({ err: error }, 'no gateway for account');
    return finish(base, { status: 'failed', reason: 'exchange-error', plan: null, orders });
  }
  const protocol: ProtocolContext = {
    gateway,
    repo: ctx.store,
    clock: ctx.clock,
    log,
    lookupWindowMs: ctx.settings.lookupWindowMs,
    // An entry too old is not sent; a copy's exit is never too old to leave a position by.
    // A copy's open is as old as the master's fill (or the follower's acceptance).
    withinLag: () =>
      copyExitOf(signal, account.id) || ctx.clock.now() - signalTimeMs(signal) <= ctx.settings.maxSignalLagMs,
    holdsClaim: () => ctx.holdsClaim(execution.id),
    stampUnderClaim: (orderId, sentAt, previous) => ctx.stampSent(execution.id, orderId, sentAt, previous),
  };
  const extra: Pick<OrderIntent, 'positionSide'> =
    account.positionMode === 'hedge' ? { positionSide: signal.side } : {};

  let plan: AccountOrderPlan | null = null;
  if (orders.length === 0) {
    const copyExit = copyExitOf(signal, account.id);
    // Switched off: no new position; a copy's reduce or close (the way out of one) still goes.
    if (!account.enabled && !copyExit) {
      return finish(base, { status: 'skipped', reason: 'account-disabled', plan: null, orders });
    }
    let markets: ReadonlyMap<string, MarketRules>;
    try {
      markets = await gateway.markets();
    } catch (error) {
      return failFromError(base, error, orders);
    }
    // COPY TRADING: the follow link sets this follower's quantity (or the share of its position to
    // close) instead of the account's sizing; dry-run records what would be placed and sends nothing.
    const copyOrder = signal.source === 'copy' ? copyInstructionFor(signal.copy, account.id) : null;
    const own = { tradeDay: execution.tradeDay, notional: execution.notional };
    const planned = copyOrder
      ? await planCopyOrder(ctx, signal, account, copyOrder, gateway, markets, own).catch(
          (error: unknown) => ({ kind: 'error' as const, error }),
        )
      : await planFor(ctx, account, signal, gateway, markets, own);
    if (planned.kind === 'error') return failFromError(base, planned.error, orders);
    if (planned.kind === 'skipped') {
      return finish(base, { status: 'skipped', reason: planned.reason, plan: null, orders });
    }
    plan = planned;
    const refused =
      copyOrder && !copyOrder.reduceOnly
        ? await conflict(ctx, account, plan.symbol, signal.side, true)
        : null;
    if (refused) return finish(base, { status: 'skipped', reason: refused, plan: null, orders });
    if (copyOrder?.dryRun) return finish(base, { status: 'dry-run', reason: null, plan, orders });
    if (!copyOrder?.reduceOnly) {
      // The day's trade count read for the plan is a snapshot: the slot is taken here, atomically.
      // A copy's open or add is a trade too; its way out is not.
      const reservation = await ctx.reserveTrade(execution, account.maxDailyTrades);
      if (reservation === 'lost')
        throw new LostClaim(`execution ${execution.id} was taken over before its trade was reserved`);
      if (reservation === 'limit')
        return finish(base, { status: 'skipped', reason: 'daily-trade-limit', plan: null, orders });
    }
    // A copy's way out of a position sets nothing: leverage and margin are the position's already
    // (and Binance may refuse changing them while it is open).
    if (account.marketType === 'futures' && !copyExitOf(signal, account.id)) {
      try {
        await gateway.ensureLeverage(plan.symbol, plan.leverage, account.marginMode ?? 'isolated');
      } catch (error) {
        return failFromError(base, error, orders);
      }
    }
    const owner = {
      executionId: execution.id,
      signalId: signal.id,
      accountId: account.id,
      ownerId: account.ownerId,
    };
    const intents: NewOrder[] = plan.legs
      .filter((leg) => leg.role === 'entry')
      .map((leg) =>
        orderIntent(owner, leg.leg, {
          symbol: plan!.symbol,
          side: leg.side,
          type: leg.type,
          reduceOnly: leg.reduceOnly,
          quantity: leg.qty,
          price: leg.price,
          triggerPrice: leg.triggerPrice,
        }),
      );
    await ctx.store.touchExecution(execution.id, {
      symbol: plan.symbol,
      leverage: plan.leverage,
      leverageCapped: plan.leverageCapped,
      quantity: plan.qty,
      notional: plan.notional,
      margin: plan.margin,
      notes: [...plan.notes],
    });
    await ctx.store.insertOrders(intents);
    orders = await ctx.store.ordersOfExecution(execution.id);
    // Fresh intents are sent; anything else found here is reconciled below.
    const placements = await Promise.all(
      entryOrders(orders).map((order) => sendOrder(protocol, order, extra)),
    );
    return afterEntries(base, protocol, extra, plan, placements);
  }

  // Resumed after a crash or a lost answer: reconcile what is in flight, never send blindly.
  const placements = await Promise.all(
    entryOrders(orders).map((order): Promise<Placement> => {
      if (order.status === 'intent' || order.status === 'unknown')
        return reconcileOrder(protocol, order, extra);
      return Promise.resolve(placementOfRow(order));
    }),
  );
  return afterEntries(base, protocol, extra, null, placements);
}

async function afterEntries(
  base: ExecutionBase,
  protocol: ProtocolContext,
  extra: Pick<OrderIntent, 'positionSide'>,
  plan: AccountOrderPlan | null,
  placements: Placement[],
): Promise<void> {
  const { ctx, execution, account } = base;
  if (placements.some((p) => p.kind === 'unknown')) {
    // The exchange could not tell yet: stay in flight; the next cycle reconciles again.
    await ctx.store.touchExecution(execution.id);
    return;
  }
  const placed = placements.filter((p): p is Extract<Placement, { kind: 'placed' }> => p.kind === 'placed');
  const orders = await ctx.store.ordersOfExecution(execution.id);
  if (placed.length === 0) {
    const first = placements[0];
    if (first?.kind === 'rejected' && first.reason === 'key-revoked') await ctx.onAuthFailure(account);
    const reason: ReasonCode =
      first && first.kind !== 'placed' && first.kind !== 'unknown' ? first.reason : 'exchange-error';
    const status = first?.kind === 'not-placed' ? 'not-placed' : 'failed';
    return finish(base, { status, reason, plan, orders });
  }

  const filledQty = placed.reduce((sum, p) => sum + p.state.filledQuantity, 0);
  // Copy signals place no exits of their own: the master's exits arrive as copy signals too.
  const stopPlaced =
    filledQty > 0 && base.signal.source !== 'copy'
      ? await placeExits(base, protocol, extra, orders, filledQty)
      : true;
  await finish(base, {
    status: 'placed',
    reason: null,
    plan,
    orders: await ctx.store.ordersOfExecution(execution.id),
  });
  // A filled entry without its stop: the lifecycle decides now (retry, or close at market when the
  // price is already through the stop), not on the position sync's next pass.
  if (!stopPlaced) await ctx.followPosition(account.id);
}
