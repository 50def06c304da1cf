import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { Database } from '../db/client';
import { accountsRepository, type AccountRow } from '../db/repositories/accounts';
import type { NewOutboxRow } from '../db/repositories/outbox';
import { LIVE_ORDER_STATES, positionsRepository } from '../db/repositories/positions';
import { signalsRepository, type SignalRow } from '../db/repositories/signals';
import {
  tradingRepository,
  type ExecutionRow,
  type NewOrder,
  type OrderRow,
  type PositionRow,
} from '../db/repositories/trading';
import { closeLeg, parseLeg, stopLeg, takeProfitLeg } from '../domain/clientOrderId';
import type { MarketRules } from '../domain/market';
import { positionPnl, type Fill } from '../domain/pnl';
import { dec, floorToStep, roundToStep, toNumber } from '../domain/precision';
import { utcDayKey } from '../domain/risk';
import { positionsSoldOutside } from '../domain/spotHoldings';
import {
  breakEvenStopPrice,
  heldQuantity as heldAfterFees,
  splitRemainingTakeProfits,
  splitTakeProfits,
} from '../domain/takeProfits';
import { isExchangeError } from '../exchange/errors';
import type { ExchangeGateway, OrderIntent, OrderState, PositionState } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Clock } from './clock';
import { accountFeedRow, pauseOnDailyLoss } from './dailyLossPause';
import type { GatewayProvider } from './engine';
import { positionFeedEvent } from './feedEvents';
import {
  orderIntent,
  orderStatePatch,
  reconcileOrder,
  sendOrder,
  type Placement,
  type ProtocolContext,
} from './orderProtocol';

/**
 * The position lifecycle, one cycle step (DESIGN.md: "sync positions, pnl"). For every account with
 * an open bot position or a live bot order of a finished execution:
 *  - order states and fills are synced by client order id (partial fills included);
 *  - entries that filled after the signal (limit) get their position and exits; later fills resize
 *    the stop and the targets not reached yet (new leg versions); entries still resting are
 *    cancelled once the stop or the first target trades first, or after the entry time-to-live;
 *  - the first take-profit moves the stop to break-even (setting); the stop or the last target
 *    closing the position cancels every other leg (the engine's OCO);
 *  - spot stops are watched here (no stop order rests on spot): crossed → take-profits cancelled,
 *    the remainder sold at market with a close leg;
 *  - a futures position gone from the exchange while ours is open was closed outside the bot; so was
 *    a spot position whose coin balance no longer covers what the bot's positions hold (every asset's
 *    balance read once per cycle, ExchangeGateway.assetBalances);
 *  - a close records realised PnL from the fills (fees included), adds it to the UTC day and pauses
 *    the account when the day's loss reaches its limit (stop-on-loss).
 *
 * Stop moves: the new stop (leg s<v+1>) is placed first and the old one cancelled after, so the
 * position is never unprotected; both are reduce-only, so if both triggered in that instant the
 * second could only reduce what is left, never open a position. Only when the exchange refuses a
 * second reduce-only stop does it fall back to cancel-then-place (one more version). Take-profits
 * resized after a later entry fill follow the same order on futures; an old stop or target whose
 * cancel went unanswered is cancelled on a later cycle once its replacement rests.
 */

export interface PositionSyncSettings {
  /** Entries not filled after this long are cancelled. */
  entryTtlMs: number;
  /** The protocol's lookup window for exit legs whose answer was lost. */
  lookupWindowMs: number;
  /** Accounts synced at once. */
  concurrency: number;
}

export const defaultPositionSyncSettings: PositionSyncSettings = {
  entryTtlMs: 24 * 3_600_000,
  lookupWindowMs: 60_000,
  concurrency: 16,
};

export interface PositionSyncDeps {
  db: Database;
  gateways: Pick<GatewayProvider, 'forAccount'>;
  clock: Clock;
  log: Logger;
  settings?: Partial<PositionSyncSettings>;
}

export interface PanicResult {
  accountId: string;
  accountName: string;
  cancelledOrders: number;
  closedPositions: number;
  /** Legs or positions that could not be dealt with (the exchange refused or did not answer). */
  problems: string[];
}

export interface PositionSync {
  /** One pass over every account that has something to follow. */
  run(): Promise<void>;
  syncAccount(accountId: string): Promise<void>;
  /** Cancels the account's live bot orders and closes its open bot positions at market. */
  panicAccount(account: AccountRow): Promise<PanicResult>;
}

const EPSILON = 1e-12;
const isLive = (order: OrderRow) => (LIVE_ORDER_STATES as readonly string[]).includes(order.status);
const legKind = (order: OrderRow) => parseLeg(order.leg);
const legsOf = (orders: OrderRow[], kind: 'entry' | 'stop-loss' | 'take-profit' | 'close') =>
  orders
    .filter((order) => legKind(order).kind === kind)
    .sort((a, b) => legIndex(a) - legIndex(b) || legVersion(a) - legVersion(b));
const legIndex = (order: OrderRow) => {
  const parsed = legKind(order);
  return parsed.kind === 'invalid' ? -1 : parsed.index;
};
/** A take-profit's replacement count (0 for every other leg). */
const legVersion = (order: OrderRow) => {
  const parsed = legKind(order);
  return parsed.kind === 'invalid' ? 0 : parsed.version;
};
const resting = (order: OrderRow) =>
  order.status === 'open' || order.status === 'partially-filled' || order.status === 'filled';
/**
 * Live exits a replacement has taken over: an older stop once a newer stop rests (or filled), an
 * older version of a target's leg once a newer one does. Normally cancelled right after the
 * replacement; these are the ones whose cancel the exchange did not confirm.
 */
