/**
 * Which user-data stream reports are worth a visit of the account now. The bot's own orders resting
 * as it placed them are not news (the visit that placed them knows); everything else is: a fill, a
 * cancel or expiry (the owner may have cancelled the stop by hand), a rejection, a trigger, and any
 * order the bot did not make. A visit asked for nothing costs a slot that a real change may wait for.
 */
import { isBotClientOrderId } from './clientOrderId';

/** An order as a stream reported it (the exchange layer's StreamedOrder fits). */
export interface ReportedOrder {
  readonly clientOrderId: string | null;
  readonly status: string;
  readonly filled: number;
}

export function reportNeedsVisit(orders: readonly ReportedOrder[]): boolean {
  return orders.some(
    (order) =>
      order.status !== 'open' || order.filled > 0 || order.clientOrderId === null || !isBotClientOrderId(order.clientOrderId),
  );
}
