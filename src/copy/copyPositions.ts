/**
 * Copied positions: every fill of a follower's copy order booked once into the follower's open
 * copied position (opens, adds, reductions, the close with its PnL and fees), closes outside the
 * bot noticed, and /panic for copied positions. Its size: one follower for one kind of position,
 * whose booking, external-close check and panic read the same per-account state in one pass.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../db/store';
import { LIVE_ORDER_STATES, type UnbookedCopyOrder } from '../db/repositories/positions';
import { closeLeg, isBotClientOrderId, parseLeg } from '../domain/clientOrderId';
import { copyPositionFigures, type CopyPositionFigures } from '../domain/copyPositions';
import { feesSettled, scaleFees } from '../domain/fees';
import type { Fill } from '../domain/pnl';
import { dec, floorToStep, toNumber } from '../domain/precision';
import { utcDayKey } from '../domain/risk';
import type { ExchangeGateway, PositionState } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import { accountFeedRow, pauseOnDailyLoss } from '../trading/dailyLossPause';
import type { GatewayProvider } from '../trading/engine';
import { positionFeedEvent, type PositionEventKind } from '../domain/feedEvents';
import { orderIntent, orderStatePatch, sendOrder, type ProtocolContext } from '../trading/orderProtocol';
import { contractSizeIn } from '../trading/positions/work';
import type { Account, Order, Position } from '../domain/records';

export interface CopyPositionsReport {
  /** Copy fills booked into a position this pass. */
  booked: number;
  /** Copied positions closed by following the master out. */
  closed: number;
  /** Copied positions found closed outside the bot. */
  external: number;
}

/** What /panic did to one account's copied positions (added to positionSync's PanicResult). */
export interface CopyPanicResult {
  cancelledOrders: number;
  closedPositions: number;
  /** Orders or positions that could not be dealt with (the exchange refused or did not answer). */
  problems: string[];
}

const EPSILON = 1e-12;
const isLive = (order: Order) => (LIVE_ORDER_STATES as readonly string[]).includes(order.status);
const fillOf = (order: Order): Fill => ({
  quantity: order.filledQuantity,
  price: order.averagePrice ?? order.price ?? 0,
  fees: order.fees,
});

/**
 * Copied positions in the positions table (README, "Copy trading"): each cycle, after the engine,
 * every fill of a follower's copy order is booked once into the follower's open copied position of
 * that (symbol, side): an open starts one, adds grow it (average entry recomputed), reductions
 * shrink it and realise their share; when nothing is left it is closed ('copy') with realised PnL
 * from all its fills, fees included, added to the UTC day like any closed position. A futures
 * follower whose position is gone from the exchange while ours is open closed it outside the bot
 * ('external', the owner is told once). Dry-run copies place no order, so they book nothing.
 */
