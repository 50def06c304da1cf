/**
 * Closing a position in the book: realised PnL from the fills (fees included), the UTC day's
 * figures, the feed, and the daily-loss pause. A position closed outside the bot is booked from the
 * foreign trades that closed it.
 */
import type { Store } from '../../db/store';
import type { NewOutboxRow } from '../../db/repositories/outbox';
import type { PositionsRepository } from '../../db/repositories/positions';
import { scaleFees } from '../../domain/fees';
import { closeCause } from '../../domain/lifecycle/feedFigures';
import { heldQuantity, kindOf, legsOf } from '../../domain/lifecycle/legs';
import { positionPnl, realisedSoFar, type Fill } from '../../domain/pnl';
import { dec, toNumber, type Decimal } from '../../domain/precision';
import { utcDayKey } from '../../domain/risk';
import type { Clock } from '../../clock';
import { accountFeedRow, pauseOnDailyLoss } from '../dailyLossPause';
import { positionFeedEvent } from '../../domain/feedEvents';
import { triggeredOrderIds } from '../triggeredOrders';
import type { Followed, LegIo } from './legIo';
import { contractSizeOf, quoteOf, type AccountWork } from './work';
import type { Order, Position } from '../../domain/records';

const EPSILON = 1e-12;
const baseOf = (symbol: string) => symbol.split('/')[0] ?? symbol;

export const fillOf = (order: Order): Fill => ({
  quantity: order.filledQuantity,
  price: order.averagePrice ?? order.price ?? order.triggerPrice ?? 0,
  fees: order.fees,
});

export interface BookingDeps {
  store: Store;
  positions: PositionsRepository;
  legs: LegIo;
  clock: Clock;
}