const supersededExits = (orders: OrderRow[]): OrderRow[] => {
  const stops = legsOf(orders, 'stop-loss');
  const tps = legsOf(orders, 'take-profit');
  return [
    ...stops.filter((old) => isLive(old) && stops.some((n) => legIndex(n) > legIndex(old) && resting(n))),
    ...tps.filter(
      (old) =>
        isLive(old) &&
        tps.some((n) => legIndex(n) === legIndex(old) && legVersion(n) > legVersion(old) && resting(n)),
    ),
  ];
};
/** Targets reached: a take-profit of theirs filled (one target may have several versions of its leg). */
const targetsHit = (tps: OrderRow[]): number[] =>
  [...new Set(tps.filter((o) => o.status === 'filled').map(legIndex))].sort((a, b) => a - b);
const baseOf = (symbol: string) => symbol.split('/')[0] ?? symbol;
const fillOf = (order: OrderRow): Fill => ({
  quantity: order.filledQuantity,
  price: order.averagePrice ?? order.price ?? order.triggerPrice ?? 0,
  fee: order.fee,
  feeCurrency: order.feeCurrency,
});

interface SpotHoldings {
  /** Open positions when the balances were read: only these are judged against them. */
  positions: ReadonlySet<string>;
  /** Total per asset (upper case). */
  totals: ReadonlyMap<string, number>;
}

interface Work {
  account: AccountRow;
  gateway: ExchangeGateway;
  log: Logger;
  /** Exchange positions, read BEFORE the orders are refreshed (see external closes). */
  exchangePositions: PositionState[] | null;
  /** Spot coin balances, also read before the orders are refreshed; null when unknown. */
  holdings: SpotHoldings | null;
  /**
   * Executions whose entries gained fills this cycle or whose legs could not be synced: what they
   * hold may be more than the balances read before saw, so their coin waits for the next cycle.
   */
  unsettled: Set<string>;
  markets: ReadonlyMap<string, MarketRules> | null;
  quotes: Map<string, Promise<number | null>>;
  /** Open orders per symbol, listed once per cycle: legs found there unchanged need no lookup. */
  open: Map<string, Promise<Map<string, OrderState> | null>>;
}

interface Leg {
  execution: ExecutionRow;
  signal: SignalRow;
}

/** A take-profit leg: a reduce-only conditional order on futures, a resting limit sell (or buy) on spot. */
const takeProfitFields = (
  position: Pick<PositionRow, 'symbol' | 'side'>,
  futures: boolean,
  tp: { qty: number; price: number },
) => ({
  symbol: position.symbol,
  side: position.side === 'long' ? ('sell' as const) : ('buy' as const),
  type: futures ? ('take-profit' as const) : ('limit' as const),
  quantity: tp.qty,
  price: futures ? null : tp.price,
  triggerPrice: futures ? tp.price : null,
  reduceOnly: futures,
});

