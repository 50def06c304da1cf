import type { AccountOrderPlan } from '../../domain/planOrder';
import type { ReasonCode } from '../../domain/reasons';
import { utcDayKey } from '../../domain/risk';
import type { ExecutionOutcome } from '../../db/repositories/trading';
import { isExchangeError } from '../../exchange/errors';
import { signalOrderEvent, type OrderFeedEvent, type OrderOutcome } from '../../domain/feedEvents';
import { entryOrders, feedRow, type ExecutionBase } from './context';
import type { Order } from '../../domain/records';

/** An exchange error before anything was sent: the account's outcome and its reason. */
export async function failFromError(base: ExecutionBase, error: unknown, orders: Order[]): Promise<void> {
  const kind = isExchangeError(error) ? error.kind : 'unexpected';
  base.log.warn({ err: error, kind }, 'account could not trade this signal');
  if (kind === 'auth-failed') {
    await base.ctx.onAuthFailure(base.account);
    return finish(base, { status: 'failed', reason: 'key-revoked', plan: null, orders });
  }
  if (isExchangeError(error, 'not-permitted')) {
    // The key works; the exchange will not let this account do it (e.g. leverage above 20× before
    // verification). Nothing was sent: the account skips this signal and stays enabled.
    return finish(base, { status: 'skipped', reason: error.reason ?? 'trading-restricted', plan: null, orders });
  }
  const reason: ReasonCode =
    kind === 'unknown-outcome' ? 'exchange-timeout' : kind === 'rate-limited' ? 'rate-limited' : 'exchange-error';
  return finish(base, { status: 'failed', reason, plan: null, orders });
}

/** Writes the execution's outcome with its per-order feed row (LostClaim when taken over). */
export async function finish(
  base: ExecutionBase,
  result: {
    status: ExecutionOutcome['status'];
    reason: string | null;
    plan: AccountOrderPlan | null;
    orders: Order[];
  },
): Promise<void> {
  const { ctx, execution, signal, account } = base;
  const entries = entryOrders(result.orders);
  const filledQty = entries.reduce((sum, o) => sum + o.filledQuantity, 0);
  const filledValue = entries.reduce((sum, o) => sum + o.filledQuantity * (o.averagePrice ?? 0), 0);
  const outcome: OrderOutcome =
    result.status === 'placed' ? (filledQty > 0 ? 'filled' : 'placed') : (result.status as OrderOutcome);
  const share = account.shareAmounts;
  const quantity = result.plan?.qty ?? execution.quantity ?? (filledQty || null);
  const event: OrderFeedEvent = {
    ...signalOrderEvent(signal, account, outcome, (result.reason as ReasonCode | null) ?? null),
    symbol: result.plan?.symbol ?? execution.symbol ?? signal.symbol,
    price: filledQty > 0 ? filledValue / filledQty : (entries[0]?.price ?? null),
    leverage: result.plan?.leverage ?? execution.leverage,
    leverageCapped: result.plan?.leverageCapped ?? execution.leverageCapped,
    stopLoss: result.plan?.stopLoss ?? signal.stopLoss,
    takeProfits: [...(result.plan?.takeProfits ?? signal.takeProfits)],
    quantity: share ? quantity : null,
    notional: share ? (result.plan?.notional ?? execution.notional) : null,
  };
  await ctx.finalize(execution, {
    status: result.status,
    reason: result.reason,
    feed: [feedRow(base, event, 'order')],
    countsAsTrade: result.status === 'placed',
    day: utcDayKey(ctx.clock.now()),
  });
}