export function createCopyPositions(deps: {
  store: Store;
  gateways: Pick<GatewayProvider, 'forAccount'>;
  clock: Clock;
  log: Logger;
  /**
   * A follower's exchange positions are read for external closes at most this often (default 60 s):
   * a futures position read costs Binance weight from the per-IP budget every account shares.
   */
  externalCheckEveryMs?: number;
  /** The order protocol's lookup window for a /panic close whose answer was lost (default 60 s). */
  lookupWindowMs?: number;
  /** Several processes: narrows run()'s accounts to those this process holds the lease of (accountLeases). */
  claimAccounts?: (accountIds: string[]) => Promise<string[]>;
  /** Several processes: /panic takes the account's lease first, so the holder's pass leaves the account alone. */
  seize?: (accountId: string) => Promise<boolean>;
}) {
  const externalCheckEveryMs = deps.externalCheckEveryMs ?? 60_000;
  const lastChecked = new Map<string, number>();
  const repo = deps.store.positions;
  const trading = deps.store.trading;
  const accounts = deps.store.accounts;
  const log = deps.log.child({ component: 'copy-positions' });

  const figuresOf = (
    position: Pick<Position, 'side' | 'symbol' | 'leverage'>,
    booked: Order[],
    external: Fill[],
    contractSize: number,
  ): CopyPositionFigures =>
    copyPositionFigures(
      position.side,
      [
        ...booked.map((order) => ({ fill: fillOf(order), reduces: order.reduceOnly })),
        ...external.map((fill) => ({ fill, reduces: true })),
      ],
      position.leverage,
      contractSize,
    );

  const positionFields = (f: CopyPositionFigures) => ({
    quantity: f.quantity,
    entryQuantity: f.entryQuantity,
    averageEntryPrice: f.averageEntryPrice,
    exitQuantity: f.exitQuantity,
    averageExitPrice: f.averageExitPrice,
    realizedPnl: f.realizedPnl,
    fees: f.fees,
  });

  /** The same feed payloads positionSync writes, so the channel shows copied closes like the others. */
  const positionEvent = (
    account: Account,
    position: Position,
    kind: PositionEventKind,
    f: CopyPositionFigures,
  ) => positionFeedEvent(account, position, kind, { returnPct: f.returnPct, pnl: f.realizedPnl });

  /** Live copy orders are looked up; filled ones whose fees are not known and valued yet get them (Binance reports fees with the trades). */
  async function refreshOrder(gateway: ExchangeGateway, order: Order): Promise<Order> {
    if (!isLive(order) && (order.filledQuantity <= 0 || feesSettled(order.fees))) return order;
    try {
      const state = await gateway.fetchOrder(order.symbol, order.clientOrderId);
      if (!state) return order;
      const patch = orderStatePatch(state, order);
      await trading.updateOrder(order.id, patch);
      return { ...order, ...patch };
    } catch (error) {
      log.warn({ err: error, orderId: order.id }, 'copy order lookup failed; next cycle tries again');
      return order;
    }
  }

  /** Books the account's finished copy fills in order; true when every one of them could be. */
  async function bookAccount(
    account: Account,
    pending: UnbookedCopyOrder[],
    report: CopyPositionsReport,
  ): Promise<boolean> {
    const gateway = deps.gateways.forAccount(account);
    let complete = true;
    for (const { order: row, side, leverage } of pending) {
      const order = await refreshOrder(gateway, row);
      // Still working on the exchange: booked once it is done, so a fill is never booked in halves.
      if (isLive(order)) {
        complete = false;
        continue;
      }
      if (!(order.filledQuantity > 0)) continue;
      const seed = {
        id: randomUUID(),
        signalId: order.signalId,
        accountId: account.id,
        ownerId: account.ownerId,
        symbol: order.symbol,
        side,
        leverage: leverage ?? 1,
        openedAt: new Date(deps.clock.now()),
      };
      const coins = await contractSizeIn(() => gateway.markets(), order.symbol, log);
      const booking = await repo.bookCopyFill(order.id, seed, !order.reduceOnly, (booked) =>
        positionFields(figuresOf(seed, booked, [], coins)),
      );
      if (booking.kind === 'booked') report.booked += 1;
      if (booking.kind === 'no-position')
        log.info({ orderId: order.id }, 'copy reduction of a position the book does not follow');
    }
    return complete;
  }

  /**
   * Closes a copied position in the book: the day's figures and the feed in one transaction, once.
   * Copy orders are entry legs; a close leg is only ever /panic's, so a position whose last fill is
   * one closes as 'panic' whichever process books it.
   */
  async function close(
    account: Account,
    position: Position,
    closeAs: 'copy' | 'external' | 'panic',
    external: Fill[] = [],
  ): Promise<boolean> {
    const booked = await repo.ordersOfPosition(position.id);
    const last = booked.at(-1);
    const reason = closeAs === 'copy' && last && parseLeg(last.leg).kind === 'close' ? 'panic' : closeAs;
    const f = figuresOf(position, booked, external, await contractSizeIn(() => deps.gateways.forAccount(account).markets(), position.symbol, log));
    const now = deps.clock.now();
    const signalId = booked.at(-1)?.signalId ?? position.signalId;
    const feed =
      reason === 'external'
        ? [
            accountFeedRow(account, signalId, positionEvent(account, position, 'closed-externally', f)),
            accountFeedRow(
              account,
              signalId,
              {
                type: 'notice',
                kind: 'closed-externally',
                accountName: account.name,
                reason: null,
                detail: `${position.symbol} ${position.side} (copied) was closed outside the bot (manually or by liquidation).`,
              },
              'dm',
            ),
          ]
        : [accountFeedRow(account, signalId, positionEvent(account, position, 'position-closed', f))];
    const closed = await repo.closePosition(position.id, account.id, {
      realizedPnl: f.realizedPnl,
      fees: f.fees,
      exitQuantity: f.exitQuantity,
      averageExitPrice: f.averageExitPrice,
      closeReason: reason,
      closedAt: new Date(now),
      day: utcDayKey(now),
      feed,
    });
    if (!closed) return false;
    log.info({ positionId: position.id, reason, pnl: f.realizedPnl }, 'copied position closed');
    // Stop-on-loss after a copied loss, as after any close.
    await pauseOnDailyLoss(deps.store, account.id, now);
    return true;
  }

  /** What closed it outside the bot: the latest foreign exit-side trades, the rest at the last price. */
  async function externalExitFills(gateway: ExchangeGateway, position: Position): Promise<Fill[]> {
    const exitSide = position.side === 'long' ? 'sell' : 'buy';
    const fills: Fill[] = [];
    let left = dec(position.quantity);
    try {
      const trades = await gateway.tradesSince(position.symbol, {
        sinceMs: position.openedAt.getTime() - 60_000,
        from: 'newest',
      });
      for (const trade of [...trades].reverse()) {
        if (!left.gt(0)) break;
        if (
          trade.side !== exitSide ||
          (trade.clientOrderId !== null && isBotClientOrderId(trade.clientOrderId))
        )
          continue;
        const take = dec(trade.quantity).gt(left) ? left : dec(trade.quantity);
        const share = dec(trade.quantity).gt(0) ? take.div(dec(trade.quantity)) : dec(0);
        fills.push({ quantity: toNumber(take), price: trade.price, fees: scaleFees(trade.fees, share) });
        left = left.minus(take);
      }
      if (left.gt(0)) {
        const last = (await gateway.quote(position.symbol)).last;
        fills.push({ quantity: toNumber(left), price: last, fees: [] });
      }
    } catch (error) {
      log.warn({ err: error, positionId: position.id }, 'trades of an external close unavailable');
    }
    return fills;
  }

  /** Exchange positions of the futures accounts holding a copied position, read BEFORE any booking. */
  async function exchangeSnapshots(open: Position[]): Promise<Map<string, PositionState[]>> {
    const out = new Map<string, PositionState[]>();
    const now = deps.clock.now();
    for (const accountId of new Set(open.map((position) => position.accountId))) {
      if (now - (lastChecked.get(accountId) ?? -Infinity) < externalCheckEveryMs) continue;
      const account = await accounts.byId(accountId);
      if (!account || account.marketType !== 'futures') continue;
      try {
        lastChecked.set(accountId, now);
        out.set(accountId, await deps.gateways.forAccount(account).positions());
      } catch (error) {
        log.warn({ err: error, accountId }, 'positions unavailable: external closes not checked this cycle');
      }
    }
    return out;
  }

  /** Cancels one resting copy order; the row ends in the exchange's answer (one that filled meanwhile stays filled). */
  async function cancelCopyOrder(gateway: ExchangeGateway, order: Order): Promise<boolean> {
    try {
      const state = await gateway.cancelOrder(order.symbol, order.clientOrderId);
      const after = state ?? (await gateway.fetchOrder(order.symbol, order.clientOrderId));
      if (after) {
        const patch = orderStatePatch(after, order);
        // A cancel answer may echo "open" for the order it just cancelled; it is gone now.
        await trading.updateOrder(
          order.id,
          after.status === 'open' ? { ...patch, status: 'cancelled' } : patch,
        );
      } else {
        await trading.updateOrder(order.id, { status: 'cancelled' });
      }
      return true;
    } catch (error) {
      log.warn({ err: error, orderId: order.id }, 'copy order cancel failed');
      return false;
    }
  }

  /**
   * /panic for one copied position: a reduce-only market close of the copied quantity (at most what
   * the exchange holds), sent through the order protocol as a close leg of the position's latest copy
   * execution (a deterministic client order id: a second panic or process finds it instead of sending
   * another), booked like any copy fill, then the position is closed as 'panic'. Nothing held on the
   * exchange any more: closed outside the bot ('external'). Returns a problem, or null when closed.
   */
  async function panicPosition(
    account: Account,
    gateway: ExchangeGateway,
    position: Position,
  ): Promise<string | null> {
    const label = `${position.symbol} ${position.side} (copied)`;
    const last = (await repo.ordersOfPosition(position.id)).at(-1);
    if (!last) return `${label}: no copy fill found for it`;
    let held: number;
    try {
      held = (await gateway.positions())
        .filter((p) => p.symbol === position.symbol && p.side === position.side)
        .reduce((sum, p) => sum + Math.abs(p.quantity), 0);
    } catch (error) {
      log.warn({ err: error, positionId: position.id }, 'positions unavailable for a copied panic close');
      return `${label}: the exchange's positions could not be read`;
    }
    if (!(held > EPSILON)) {
      await close(account, position, 'external', await externalExitFills(gateway, position));
      return null;
    }
    const executionOrders = await trading.ordersOfExecution(last.executionId);
    const closes = executionOrders.filter((order) => parseLeg(order.leg).kind === 'close');
    // An earlier attempt's close still working (or unbooked) is followed, never doubled.
    let order = closes.find((o) => isLive(o) || (o.positionId === null && o.filledQuantity > 0));
    if (!order) {
      let qty = Math.min(position.quantity, held);
      try {
        const market = (await gateway.markets()).get(position.symbol);
        if (market) qty = floorToStep(qty, market.amountStep);
      } catch (error) {
        log.warn({ err: error }, 'markets unavailable; the copied quantity is closed unrounded');
      }
      if (!(qty > 0)) return `${label}: too small to close`;
      const legId = closeLeg(closes.length);
      const owner = {
        executionId: last.executionId,
        signalId: last.signalId,
        accountId: account.id,
        ownerId: account.ownerId,
      };
      const [row] = await trading.insertOrdersReturning([
        orderIntent(owner, legId, {
          symbol: position.symbol,
          side: position.side === 'long' ? 'sell' : 'buy',
          type: 'market',
          quantity: qty,
          price: null,
          triggerPrice: null,
          // Copies are futures only (planCopyOrder): the close never opens the other way.
          reduceOnly: true,
        }),
      ]);
      if (row) {
        const protocol: ProtocolContext = {
          gateway,
          repo: trading,
          clock: deps.clock,
          log,
          lookupWindowMs: deps.lookupWindowMs ?? 60_000,
          withinLag: () => true,
        };
        const placed = await sendOrder(
          protocol,
          row,
          account.positionMode === 'hedge' ? { positionSide: position.side } : {},
        );
        if (placed.kind === 'unknown') return `${label}: the close order was not answered`;
        if (placed.kind !== 'placed') return `${label}: the close order was refused (${placed.reason})`;
      }
      order = (await trading.ordersOfExecution(last.executionId)).find((o) => o.leg === legId);
      if (!order) return `${label}: the close order was not recorded`;
    }
    order = await refreshOrder(gateway, order);
    if (isLive(order)) return `${label}: the close order has not filled yet`;
    await bookAccount(account, [{ order, side: position.side, leverage: position.leverage }], {
      booked: 0,
      closed: 0,
      external: 0,
    });
    const after = (await repo.openCopyPositionsOf(account.id)).find((p) => p.id === position.id);
    // Closed meanwhile by another process booking the same close: it is closed as 'panic' there too.
    if (!after) return null;
    if (after.quantity > EPSILON) return `${label}: ${after.quantity} still held after the close`;
    await close(account, after, 'panic');
    return null;
  }

  return {
    /**
     * /panic on one account, after positionSync's: resting copy orders are cancelled, fills not booked
     * yet are booked, and every open copied position is closed at market (reduce-only) and booked as
     * 'panic' with its realised PnL, once. A later copy close from the master then finds nothing held
     * and is skipped ('no-position-to-reduce').
     */
    async panicAccount(account: Account): Promise<CopyPanicResult> {
      const result: CopyPanicResult = { cancelledOrders: 0, closedPositions: 0, problems: [] };
      if (deps.seize && !(await deps.seize(account.id))) {
        result.problems.push(
          'copied positions: the bot is catching up with its database; nothing was touched, try again in a few seconds',
        );
        return result;
      }
      const gateway = deps.gateways.forAccount(account);
      for (const order of await repo.liveCopyOrdersOf(account.id)) {
        if (await cancelCopyOrder(gateway, order)) result.cancelledOrders += 1;
        else result.problems.push(`${order.symbol}: could not cancel a copy order`);
      }
      const pending = (await repo.unbookedCopyOrders()).filter((item) => item.order.accountId === account.id);
      if (pending.length > 0) await bookAccount(account, pending, { booked: 0, closed: 0, external: 0 });
      for (const position of await repo.openCopyPositionsOf(account.id)) {
        try {
          const problem = await panicPosition(account, gateway, position);
          if (problem === null) result.closedPositions += 1;
          else result.problems.push(problem);
        } catch (error) {
          log.error({ err: error, positionId: position.id }, 'copied position not closed by panic');
          result.problems.push(`${position.symbol} ${position.side} (copied): could not be closed`);
        }
      }
      if (result.cancelledOrders + result.closedPositions > 0)
        log.warn({ accountId: account.id, ...result }, 'panic: copied positions closed');
      return result;
    },

    /** One pass (a cycle step): book new copy fills, close what is flat, detect external closes. */
    async run(): Promise<CopyPositionsReport> {
      const report: CopyPositionsReport = { booked: 0, closed: 0, external: 0 };
      // Read first: a copy close that fills after this read is booked below, never taken for an external close.
      const open = await repo.openCopyPositions();
      // Several processes: only the followers whose lease this process holds.
      const held = deps.claimAccounts
        ? new Set(
            await deps.claimAccounts([
              ...new Set([
                ...open.map((p) => p.accountId),
                ...(await repo.unbookedCopyOrders()).map((i) => i.order.accountId),
              ]),
            ]),
          )
        : null;
      const mine = (accountId: string) => held === null || held.has(accountId);
      const before = open.filter((position) => mine(position.accountId));
      const snapshots = await exchangeSnapshots(before);
      const inSnapshot = new Set(before.map((position) => position.id));
      const pending = new Map<string, UnbookedCopyOrder[]>();
      for (const item of await repo.unbookedCopyOrders())
        if (mine(item.order.accountId))
          pending.set(item.order.accountId, [...(pending.get(item.order.accountId) ?? []), item]);
      const unsettled = await repo.accountsWithUnfinishedCopies();
      for (const [accountId, items] of pending) {
        const account = await accounts.byId(accountId);
        if (!account) continue;
        try {
          if (!(await bookAccount(account, items, report))) unsettled.add(accountId);
        } catch (error) {
          unsettled.add(accountId);
          log.warn(
            { err: error, accountId },
            'copy fills not booked for one account; next cycle tries again',
          );
        }
      }
      for (const position of await repo.openCopyPositions()) {
        if (!mine(position.accountId)) continue;
        const account = await accounts.byId(position.accountId);
        if (!account) continue;
        try {
          if (position.quantity <= EPSILON && position.exitQuantity > 0) {
            if (await close(account, position, 'copy')) report.closed += 1;
            continue;
          }
          // Gone from the exchange while ours is open, and no copy fill of ours still on its way.
          const onExchange = snapshots.get(account.id);
          if (!onExchange || !inSnapshot.has(position.id) || unsettled.has(account.id)) continue;
          const held = onExchange
            .filter((p) => p.symbol === position.symbol && p.side === position.side)
            .reduce((sum, p) => sum + Math.abs(p.quantity), 0);
          if (held > EPSILON) continue;
          const exits = await externalExitFills(deps.gateways.forAccount(account), position);
          if (await close(account, position, 'external', exits)) report.external += 1;
        } catch (error) {
          log.warn(
            { err: error, positionId: position.id },
            'copied position check failed; next cycle tries again',
          );
        }
      }
      return report;
    },
  };
}

export type CopyPositions = ReturnType<typeof createCopyPositions>;