export function booking(deps: BookingDeps) {
  const { clock } = deps;

  /** Closes the position in the book: PnL from the fills, the day's figures, feed, daily-loss pause. */
  async function closeInBook(
    work: AccountWork,
    followed: Followed,
    position: Position,
    orders: Order[],
    reason: NonNullable<Position['closeReason']>,
    externalExits: Fill[] = [],
  ): Promise<boolean> {
    const { account } = work;
    const filled = await filledLegs(work, orders);
    const pnl = positionPnl(
      position.side,
      filled.entries,
      [...filled.exits, ...externalExits],
      position.leverage,
      await contractSizeOf(work, position.symbol),
    );
    const now = clock.now();
    const signalId = followed.signal.id;
    const feed: NewOutboxRow[] = [];
    const figures = {
      returnPct: pnl.returnPct,
      pnl: pnl.realizedPnl,
      signalId,
      price: pnl.averageExitPrice,
      cause: closeCause(reason, position),
      heldMs: Math.max(0, now - position.openedAt.getTime()),
    };
    if (reason === 'external') {
      feed.push(
        accountFeedRow(account, signalId, positionFeedEvent(account, position, 'closed-externally', figures)),
      );
      feed.push(
        accountFeedRow(
          account,
          signalId,
          {
            type: 'notice',
            kind: 'closed-externally',
            accountName: account.name,
            reason: null,
            detail:
              account.marketType === 'spot'
                ? `${position.symbol} ${position.side}: the coin was sold outside the bot; its remaining orders were cancelled.`
                : `${position.symbol} ${position.side} was closed outside the bot (manually or by liquidation); its remaining orders were cancelled.`,
          },
          'dm',
        ),
      );
    } else {
      feed.push(
        accountFeedRow(account, signalId, positionFeedEvent(account, position, 'position-closed', figures)),
      );
    }
    const closed = await deps.positions.closePosition(position.id, account.id, {
      realizedPnl: pnl.realizedPnl,
      fees: pnl.fees,
      exitQuantity: pnl.exitQuantity,
      averageExitPrice: pnl.averageExitPrice,
      closeReason: reason,
      closedAt: new Date(now),
      day: utcDayKey(now),
      feed,
    });
    if (!closed) return false;
    work.log.info({ positionId: position.id, reason, pnl: pnl.realizedPnl }, 'position closed');
    await pauseIfLossReached(work, now);
    return true;
  }

  /**
   * Realises an open position's exits so far (take-profits hit, partial closes) into its realised PnL
   * and the day's figures when they fill; the close books only what is left. Fees not read yet are
   * asked for first, so the realised figure is net of them.
   */
  async function bookProgress(work: AccountWork, position: Position, orders: Order[]): Promise<void> {
    const { entries, exits } = await filledLegs(work, orders);
    if (exits.length === 0) return;
    const now = clock.now();
    await deps.positions.bookRealised(
      position.id,
      work.account.id,
      realisedSoFar(position.side, entries, exits, await contractSizeOf(work, position.symbol)),
      utcDayKey(now),
    );
    await pauseIfLossReached(work, now);
  }

  /** The filled entries and exits of a position's legs, with the fees not read yet asked for first. */
  async function filledLegs(
    work: AccountWork,
    orders: Order[],
  ): Promise<{ entries: Fill[]; exits: Fill[] }> {
    const withFees = await deps.legs.refreshFees(work, orders);
    return {
      entries: legsOf(withFees, 'entry')
        .filter((o) => o.filledQuantity > 0)
        .map(fillOf),
      exits: withFees.filter((o) => kindOf(o) !== 'entry' && o.filledQuantity > 0).map(fillOf),
    };
  }

  /** Stop-on-loss after realised PnL was booked. */
  async function pauseIfLossReached(work: AccountWork, now: number): Promise<void> {
    if (await pauseOnDailyLoss(deps.store, work.account.id, now)) {
      work.log.warn(
        { accountId: work.account.id },
        'daily loss limit reached: account paused until the next UTC day',
      );
    }
  }

  /**
   * External close: the most recent foreign exit-side trades since the position opened. `taken`: what
   * of each trade (by id) positions closed before this one in the same check already took (a member's
   * one sale is never counted for two stacked positions).
   */
  async function externalExitFills(
    work: AccountWork,
    position: Position,
    orders: Order[],
    quantity: number,
    taken: Map<string, Decimal>,
  ): Promise<Fill[]> {
    const startedAt = Math.min(...orders.map((o) => o.sentAt ?? o.createdAt.getTime()));
    // The bot's own fills of any of its orders on the symbol (another position stacked on the coin
    // sells through its targets too), not only this position's.
    const others = (await deps.positions.botOrdersOnSymbol(work.account.id, position.symbol)).filter(
      (o) => o.executionId !== orders[0]?.executionId,
    );
    const known = await ownOrderIds(work, orders, others);
    const exitSide = position.side === 'long' ? 'sell' : 'buy';
    const fills: Fill[] = [];
    try {
      const trades = await work.gateway.tradesSince(position.symbol, {
        sinceMs: startedAt - 60_000,
        from: 'newest',
      });
      let left = dec(quantity);
      for (const trade of [...trades].reverse()) {
        if (!left.gt(0)) break;
        if (trade.side !== exitSide || known.has(trade.orderId)) continue;
        const available = dec(trade.quantity).minus(taken.get(trade.id) ?? dec(0));
        if (!available.gt(0)) continue;
        const take = available.gt(left) ? left : available;
        const share = dec(trade.quantity).gt(0) ? take.div(dec(trade.quantity)) : dec(0);
        fills.push({ quantity: toNumber(take), price: trade.price, fees: scaleFees(trade.fees, share) });
        taken.set(trade.id, (taken.get(trade.id) ?? dec(0)).plus(take));
        left = left.minus(take);
      }
      if (left.gt(0)) {
        const last = await quoteOf(work, position.symbol);
        if (last !== null) fills.push({ quantity: toNumber(left), price: last, fees: [] });
      }
    } catch (error) {
      work.log.warn({ err: error, positionId: position.id }, 'trades of an external close unavailable');
    }
    return fills;
  }

  /**
   * The exchange order ids our legs trade under: each leg's own, and for a triggered conditional leg the
   * order it placed (its trades name that one). A lookup that fails throws: the close is booked on a
   * later visit rather than with our own fill read as a foreign one.
   */
  async function ownOrderIds(work: AccountWork, orders: Order[], others: Order[]): Promise<Set<string>> {
    const conditional = (o: Order) => o.type === 'stop-loss' || o.type === 'take-profit';
    // This position's conditional legs may have traded whatever their row says; another position's
    // only when its row says it filled (its placed order's id not kept yet is asked for).
    const mine = orders.filter(
      (o) => conditional(o) && o.status !== 'intent' && o.status !== 'not-placed' && o.status !== 'rejected',
    );
    const theirs = others.filter((o) => conditional(o) && o.filledQuantity > 0);
    return new Set([
      ...[...orders, ...others].flatMap((o) => [o.exchangeOrderId, o.fillOrderId]).filter((id): id is string => id !== null),
      ...(await triggeredOrderIds(work.gateway, [...mine, ...theirs])),
    ]);
  }

  /** Closed outside the bot: our legs cancelled, the rest booked from the foreign trades. */
  async function closeExternally(
    work: AccountWork,
    followed: Followed,
    position: Position,
    orders: Order[],
    taken: Map<string, Decimal> = new Map(),
  ): Promise<void> {
    for (const order of orders)
      if (order.status === 'open' || order.status === 'partially-filled') await deps.legs.cancel(work, order);
    const final = await deps.legs.refreshFees(work, await deps.legs.ordersOf(followed));
    const left = heldQuantity(final, work.account.marketType === 'spot' ? baseOf(position.symbol) : null);
    const external = left > EPSILON ? await externalExitFills(work, position, final, left, taken) : [];
    await closeInBook(work, followed, position, final, 'external', external);
  }

  return { closeInBook, closeExternally, bookProgress };
}

export type Booking = ReturnType<typeof booking>;
