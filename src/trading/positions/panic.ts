/**
 * /panic for one account: its live bot orders cancelled (resting orders first, so nothing fills while
 * positions are closed), then each open bot position closed at market (reduce-only on futures) and
 * booked as `panic`.
 */

import type { PositionsRepository } from '../../db/repositories/positions';
import type { SignalsRepository } from '../../db/repositories/signals';
import { closeLeg } from '../../domain/clientOrderId';
import { heldQuantity, isLive, legsOf, nextVersion } from '../../domain/lifecycle/legs';
import { floorToStep } from '../../domain/precision';
import type { Booking } from './booking';
import type { Followed, LegIo } from './legIo';
import { legOf } from './views';
import { marketOf, type AccountWork } from './work';
import type { Account } from '../../domain/records';

const EPSILON = 1e-12;
/** Market closes sent for one position by one /panic (each may fill only part). */
const MAX_CLOSES = 3;

export interface PanicResult {
  accountId: string;
  accountName: string;
  cancelledOrders: number;
  closedPositions: number;
  /** Legs or positions that could not be dealt with (the exchange refused or did not answer). */
  problems: string[];
}

export interface PanicDeps {
  positions: PositionsRepository;
  signals: SignalsRepository;
  legs: LegIo;
  booking: Booking;
}

export function panic(deps: PanicDeps) {
  return async function panicAccount(work: AccountWork, account: Account): Promise<PanicResult> {
    const result: PanicResult = {
      accountId: account.id,
      accountName: account.name,
      cancelledOrders: 0,
      closedPositions: 0,
      problems: [],
    };
    for (const order of await deps.positions.liveOrdersOf(account.id)) {
      if (await deps.legs.cancel(work, order)) result.cancelledOrders += 1;
      else result.problems.push(`${order.symbol}: could not cancel ${order.leg}`);
    }
    const spot = account.marketType === 'spot';
    for (const position of await deps.positions.openPositionsOf(account.id)) {
      const execution = await deps.positions.executionOf(position.signalId, account.id);
      const signal = await deps.signals.byId(position.signalId);
      if (!execution || !signal) continue;
      const followed: Followed = { execution, signal };
      const base = spot ? (position.symbol.split('/')[0] ?? null) : null;
      let orders = await deps.legs.refresh(work, followed, await deps.legs.ordersOf(followed));
      // A close already working (the lifecycle's, perhaps in another process) is not doubled: on spot a
      // second sell would sell coin the position does not hold.
      if (legsOf(orders, 'close').some(isLive)) {
        result.problems.push(
          `${position.symbol}: a close order is already working; run /panic again once it has filled`,
        );
        continue;
      }
      // A market close may fill only part (the rest expires): what is left gets another, a few times.
      const market = await marketOf(work, position.symbol);
      const closable = () => {
        const held = heldQuantity(orders.map(legOf), base);
        return market ? floorToStep(held, market.amountStep) : held;
      };
      // The intent first: if the lifecycle sees a close of this panic through (an answer lost, a
      // close still working), it books the position as the panic's.
      if (closable() > EPSILON) await deps.positions.updatePosition(position.id, { closeReason: 'panic' });
      let refused: string | null = null;
      for (
        let attempt = 0;
        attempt < MAX_CLOSES && closable() > EPSILON && !legsOf(orders, 'close').some(isLive);
        attempt += 1
      ) {
        const leg = closeLeg(nextVersion(orders.map(legOf), 'close'));
        const placed = await deps.legs.place(work, followed, leg, {
          symbol: position.symbol,
          side: position.side === 'long' ? 'sell' : 'buy',
          type: 'market',
          quantity: closable(),
          price: null,
          triggerPrice: null,
          reduceOnly: !spot,
        });
        if (placed.kind !== 'placed') {
          refused = `${position.symbol}: the close order was ${placed.kind === 'unknown' ? 'not answered' : `refused (${placed.reason})`}`;
          break;
        }
        orders = await deps.legs.refresh(work, followed, await deps.legs.ordersOf(followed));
      }
      if (refused) {
        result.problems.push(refused);
        continue;
      }
      // Still held: never booked closed. The lifecycle follows the position and sees its close through.
      if (closable() > EPSILON) {
        result.problems.push(
          legsOf(orders, 'close').some(isLive)
            ? `${position.symbol}: the close order has not filled yet`
            : `${position.symbol}: ${closable()} is still held after ${MAX_CLOSES} closes; the bot goes on closing it at market`,
        );
        continue;
      }
      await deps.booking.closeInBook(work, followed, position, orders, 'panic');
      result.closedPositions += 1;
    }
    return result;
  };
}
