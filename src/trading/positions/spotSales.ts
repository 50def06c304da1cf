/**
 * Spot positions sold outside the bot, once every execution of the account was followed: each coin's
 * balance (read before the orders were synced) against what the positions in it hold now. Exits seen
 * since the read only lower what they hold, so a sale by the bot never looks like one by the member;
 * entry fills seen since could raise it, so such a coin waits a cycle (`unsettled`, and any entry fill
 * the book holds beyond what it held when the balances were read, whoever wrote it). A position whose
 * execution this visit did not follow (its executor has not finished it: a process that died between
 * opening the position and marking the execution placed) has legs nobody brought up to date since the
 * read, so its coin waits too: a target that sold meanwhile would look like the member's sale.
 */
import type { PositionsRepository } from '../../db/repositories/positions';
import type { SignalsRepository } from '../../db/repositories/signals';
import { entryQuantity, heldQuantity, isInFlight, isLive, legsOf } from '../../domain/lifecycle/legs';
import type { Decimal } from '../../domain/precision';
import { positionsSoldOutside } from '../../domain/spotHoldings';
import type { Booking } from './booking';
import type { Followed, LegIo } from './legIo';
import { legOf } from './views';
import { marketOf, type AccountWork } from './work';
import type { Order, Position } from '../../domain/records';

const baseOf = (symbol: string) => symbol.split('/')[0] ?? symbol;

export interface SpotSalesDeps {
  positions: PositionsRepository;
  signals: SignalsRepository;
  legs: LegIo;
  booking: Booking;
}

export function spotSales(deps: SpotSalesDeps) {
  const held = (position: Position, orders: Order[]) =>
    heldQuantity(orders.map(legOf), baseOf(position.symbol));

  /** The positions of one coin with their legs, or null when one of them is not settled this cycle. */
  async function settledHoldings(work: AccountWork, positions: Position[]) {
    const followed: { position: Position; followed: Followed; orders: Order[]; tolerance: number }[] =
      [];
    for (const position of positions) {
      const execution = await deps.positions.executionOf(position.signalId, work.account.id);
      const signal = execution ? await deps.signals.byId(position.signalId) : null;
      const market = await marketOf(work, position.symbol);
      if (!execution || !signal || !market || work.unsettled.has(execution.id) || !work.followed.has(execution.id))
        return null;
      const orders = await deps.legs.ordersOf({ execution, signal });
      // An entry fill the book learned after the balances were read (a cancel's answer, another
      // process's visit) may not be in them yet.
      const entryFilledThen = work.holdings?.entryFills.get(position.signalId) ?? 0;
      if (entryQuantity(orders.map(legOf)) > entryFilledThen) return null;
      // A close leg still working: the coin is on its way out through the bot. Any leg whose answer is
      // not known yet may have sold some already (a target that filled as it was placed).
      if (legsOf(orders, 'close').some(isLive) || orders.some(isInFlight)) return null;
      followed.push({
        position,
        followed: { execution, signal },
        orders,
        tolerance: Math.max(market.amountStep, market.minAmount),
      });
    }
    return followed;
  }

  async function check(work: AccountWork): Promise<void> {
    const { holdings, account } = work;
    if (!holdings) return;
    const open = (await deps.positions.openPositionsOf(account.id))
      .filter((p) => holdings.positions.has(p.id))
      .sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
    const byCoin = new Map<string, Position[]>();
    for (const position of open) {
      const coin = baseOf(position.symbol).toUpperCase();
      byCoin.set(coin, [...(byCoin.get(coin) ?? []), position]);
    }
    for (const [coin, positions] of byCoin) {
      const settled = await settledHoldings(work, positions);
      if (!settled) continue;
      const balance = holdings.totals.get(coin) ?? 0;
      const judge = () =>
        new Set(
          positionsSoldOutside(
            settled.map((f) => ({
              id: f.position.id,
              held: held(f.position, f.orders),
              tolerance: f.tolerance,
            })),
            balance,
          ),
        );
      if (judge().size === 0) continue;
      // Before calling it a sale: entry fees in the coin the rows may not show yet. An entry whose fees
      // cannot be read now holds an unknown amount: the coin waits.
      for (const f of settled) f.orders = await deps.legs.refreshFees(work, f.orders);
      if (settled.some((f) => work.unsettled.has(f.followed.execution.id))) continue;
      const sold = judge();
      // One pool of the member's trades for the coin's positions closed here: each sale counted once.
      const taken = new Map<string, Decimal>();
      for (const f of settled) {
        if (!sold.has(f.position.id)) continue;
        work.log.warn({ positionId: f.position.id, coin, balance }, 'spot position sold outside the bot');
        await deps.booking.closeExternally(work, f.followed, f.position, f.orders, taken);
      }
    }
  }

  return { check };
}
