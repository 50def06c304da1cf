import { randomUUID } from 'node:crypto';
import { stopLeg, takeProfitLeg } from '../../domain/clientOrderId';
import { targetLegBudget, targetSplit } from '../../domain/lifecycle/exits';
import { roundToStep } from '../../domain/precision';
import { heldQuantity } from '../../domain/takeProfits';
import type { NewOrder } from '../../db/repositories/trading';
import type { OrderIntent } from '../../exchange/gateway';
import { positionFeedEvent } from '../../domain/feedEvents';
import { orderIntent, reconcileOrder, sendOrder, type ProtocolContext } from '../orderProtocol';
import { entryOrders, exitOrders, feedRow, type ExecutionBase } from './context';
import { placementOfRow } from './placements';
import type { Order } from '../../domain/records';

/**
 * Answers false when the position's stop could not be placed (refused, or proven not placed); a
 * futures stop whose answer is unknown, or a spot position (watched by the engine), counts as placed.
 *
 * Exits for what has filled: a reduce-only stop and take-profits split across the targets. Spot has
 * no reduce-only stop order here: take-profits rest as limit sells and the engine watches the stop.
 */
export async function placeExits(
  base: ExecutionBase,
  protocol: ProtocolContext,
  extra: Pick<OrderIntent, 'positionSide'>,
  orders: Order[],
  filledQty: number,
): Promise<boolean> {
  const { ctx, execution, signal, account, log } = base;
  const entries = entryOrders(orders);
  const symbol = entries[0]?.symbol;
  if (!symbol) return true;
  const markets = await protocol.gateway.markets();
  const market = markets.get(symbol);
  if (!market) return true;
  const exitSide = signal.side === 'long' ? 'sell' : 'buy';
  const futures = account.marketType === 'futures';
  const filledValue = entries.reduce((sum, o) => sum + o.filledQuantity * (o.averagePrice ?? 0), 0);
  const averageEntry = filledValue > 0 ? filledValue / filledQty : null;
  const stopPrice = roundToStep(signal.stopLoss, market.priceStep);

  await ctx.store.insertPosition({
    id: randomUUID(),
    accountId: account.id,
    ownerId: account.ownerId,
    signalId: signal.id,
    symbol,
    side: signal.side,
    leverage: execution.leverage ?? 1,
    quantity: filledQty,
    entryQuantity: filledQty,
    averageEntryPrice: averageEntry,
    stopLoss: stopPrice,
    takeProfits: signal.takeProfits.map((tp) => roundToStep(tp, market.priceStep)),
    // The engine's clock, which funding times are judged against (not the database's).
    openedAt: new Date(ctx.clock.now()),
  });

  const existing = new Set(exitOrders(orders).map((order) => order.leg));
  const owner = { executionId: execution.id, signalId: signal.id, accountId: account.id, ownerId: account.ownerId };
  const intent = (leg: string, fields: Pick<NewOrder, 'type' | 'quantity' | 'price' | 'triggerPrice'>): NewOrder =>
    orderIntent(owner, leg, { symbol, side: exitSide, reduceOnly: futures, ...fields });
  const wanted: NewOrder[] = [];
  if (futures && !existing.has(stopLeg(0))) {
    wanted.push(intent(stopLeg(0), { type: 'stop-loss', quantity: filledQty, price: null, triggerPrice: stopPrice }));
  }
  // Spot targets sell what is held: Binance takes a buy's fee from the coin, so the gross fill is unsellable.
  const sellable = futures ? filledQty : heldQuantity(entries, 0, market.base);
  // Within the conditional orders the exchange allows on the symbol, beside the account's others.
  const budget = futures ? targetLegBudget(market.maxConditionalOrders ?? null, await ctx.conditionalOrders(account.id, symbol)) : null;
  const split = targetSplit(
    sellable,
    signal.takeProfits.map((tp) => roundToStep(tp, market.priceStep)),
    new Set(),
    market,
    account.takeProfitSplit,
    budget,
  );
  if (split?.folded) log.info({ targets: signal.takeProfits.length, legs: split.legs.length }, 'take-profits merged or folded to fit');
  if (split) {
    for (const leg of split.legs) {
      const id = takeProfitLeg(leg.index);
      if (existing.has(id)) continue;
      wanted.push(
        futures
          ? intent(id, { type: 'take-profit', quantity: leg.qty, price: null, triggerPrice: leg.price })
          : intent(id, { type: 'limit', quantity: leg.qty, price: leg.price, triggerPrice: null }),
      );
    }
  }
  await ctx.store.insertOrders(wanted);
  const all = await ctx.store.ordersOfExecution(execution.id);
  const fresh = new Set(wanted.map((order) => order.leg));
  const results = await Promise.all(
    exitOrders(all).map((order) => {
      if (fresh.has(order.leg)) return sendOrder(protocol, order, extra);
      if (order.status === 'intent' || order.status === 'unknown') return reconcileOrder(protocol, order, extra);
      return Promise.resolve(placementOfRow(order));
    }),
  );
  const stopIndex = exitOrders(all).findIndex((order) => order.leg === stopLeg(0));
  const stop = stopIndex >= 0 ? results[stopIndex] : undefined;
  if (stop && (stop.kind === 'rejected' || stop.kind === 'not-placed')) {
    log.error({ reason: stop.reason }, 'stop-loss could not be placed');
    await ctx.store.insertFeed([
      feedRow(base, positionFeedEvent(account, { symbol, side: signal.side }, 'stop-failed', { reason: stop.reason })),
    ]);
    return false;
  }
  return true;
}
