
import type { Placement } from '../orderProtocol';
import type { Order } from '../../domain/records';

/** What a settled order row says, as the protocol would answer it (a resumed execution reads its legs back). */
export function placementOfRow(order: Order): Placement {
  if (order.status === 'rejected') return { kind: 'rejected', reason: asFailure(order.reason), errorKind: 'invalid-order' };
  if (order.status === 'not-placed') return { kind: 'not-placed', reason: 'not-placed' };
  return {
    kind: 'placed',
    state: {
      clientOrderId: order.clientOrderId,
      exchangeOrderId: order.exchangeOrderId ?? '',
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      status: order.status === 'intent' || order.status === 'unknown' ? 'open' : order.status,
      quantity: order.quantity,
      filledQuantity: order.filledQuantity,
      averagePrice: order.averagePrice,
      fees: order.fees,
      updatedAt: order.updatedAt.getTime(),
    },
  };
}

const asFailure = (reason: string | null) =>
  (reason ?? 'exchange-error') as Extract<Placement, { kind: 'rejected' }>['reason'];