export function createPositionSync(deps: PositionSyncDeps): PositionSync {
  const settings = { ...defaultPositionSyncSettings, ...deps.settings };
  const { clock } = deps;
  const accounts = accountsRepository(deps.db);
  const positionsRepo = positionsRepository(deps.db);
  const trading = tradingRepository(deps.db);
  const signals = signalsRepository(deps.db);

  const protocolFor = (work: Work): ProtocolContext => ({
    gateway: work.gateway,
    repo: trading,
    clock,
    log: work.log,
    lookupWindowMs: settings.lookupWindowMs,
    // Exits protect a position: a provably unplaced exit may always go once more.
    withinLag: () => true,
  });

  const extraOf = (account: AccountRow, signal: SignalRow): Pick<OrderIntent, 'positionSide'> =>
    account.positionMode === 'hedge' ? { positionSide: signal.side } : {};


  const quote = (work: Work, symbol: string): Promise<number | null> => {
    let cached = work.quotes.get(symbol);
    if (!cached) {
      cached = work.gateway.quote(symbol).then(
        (q) => q.last,
        (error: unknown) => {
          work.log.warn({ err: error, symbol }, 'no price for the position check');
          return null;
        },
      );
      work.quotes.set(symbol, cached);
    }
    return cached;
  };

  const marketOf = async (work: Work, symbol: string): Promise<MarketRules | null> => {
    work.markets ??= await work.gateway.markets();
    return work.markets.get(symbol) ?? null;
  };

  /** Brings every live leg of the execution up to date with the exchange. */
  async function refresh(work: Work, leg: Leg, orders: OrderRow[]): Promise<OrderRow[]> {
    const protocol = protocolFor(work);
    const extra = extraOf(work.account, leg.signal);
    let changed = false;
    for (const order of orders) {
      if (!isLive(order)) continue;
      changed = true;
      const entry = legKind(order).kind === 'entry';
      try {
        if (order.status === 'intent' || order.status === 'unknown') {
          if (entry) work.unsettled.add(order.executionId);
          await reconcileOrder(protocol, order, extra);
          continue;
        }
        const listed = (await openOrdersOf(work, order.symbol))?.get(order.clientOrderId);
        if (listed && listed.status === order.status && listed.filledQuantity === order.filledQuantity)
          continue;
        const state = await work.gateway.fetchOrder(order.symbol, order.clientOrderId);
        if (!state || (entry && state.filledQuantity > order.filledQuantity))
          work.unsettled.add(order.executionId);
        if (state) await trading.updateOrder(order.id, orderStatePatch(state));
      } catch (error) {
        work.unsettled.add(order.executionId);
        work.log.warn({ err: error, leg: order.leg }, 'order sync failed; next cycle tries again');
      }
    }
    return changed ? trading.ordersOfExecution(leg.execution.id) : orders;
  }

  /** One open-orders listing per (account, symbol) per cycle; null when the exchange would not say. */
  function openOrdersOf(work: Work, symbol: string): Promise<Map<string, OrderState> | null> {
    let cached = work.open.get(symbol);
    if (!cached) {
      cached = work.gateway.openOrders(symbol).then(
        (list) => new Map(list.filter((o) => o.clientOrderId !== '').map((o) => [o.clientOrderId, o])),
        (error: unknown) => {
          work.log.debug({ err: error, symbol }, 'open orders unavailable; looking legs up one by one');
          return null;
        },
      );
      work.open.set(symbol, cached);
    }
    return cached;
  }

  /** Fees of filled legs that show none yet (some exchanges report them only with the trades). */
  async function refreshFees(work: Work, orders: OrderRow[]): Promise<OrderRow[]> {
    let changed = false;
    for (const order of orders) {
      if (order.filledQuantity <= 0 || order.fee > 0 || isLive(order)) continue;
      try {
        const state = await work.gateway.fetchOrder(order.symbol, order.clientOrderId);
        if (state && state.fee > 0) {
          await trading.updateOrder(order.id, { fee: state.fee, feeCurrency: state.feeCurrency });
          changed = true;
        }
      } catch (error) {
        work.log.warn({ err: error, leg: order.leg }, 'fee lookup failed');
      }
    }
    return changed && orders[0] ? trading.ordersOfExecution(orders[0].executionId) : orders;
  }

  /** Persists an intent (attempts = 1, sentAt = now) and sends it; an existing row is reconciled. */
  async function sendLeg(
    work: Work,
    leg: Leg,
    legId: string,
    fields: Pick<NewOrder, 'side' | 'type' | 'quantity' | 'price' | 'triggerPrice' | 'reduceOnly'> & {
      symbol: string;
    },
  ): Promise<Placement> {
    const { account } = work;
    const protocol = protocolFor(work);
    const extra = extraOf(account, leg.signal);
    const existing = (await trading.ordersOfExecution(leg.execution.id)).find((order) => order.leg === legId);
    if (existing) {
      // Written by an earlier cycle: never send blindly, reconcile or report what is known.
      if (existing.status === 'intent' || existing.status === 'unknown')
        return reconcileOrder(protocol, existing, extra);
      if (existing.status === 'rejected')
        return { kind: 'rejected', reason: 'invalid-order', errorKind: 'invalid-order' };
      if (existing.status === 'not-placed') return { kind: 'not-placed', reason: 'not-placed' };
      return { kind: 'placed', state: orderStateOf(existing) };
    }
    const owner = { executionId: leg.execution.id, signalId: leg.signal.id, accountId: account.id, ownerId: account.ownerId };
    await trading.insertOrders([orderIntent(owner, legId, fields)]);
    const row = (await trading.ordersOfExecution(leg.execution.id)).find((order) => order.leg === legId);
    if (!row) throw new Error(`order leg ${legId} vanished`);
    return sendOrder(protocol, row, extra);
  }

  /** Cancels one leg; the row ends in the exchange's answer (a leg that filled meanwhile stays filled). */
  async function cancelLeg(work: Work, order: OrderRow): Promise<boolean> {
    try {
      const state = await work.gateway.cancelOrder(order.symbol, order.clientOrderId);
      const after = state ?? (await work.gateway.fetchOrder(order.symbol, order.clientOrderId));
      if (after) {
        const patch = orderStatePatch(after);
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
      work.log.warn({ err: error, leg: order.leg }, 'cancel failed; next cycle tries again');
      return false;
    }
  }

  async function cancelAll(
    work: Work,
    orders: OrderRow[],
    except?: (order: OrderRow) => boolean,
  ): Promise<number> {
    let cancelled = 0;
    for (const order of orders) {
      if (!isLive(order) || except?.(order)) continue;
      if (await cancelLeg(work, order)) cancelled += 1;
    }
    return cancelled;
  }

  /** Stop and take-profits for a position that has none yet (entries filled after the signal). */
  async function placeExits(work: Work, leg: Leg, position: PositionRow, orders: OrderRow[]): Promise<void> {
    const { account } = work;
    const market = await marketOf(work, position.symbol);
    if (!market) return;
    const exitSide = position.side === 'long' ? 'sell' : 'buy';
    const futures = account.marketType === 'futures';
    const existing = new Set(orders.map((order) => order.leg));
    if (futures && legsOf(orders, 'stop-loss').length === 0 && position.stopLoss !== null) {
      await sendLeg(work, leg, stopLeg(0), {
        symbol: position.symbol,
        side: exitSide,
        type: 'stop-loss',
        quantity: position.quantity,
        price: null,
        triggerPrice: position.stopLoss,
        reduceOnly: true,
      });
    }
    // Spot targets sell what is held: the buy's fee in the coin makes the gross quantity unsellable.
    const sellable = futures
      ? position.quantity
      : heldQuantity(position, await refreshFees(work, orders), true);
    const split = splitTakeProfits(sellable, position.takeProfits, market, account.takeProfitSplit);
    if (split.kind !== 'split') return;
    for (const tp of split.legs) {
      const id = takeProfitLeg(tp.index);
      if (existing.has(id)) continue;
      await sendLeg(work, leg, id, takeProfitFields(position, futures, tp));
    }
  }

  /** Replaces the live stop with version `version` at `trigger` for `quantity` (place new, then cancel old). */
  async function replaceStop(
    work: Work,
    leg: Leg,
    position: PositionRow,
    orders: OrderRow[],
    trigger: number,
    quantity: number,
  ): Promise<boolean> {
    const old = legsOf(orders, 'stop-loss').filter(isLive);
    const exitSide = position.side === 'long' ? 'sell' : 'buy';
    const fields = {
      symbol: position.symbol,
      side: exitSide,
      type: 'stop-loss',
      quantity,
      price: null,
      triggerPrice: trigger,
      reduceOnly: true,
    } as const;
    let version = position.stopVersion + 1;
    const placed = await sendLeg(work, leg, stopLeg(version), fields);
    if (placed.kind === 'placed') {
      for (const order of old) await cancelLeg(work, order);
      await positionsRepo.updatePosition(position.id, { stopVersion: version, stopLoss: trigger });
      return true;
    }
    if (placed.kind === 'unknown') return false;
    // Refused (some exchanges allow one reduce-only stop per position): cancel first, then place.
    for (const order of old) await cancelLeg(work, order);
    version += 1;
    const second = await sendLeg(work, leg, stopLeg(version), fields);
    await positionsRepo.updatePosition(position.id, { stopVersion: version, stopLoss: trigger });
    if (second.kind !== 'placed') {
      work.log.error({ positionId: position.id }, 'replacement stop refused: position unprotected');
      await trading.insertFeed([
        accountFeedRow(
          work.account,
          leg.signal.id,
          positionFeedEvent(work.account, position, 'stop-failed', {
            reason: second.kind === 'rejected' || second.kind === 'not-placed' ? second.reason : null,
          }),
        ),
      ]);
      return false;
    }
    return true;
  }

  /**
   * Take-profits for the grown position (more entries filled): every target not reached yet gets its
   * part of the new split of what is left, as a new version of its leg (t<i>v<n>). Futures: the new
   * legs first, then the old ones cancelled, as for the stop (all reduce-only, so if an old and a new
   * one both filled in that instant the second could only reduce what is left); a target whose new leg
   * was not placed keeps its old one. Spot: limit sells lock the coin the new ones need, so the old
   * ones are cancelled first; one that could not be cancelled keeps its target and its quantity.
   */
  async function resizeTakeProfits(
    work: Work,
    leg: Leg,
    position: PositionRow,
    orders: OrderRow[],
  ): Promise<void> {
    const { account } = work;
    const market = await marketOf(work, position.symbol);
    if (!market || position.takeProfits.length === 0) return;
    const futures = account.marketType === 'futures';
    let current = orders;
    if (!futures) {
      await cancelAll(work, legsOf(current, 'take-profit'));
      current = await refreshFees(work, await trading.ordersOfExecution(leg.execution.id));
    }
    const tps = legsOf(current, 'take-profit');
    // Spot legs still live here could not be cancelled: their targets stay as they are.
    const kept = futures ? [] : tps.filter(isLive);
    const done = new Set([...targetsHit(tps), ...kept.map(legIndex)]);
    const lockedInKept = kept.reduce(
      (acc, o) => acc.plus(dec(o.quantity)).minus(dec(o.filledQuantity)),
      dec(0),
    );
    const left = dec(heldQuantity(position, current, !futures)).minus(lockedInKept);
    const split = left.gt(0)
      ? splitRemainingTakeProfits(toNumber(left), position.takeProfits, done, market, account.takeProfitSplit)
      : null;
    if (split?.kind !== 'split') {
      work.log.warn(
        { positionId: position.id, left: toNumber(left) },
        'take-profits not resized: what is left is below the minimum order',
      );
      return;
    }
    const version = Math.max(0, ...tps.map(legVersion)) + 1;
    const replaced = new Set<number>();
    for (const tp of split.legs) {
      const placed = await sendLeg(work, leg, takeProfitLeg(tp.index, version), takeProfitFields(position, futures, tp));
      if (placed.kind === 'placed') replaced.add(tp.index);
      else
        work.log.warn(
          { positionId: position.id, target: tp.index + 1, outcome: placed.kind },
          'resized take-profit not placed',
        );
    }
    if (!futures || replaced.size === 0) return;
    // A target the new split merged away goes too, once the new legs are in place.
    const inSplit = new Set(split.legs.map((tp) => tp.index));
    for (const old of tps.filter(isLive)) {
      if (replaced.has(legIndex(old)) || !inSplit.has(legIndex(old))) await cancelLeg(work, old);
    }
  }

  /** Closes the position in the book: PnL from the fills, the day's figures, feed, daily-loss pause. */
  async function closeInBook(
    work: Work,
    leg: Leg,
    position: PositionRow,
    orders: OrderRow[],
    reason: NonNullable<PositionRow['closeReason']>,
    externalExits: Fill[] = [],
  ): Promise<void> {
    const { account } = work;
    const withFees = await refreshFees(work, orders);
    const entries = legsOf(withFees, 'entry')
      .filter((o) => o.filledQuantity > 0)
      .map(fillOf);
    const exits = [
      ...withFees.filter((o) => legKind(o).kind !== 'entry' && o.filledQuantity > 0).map(fillOf),
      ...externalExits,
    ];
    const pnl = positionPnl(position.side, entries, exits, baseOf(position.symbol), position.leverage);
    const now = clock.now();
    const day = utcDayKey(now);
    const feed: NewOutboxRow[] = [];
    if (reason === 'external') {
      feed.push(
        accountFeedRow(
          account,
          leg.signal.id,
          positionFeedEvent(account, position, 'closed-externally', {
            returnPct: pnl.returnPct,
            pnl: pnl.realizedPnl,
          }),
        ),
      );
      feed.push(
        accountFeedRow(
          account,
          leg.signal.id,
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
        accountFeedRow(
          account,
          leg.signal.id,
          positionFeedEvent(account, position, 'position-closed', {
            returnPct: pnl.returnPct,
            pnl: pnl.realizedPnl,
          }),
        ),
      );
    }
    const closed = await positionsRepo.closePosition(position.id, account.id, {
      realizedPnl: pnl.realizedPnl,
      fees: pnl.fees,
      exitQuantity: pnl.exitQuantity,
      averageExitPrice: pnl.averageExitPrice,
      closeReason: reason,
      closedAt: new Date(now),
      day,
      feed,
    });
    if (!closed) return;
    work.log.info({ positionId: position.id, reason, pnl: pnl.realizedPnl }, 'position closed');
    await checkDailyLoss(work, now);
  }

  async function checkDailyLoss(work: Work, now: number): Promise<void> {
    if (await pauseOnDailyLoss(deps.db, work.account.id, now)) {
      work.log.warn({ accountId: work.account.id }, 'daily loss limit reached: account paused until the next UTC day');
    }
  }

  /** Market close of what is left: reduce-only on futures, a plain sell on spot. */
  async function marketClose(
    work: Work,
    leg: Leg,
    position: PositionRow,
    orders: OrderRow[],
    quantity: number,
  ): Promise<Placement | null> {
    const market = await marketOf(work, position.symbol);
    const qty = market ? floorToStep(quantity, market.amountStep) : quantity;
    if (!(qty > 0)) return null;
    const version = legsOf(orders, 'close').length;
    return sendLeg(work, leg, closeLeg(version), {
      symbol: position.symbol,
      side: position.side === 'long' ? 'sell' : 'buy',
      type: 'market',
      quantity: qty,
      price: null,
      triggerPrice: null,
      reduceOnly: work.account.marketType === 'futures',
    });
  }

  /** What the account can still sell: entries received (minus base-asset fees on spot) minus exits. */
  function heldQuantity(position: PositionRow, orders: OrderRow[], spot: boolean): number {
    const entries = legsOf(orders, 'entry');
    const exited = orders
      .filter((o) => legKind(o).kind !== 'entry')
      .reduce((acc, o) => acc.plus(dec(o.filledQuantity)), dec(0));
    // Futures fees are paid in the margin asset: pass no base so none is deducted.
    return heldAfterFees(entries, toNumber(exited), spot ? baseOf(position.symbol) : null);
  }

  /** Too small to sell: below the market's minimum amount or minimum order value. */
  async function isDust(work: Work, position: PositionRow, held: number): Promise<boolean> {
    const market = await marketOf(work, position.symbol);
    if (!market) return false;
    const sellable = floorToStep(held, market.amountStep);
    if (sellable <= 0 || sellable < market.minAmount) return true;
    const last = position.averageEntryPrice ?? 0;
    return market.minNotional > 0 && sellable * last < market.minNotional;
  }

  /** External close: the most recent foreign exit-side trades since the position opened. */
  async function externalExitFills(
    work: Work,
    position: PositionRow,
    orders: OrderRow[],
    quantity: number,
  ): Promise<Fill[]> {
    const startedAt = Math.min(...orders.map((o) => o.sentAt ?? o.createdAt.getTime()));
    const known = new Set(orders.map((o) => o.exchangeOrderId).filter((id): id is string => id !== null));
    const exitSide = position.side === 'long' ? 'sell' : 'buy';
    const fills: Fill[] = [];
    try {
      const trades = await work.gateway.tradesSince(position.symbol, { sinceMs: startedAt - 60_000 });
      let left = dec(quantity);
      for (const trade of [...trades].reverse()) {
        if (!left.gt(0)) break;
        if (trade.side !== exitSide || known.has(trade.orderId)) continue;
        const take = dec(trade.quantity).gt(left) ? left : dec(trade.quantity);
        const share = dec(trade.quantity).gt(0) ? take.div(dec(trade.quantity)) : dec(0);
        fills.push({
          quantity: toNumber(take),
          price: trade.price,
          fee: toNumber(dec(trade.fee).times(share)),
          feeCurrency: trade.feeCurrency,
        });
        left = left.minus(take);
      }
      if (left.gt(0)) {
        const last = await quote(work, position.symbol);
        if (last !== null) fills.push({ quantity: toNumber(left), price: last, fee: 0, feeCurrency: null });
      }
    } catch (error) {
      work.log.warn({ err: error, positionId: position.id }, 'trades of an external close unavailable');
    }
    return fills;
  }

  /** Closed outside the bot: our legs cancelled, the rest booked from the foreign trades. */
  async function closeExternally(
    work: Work,
    leg: Leg,
    position: PositionRow,
    orders: OrderRow[],
  ): Promise<void> {
    await cancelAll(work, orders);
    const final = await trading.ordersOfExecution(leg.execution.id);
    const left = heldQuantity(position, final, work.account.marketType === 'spot');
    const external = left > EPSILON ? await externalExitFills(work, position, final, left) : [];
    await closeInBook(work, leg, position, final, 'external', external);
  }

  /**
   * Spot positions sold outside the bot, once every execution of the account was followed: each
   * coin's balance (read before the orders were synced) against what the positions in it hold now.
   * Exits seen since the read only lower what they hold, so a sale by the bot never looks like one by
   * the member; entry fills seen since could raise it, so such a coin waits a cycle (`unsettled`).
   */
  async function checkSpotSales(work: Work): Promise<void> {
    const { holdings, account } = work;
    if (!holdings) return;
    const open = (await positionsRepo.openPositionsOf(account.id))
      .filter((p) => holdings.positions.has(p.id))
      .sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
    const byCoin = new Map<string, PositionRow[]>();
    for (const position of open) {
      const coin = baseOf(position.symbol).toUpperCase();
      byCoin.set(coin, [...(byCoin.get(coin) ?? []), position]);
    }
    for (const [coin, positions] of byCoin) {
      const followed = await settledHoldings(work, positions);
      if (!followed) continue;
      const balance = holdings.totals.get(coin) ?? 0;
      const judge = () =>
        new Set(
          positionsSoldOutside(
            followed.map((f) => ({
              id: f.position.id,
              held: heldQuantity(f.position, f.orders, true),
              tolerance: f.tolerance,
            })),
            balance,
          ),
        );
      if (judge().size === 0) continue;
      // Before calling it a sale: entry fees in the coin the rows may not show yet.
      for (const f of followed) f.orders = await refreshFees(work, f.orders);
      const sold = judge();
      for (const f of followed) {
        if (!sold.has(f.position.id)) continue;
        work.log.warn({ positionId: f.position.id, coin, balance }, 'spot position sold outside the bot');
        await closeExternally(work, f.leg, f.position, f.orders);
      }
    }
  }

  /** The positions of one coin with their legs, or null when one of them is not settled this cycle. */
  async function settledHoldings(work: Work, positions: PositionRow[]) {
    const followed: { position: PositionRow; leg: Leg; orders: OrderRow[]; tolerance: number }[] = [];
    for (const position of positions) {
      const execution = await positionsRepo.executionOf(position.signalId, work.account.id);
      const signal = execution ? await signals.byId(position.signalId) : null;
      const market = await marketOf(work, position.symbol);
      if (!execution || !signal || !market || work.unsettled.has(execution.id)) return null;
      const orders = await trading.ordersOfExecution(execution.id);
      // A close leg still working: the coin is on its way out through the bot.
      if (legsOf(orders, 'close').some(isLive)) return null;
      followed.push({
        position,
        leg: { execution, signal },
        orders,
        tolerance: Math.max(market.amountStep, market.minAmount),
      });
    }
    return followed;
  }

  /** Follows one (signal, account) execution through its position's life. */
  async function follow(work: Work, execution: ExecutionRow): Promise<void> {
    const { account } = work;
    const signal = await signals.byId(execution.signalId);
    if (!signal) return;
    const leg: Leg = { execution, signal };
    let orders = await refresh(work, leg, await trading.ordersOfExecution(execution.id));
    const spot = account.marketType === 'spot';
    const entries = legsOf(orders, 'entry');
    const entryQty = entries.reduce((acc, o) => acc.plus(dec(o.filledQuantity)), dec(0));
    let position = await positionsRepo.positionOf(signal.id, account.id);
    const now = clock.now();
    const expired = now - signal.createdAt.getTime() > settings.entryTtlMs;

    if (!position) {
      const liveEntries = entries.filter(isLive);
      if (entryQty.gt(0)) {
        const market = await marketOf(work, entries[0]!.symbol);
        const pnl = positionPnl(
          signal.side,
          entries.filter((o) => o.filledQuantity > 0).map(fillOf),
          [],
          baseOf(entries[0]!.symbol),
          execution.leverage ?? 1,
        );
        await positionsRepo.insertPosition({
          id: randomUUID(),
          accountId: account.id,
          ownerId: account.ownerId,
          signalId: signal.id,
          symbol: entries[0]!.symbol,
          side: signal.side,
          leverage: execution.leverage ?? 1,
          quantity: toNumber(entryQty),
          entryQuantity: toNumber(entryQty),
          averageEntryPrice: pnl.averageEntryPrice,
          stopLoss: market ? roundToStep(signal.stopLoss, market.priceStep) : signal.stopLoss,
          takeProfits: signal.takeProfits.map((tp) => (market ? roundToStep(tp, market.priceStep) : tp)),
          openedAt: new Date(now),
        });
        position = await positionsRepo.positionOf(signal.id, account.id);
        if (position) await placeExits(work, leg, position, orders);
        return;
      }
      if (liveEntries.length === 0) return;
      // Nothing filled yet: give up when the entry lapsed or the market traded through a boundary first.
      const symbol = liveEntries[0]!.symbol;
      const last = await quote(work, symbol);
      const tp1 = signal.takeProfits[0];
      const crossed =
        last !== null &&
        (signal.side === 'long'
          ? last <= signal.stopLoss || (tp1 !== undefined && last >= tp1)
          : last >= signal.stopLoss || (tp1 !== undefined && last <= tp1));
      if (expired || crossed) {
        await cancelAll(work, liveEntries);
        work.log.info({ signalId: signal.id, expired, crossed }, 'unfilled entries cancelled');
      }
      return;
    }
    if (position.status !== 'open') {
      // Closed already (panic, external): anything still resting is left over.
      await cancelAll(work, orders);
      return;
    }

    // More entries filled since the position was recorded: grow it, resize the stop and the targets.
    if (entryQty.gt(dec(position.entryQuantity).plus(EPSILON))) {
      const filled = entries.filter((o) => o.filledQuantity > 0).map(fillOf);
      const pnl = positionPnl(position.side, filled, [], baseOf(position.symbol), position.leverage);
      const exited = toNumber(dec(position.entryQuantity).minus(dec(position.quantity)));
      const remaining = toNumber(entryQty.minus(dec(exited)));
      await positionsRepo.updatePosition(position.id, {
        entryQuantity: toNumber(entryQty),
        quantity: remaining,
        averageEntryPrice: pnl.averageEntryPrice,
      });
      position = {
        ...position,
        entryQuantity: toNumber(entryQty),
        quantity: remaining,
        averageEntryPrice: pnl.averageEntryPrice,
      };
      if (!spot && position.stopLoss !== null && legsOf(orders, 'stop-loss').some(isLive)) {
        await replaceStop(work, leg, position, orders, position.stopLoss, remaining);
        orders = await trading.ordersOfExecution(execution.id);
        position = (await positionsRepo.positionOf(signal.id, account.id)) ?? position;
      }
      const stoppedOut = [...legsOf(orders, 'stop-loss'), ...legsOf(orders, 'close')].some(
        (o) => o.filledQuantity > 0,
      );
      if (!stoppedOut) {
        await resizeTakeProfits(work, leg, position, orders);
        orders = await trading.ordersOfExecution(execution.id);
      }
    }

    // Replaced exits whose cancel did not go through (the exchange did not answer): now they go.
    const superseded = supersededExits(orders);
    if (superseded.length > 0 && (await cancelAll(work, superseded)) > 0)
      orders = await trading.ordersOfExecution(execution.id);

    const tps = legsOf(orders, 'take-profit');
    const stops = legsOf(orders, 'stop-loss');
    const exitedQty = orders
      .filter((o) => legKind(o).kind !== 'entry')
      .reduce((acc, o) => acc.plus(dec(o.filledQuantity)), dec(0));
    const remaining = entryQty.minus(exitedQty);
    const hits = targetsHit(tps);
    const stopFilled =
      stops.some((o) => o.filledQuantity > 0) || legsOf(orders, 'close').some((o) => o.filledQuantity > 0);

    // Resting entries lapse once an exit traded first, or after the time-to-live.
    const liveEntries = entries.filter(isLive);
    if (liveEntries.length > 0 && (hits.length > 0 || stopFilled || expired)) {
      await cancelAll(work, liveEntries);
      orders = await trading.ordersOfExecution(execution.id);
    }

    const feed: NewOutboxRow[] = [];
    if (hits.length > position.takeProfitsHit) {
      for (const hit of hits.slice(position.takeProfitsHit)) {
        feed.push(
          accountFeedRow(
            account,
            signal.id,
            positionFeedEvent(account, position, 'take-profit-hit', { target: hit + 1 }),
          ),
        );
      }
    }
    // The hit count only rises, with its feed rows in the same transaction: told once, whoever syncs.
    await positionsRepo.recordProgress(
      position.id,
      { quantity: remaining.gt(0) ? toNumber(remaining) : 0, exitQuantity: toNumber(exitedQty) },
      hits.length,
      feed,
    );

    // Closed by its own exits: the stop, the last target, or a close leg. On spot, what is left after
    // base-asset fees may be dust no order can sell: that counts as closed.
    const dust =
      spot && exitedQty.gt(0) && (await isDust(work, position, heldQuantity(position, orders, true)));
    if (
      (!remaining.gt(EPSILON) || dust) &&
      exitedQty.gt(0) &&
      !orders.some((o) => isLive(o) && legKind(o).kind === 'close')
    ) {
      await cancelAll(work, orders);
      const final = await trading.ordersOfExecution(execution.id);
      // Every target that got a leg was reached (older versions of a leg were replaced, not missed).
      const lastTpFilled = tps.length > 0 && tps.every((o) => hits.includes(legIndex(o)));
      const closedBy: NonNullable<PositionRow['closeReason']> =
        stopFilled && !lastTpFilled ? 'stop-loss' : 'take-profit';
      await closeInBook(work, leg, position, final, closedBy);
      return;
    }

    // Gone from the exchange while we still hold some: closed outside the bot.
    if (!spot && work.exchangePositions !== null && remaining.gt(EPSILON)) {
      const onExchange = work.exchangePositions
        .filter((p) => p.symbol === position!.symbol && p.side === position!.side)
        .reduce((sum, p) => sum + Math.abs(p.quantity), 0);
      if (onExchange <= EPSILON) {
        await closeExternally(work, leg, position, orders);
        return;
      }
    }

    // Break-even after the first target: once, whenever the stop is still on the losing side of it.
    if (
      hits.length > 0 &&
      account.breakEvenAfterTp1 &&
      position.averageEntryPrice !== null &&
      remaining.gt(EPSILON)
    ) {
      const market = await marketOf(work, position.symbol);
      const breakEven = market
        ? breakEvenStopPrice(position.side, position.averageEntryPrice, market.priceStep)
        : null;
      const behind =
        breakEven !== null &&
        (position.stopLoss === null ||
          (position.side === 'long' ? position.stopLoss < breakEven : position.stopLoss > breakEven));
      if (breakEven !== null && behind) {
        let moved = false;
        if (spot) {
          await positionsRepo.updatePosition(position.id, {
            stopLoss: breakEven,
            stopVersion: position.stopVersion + 1,
          });
          position = { ...position, stopLoss: breakEven, stopVersion: position.stopVersion + 1 };
          moved = true;
        } else {
          moved = await replaceStop(work, leg, position, orders, breakEven, toNumber(remaining));
          orders = await trading.ordersOfExecution(execution.id);
        }
        if (moved) {
          await trading.insertFeed([
            accountFeedRow(account, signal.id, positionFeedEvent(account, position, 'stop-moved-to-break-even')),
          ]);
        }
      }
    }

    // Spot: the engine is the stop.
    if (spot && position.stopLoss !== null && remaining.gt(EPSILON)) {
      const last = await quote(work, position.symbol);
      const crossed =
        last !== null && (position.side === 'long' ? last <= position.stopLoss : last >= position.stopLoss);
      if (crossed) {
        await cancelAll(work, orders);
        orders = await trading.ordersOfExecution(execution.id);
        const placed = await marketClose(work, leg, position, orders, heldQuantity(position, orders, true));
        if (placed?.kind === 'placed' && placed.state.status === 'filled') {
          // Closed this cycle: book it now rather than one cycle later.
          await follow(work, execution);
        }
      }
    }
  }

  async function workFor(account: AccountRow, options: { holdings?: boolean } = {}): Promise<Work> {
    const gateway = deps.gateways.forAccount(account);
    const log = deps.log.child({ accountId: account.id, component: 'positions' });
    let exchangePositions: PositionState[] | null = null;
    if (account.marketType === 'futures') {
      try {
        exchangePositions = await gateway.positions();
      } catch (error) {
        log.warn({ err: error }, 'positions unavailable: external closes not checked this cycle');
      }
    }
    const holdings =
      options.holdings && account.marketType === 'spot' ? await spotHoldings(account, gateway, log) : null;
    return {
      account,
      gateway,
      log,
      exchangePositions,
      holdings,
      unsettled: new Set(),
      markets: null,
      quotes: new Map(),
      open: new Map(),
    };
  }

  /** One balance call, only for a spot account with an open position; null when unknown (no check). */
  async function spotHoldings(
    account: AccountRow,
    gateway: ExchangeGateway,
    log: Logger,
  ): Promise<SpotHoldings | null> {
    // The positions first: one opened after the balances were read is not judged against them.
    const open = await positionsRepo.openPositionsOf(account.id);
    if (open.length === 0) return null;
    try {
      const balances = await gateway.assetBalances();
      const totals = new Map(
        [...balances].map(([asset, b]) => [asset.toUpperCase(), toNumber(dec(b.free).plus(dec(b.used)))]),
      );
      return { positions: new Set(open.map((p) => p.id)), totals };
    } catch (error) {
      log.warn({ err: error }, 'spot balances unavailable: sales outside the bot not checked this cycle');
      return null;
    }
  }

  async function syncAccount(accountId: string): Promise<void> {
    const account = await accounts.byId(accountId);
    if (!account) return;
    const active = await positionsRepo.activeExecutions(accountId);
    if (active.length === 0) return;
    const work = await workFor(account, { holdings: true });
    for (const execution of active) {
      try {
        await follow(work, execution);
      } catch (error) {
        if (isExchangeError(error, 'auth-failed')) throw error;
        work.unsettled.add(execution.id);
        work.log.error({ err: error, executionId: execution.id }, 'position sync failed for one execution');
      }
    }
    try {
      await checkSpotSales(work);
    } catch (error) {
      if (isExchangeError(error, 'auth-failed')) throw error;
      work.log.error({ err: error }, 'spot sales check failed; next cycle tries again');
    }
  }

  async function panicAccount(account: AccountRow): Promise<PanicResult> {
    const result: PanicResult = {
      accountId: account.id,
      accountName: account.name,
      cancelledOrders: 0,
      closedPositions: 0,
      problems: [],
    };
    const work = await workFor(account);
    // Resting orders first, so nothing fills while positions are being closed.
    const live = await positionsRepo.liveOrdersOf(account.id);
    for (const order of live) {
      if (await cancelLeg(work, order)) result.cancelledOrders += 1;
      else result.problems.push(`${order.symbol}: could not cancel ${order.leg}`);
    }
    for (const position of await positionsRepo.openPositionsOf(account.id)) {
      const execution = await positionsRepo.executionOf(position.signalId, account.id);
      const signal = await signals.byId(position.signalId);
      if (!execution || !signal) continue;
      const leg: Leg = { execution, signal };
      let orders = await trading.ordersOfExecution(execution.id);
      const held = heldQuantity(position, orders, account.marketType === 'spot');
      if (held > EPSILON) {
        const placed = await marketClose(work, leg, position, orders, held);
        if (placed && placed.kind !== 'placed') {
          result.problems.push(
            `${position.symbol}: the close order was ${placed.kind === 'unknown' ? 'not answered' : `refused (${placed.reason})`}`,
          );
          continue;
        }
        orders = await refresh(work, leg, await trading.ordersOfExecution(execution.id));
        if (
          heldQuantity(position, orders, account.marketType === 'spot') > EPSILON &&
          legsOf(orders, 'close').some(isLive)
        ) {
          result.problems.push(`${position.symbol}: the close order has not filled yet`);
          continue;
        }
      }
      await closeInBook(work, leg, position, orders, 'panic');
      result.closedPositions += 1;
    }
    return result;
  }

  return {
    async run() {
      const ids = await positionsRepo.accountsToSync();
      const limit = pLimit(settings.concurrency);
      await Promise.all(
        ids.map((id) =>
          limit(async () => {
            try {
              await syncAccount(id);
            } catch (error) {
              deps.log.warn({ err: error, accountId: id }, 'position sync failed for one account');
            }
          }),
        ),
      );
    },
    syncAccount,
    panicAccount,
  };
}

function orderStateOf(row: OrderRow) {
  return {
    clientOrderId: row.clientOrderId,
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
    fee: row.fee,
    feeCurrency: row.feeCurrency,
    updatedAt: row.updatedAt.getTime(),
  };
}
