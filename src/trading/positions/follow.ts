/**
 * The lifecycle's executor for one (signal, account) execution: sync its legs, ask the pure decision
 * (src/domain/lifecycle/decide.ts) what to do, apply the steps through the order protocol, and ask
 * again with what came back, until nothing is left to do this cycle (or nothing moved).
 */
import { randomUUID } from 'node:crypto';
import type { NewOutboxRow } from '../../db/repositories/outbox';
import type { PositionsRepository } from '../../db/repositories/positions';
import type { SignalsRepository } from '../../db/repositories/signals';
import type { TradingRepository } from '../../db/repositories/trading';
import { decidePosition, needsPrice } from '../../domain/lifecycle/decide';
import { heldQuantity, isInFlight, isLive, kindOf } from '../../domain/lifecycle/legs';
import { targetFill } from '../../domain/lifecycle/feedFigures';
import { escalatesAt, refusalClass, type RetryPolicy } from '../../domain/lifecycle/refusals';
import type { LifecycleCase, Step } from '../../domain/lifecycle/types';
import { floorToStep } from '../../domain/precision';
import type { FailureReason } from '../../domain/reasons';
import type { Clock } from '../../clock';
import { accountFeedRow } from '../dailyLossPause';
import { positionFeedEvent, type NoticeEvent } from '../../domain/feedEvents';
import type { Placement } from '../orderProtocol';
import type { Booking } from './booking';
import type { Followed, LegIo } from './legIo';
import { legOf, positionViewOf } from './views';
import { contractSizeOf, exchangeQuantity, marketOf, quoteOf, type AccountWork } from './work';
import type { Execution, Order, Position } from '../../domain/records';

/** Decide → apply rounds per execution per cycle: a stop move takes two (place, then cancel the old). */
const MAX_ROUNDS = 6;

export interface FollowSettings {
  entryTtlMs: number;
  retry: RetryPolicy;
  lostExitGraceMs: number;
}

export interface FollowDeps {
  trading: TradingRepository;
  positions: PositionsRepository;
  signals: SignalsRepository;
  legs: LegIo;
  booking: Booking;
  clock: Clock;
  settings: FollowSettings;
}

export function follower(deps: FollowDeps) {
  const { clock, legs } = deps;

  async function caseOf(
    work: AccountWork,
    followed: Followed,
    position: Position | null,
    orders: Order[],
  ): Promise<LifecycleCase> {
    const { account } = work;
    const { signal } = followed;
    const symbol = position?.symbol ?? orders.find((order) => kindOf(order) === 'entry')?.symbol ?? null;
    const market = symbol ? await marketOf(work, symbol).catch(() => null) : null;
    const futures = account.marketType === 'futures';
    const limit = futures ? (market?.maxConditionalOrders ?? null) : null;
    const base: Omit<LifecycleCase, 'lastPrice'> = {
      now: clock.now(),
      exchangeNow: work.gateway.exchangeNow(),
      signal: {
        side: signal.side,
        stopLoss: signal.stopLoss,
        takeProfits: signal.takeProfits,
        createdAt: signal.createdAt.getTime(),
        withdrawn: signal.status === 'cancelled',
      },
      position: position ? positionViewOf(position) : null,
      legs: orders.map(legOf),
      market,
      // Legs that could not be synced, entries that filled after the read, or legs whose answer is not
      // known yet may explain a flat exchange (a stop that filled): not judged closed outside the bot then.
      exchangeQuantity:
        futures &&
        position &&
        !work.unsettled.has(followed.execution.id) &&
        !orders.some((order) => isInFlight(legOf(order)))
          ? exchangeQuantity(work, position)
          : null,
      otherConditionalOrders: limit === null || !symbol ? 0 : await otherConditional(work, followed, symbol),
      maxConditionalOrders: limit,
      settings: {
        futures,
        breakEvenAfterTp1: account.breakEvenAfterTp1,
        takeProfitWeights: account.takeProfitSplit,
        entryTtlMs: deps.settings.entryTtlMs,
        retry: deps.settings.retry,
        lostExitGraceMs: deps.settings.lostExitGraceMs,
      },
    };
    const lastPrice = symbol && needsPrice(base) ? await quoteOf(work, symbol) : null;
    return { ...base, lastPrice };
  }

  /**
   * Conditional orders of the account's other executions on the symbol: counted when this execution's
   * turn comes (the account's executions are followed one after another), so what earlier ones placed
   * this cycle counts.
   */
  async function otherConditional(work: AccountWork, followed: Followed, symbol: string): Promise<number> {
    const key = `${followed.execution.id}:${symbol}`;
    let counted = work.conditional.get(key);
    if (!counted) {
      counted = Promise.all([
        deps.trading.liveConditionalCounts([work.account.id]),
        legs.ordersOf(followed),
      ]).then(([counts, own]) => {
        const all = counts.get(work.account.id)?.get(symbol) ?? 0;
        const mine = own.filter(
          (order) =>
            order.symbol === symbol &&
            (order.type === 'stop-loss' || order.type === 'take-profit') &&
            isLive(order),
        ).length;
        return Math.max(0, all - mine);
      });
      work.conditional.set(key, counted);
    }
    return counted;
  }

  /** Follows one execution through its position's life, for this cycle. */
  async function follow(work: AccountWork, execution: Execution): Promise<void> {
    const signal = await deps.signals.byId(execution.signalId);
    if (!signal) return;
    const followed: Followed = { execution, signal };
    let orders = await legs.refresh(work, followed, await legs.ordersOf(followed));
    let previous = '';
    // One retry of a leg per visit: a retry the process refuses unsent (a back-off still running)
    // leaves no send stamp to measure its backoff from, and the rounds would spend its attempts
    // (and the owner's refusal notices) in a burst.
    const retried = new Set<string>();
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const position = await deps.positions.positionOf(signal.id, work.account.id);
      const steps = decidePosition(await caseOf(work, followed, position, orders)).filter(
        (step) => step.kind !== 'retry' || !retried.has(step.leg.id),
      );
      for (const step of steps) if (step.kind === 'retry') retried.add(step.leg.id);
      if (steps.length === 0) return;
      // The same steps again means nothing moved (a cancel the exchange would not take): next cycle.
      const fingerprint = JSON.stringify(steps.map(describe));
      if (fingerprint === previous) return;
      previous = fingerprint;
      if ((await apply(work, followed, position, orders, steps)) === 'done') return;
      orders = await legs.ordersOf(followed);
    }
  }

  async function apply(
    work: AccountWork,
    followed: Followed,
    position: Position | null,
    orders: Order[],
    steps: readonly Step[],
  ): Promise<'again' | 'done'> {
    const { account } = work;
    const byId = new Map(orders.map((order) => [order.id, order]));
    for (const step of steps) {
      switch (step.kind) {
        case 'open-position':
          await deps.positions.insertPosition({
            id: randomUUID(),
            accountId: account.id,
            ownerId: account.ownerId,
            signalId: followed.signal.id,
            symbol: step.symbol,
            side: followed.signal.side,
            leverage: followed.execution.leverage ?? 1,
            quantity: step.quantity,
            entryQuantity: step.quantity,
            averageEntryPrice: step.averageEntryPrice,
            stopLoss: step.stopLoss,
            takeProfits: [...step.takeProfits],
            openedAt: new Date(clock.now()),
          });
          break;
        case 'cancel':
          for (const leg of step.legs) {
            const row = byId.get(leg.id);
            // A target that gave way to the stop keeps why, so that it comes back once there is room.
            if (row && (await legs.cancel(work, row)) && step.why === 'room-for-stop')
              await deps.trading.updateOrder(row.id, { reason: 'room-for-stop' });
          }
          if (step.why === 'entry-lapsed')
            work.log.info({ signalId: followed.signal.id }, 'unfilled entries cancelled');
          break;
        case 'place': {
          const placed = await legs.place(work, followed, step.leg, step.order);
          await noticeRefusal(work, followed, position, step.leg, placed, 0);
          break;
        }
        case 'retry': {
          const row = byId.get(step.leg.id);
          if (!row) break;
          const placed = await legs.resend(work, followed, row);
          await noticeRefusal(work, followed, position, row.leg, placed, row.attempts);
          break;
        }
        case 'market-close': {
          if (!position) break;
          const placed = await marketClose(work, followed, position, step.leg);
          if (placed && step.why !== 'spot-stop' && step.leg === 'c0')
            await noticeClose(work, followed, position, step.why);
          if (placed) await noticeRefusal(work, followed, position, step.leg, placed, 0);
          break;
        }
        case 'record-progress': {
          if (!position) break;
          const orders = step.newHits.length > 0 ? await legs.ordersOf(followed) : [];
          const coins = step.newHits.length > 0 ? await contractSizeOf(work, position.symbol) : 1;
          const feed = step.newHits.map((hit) => {
            const fill = targetFill(orders, hit);
            const average = step.averageEntryPrice ?? position.averageEntryPrice;
            // The gain on the part this target closed, before fees (the close books the exact figure).
            const gain = fill && average !== null ? (fill.price - average) * fill.quantity * coins * (position.side === 'long' ? 1 : -1) : null;
            return accountFeedRow(
              account,
              followed.signal.id,
              positionFeedEvent(account, position, 'take-profit-hit', {
                target: hit + 1,
                signalId: followed.signal.id,
                price: position.takeProfits[hit] ?? null,
                fillPrice: fill?.price ?? null,
                quantity: fill?.quantity ?? null,
                pnl: gain,
              }),
            );
          });
          // The hit count only rises, with its feed rows in the same transaction: told once, whoever syncs.
          await deps.positions.recordProgress(
            position.id,
            {
              quantity: step.quantity,
              exitQuantity: step.exitQuantity,
              averageEntryPrice: step.averageEntryPrice,
            },
            step.hits,
            feed,
          );
          await deps.booking.bookProgress(work, position, await legs.ordersOf(followed));
          break;
        }
        case 'stop-moved':
          if (!position) break;
          await deps.positions.updatePosition(position.id, {
            stopLoss: step.stopLoss,
            stopVersion: step.stopVersion,
          });
          if (step.breakEven) {
            await deps.trading.insertFeed([
              accountFeedRow(
                account,
                followed.signal.id,
                positionFeedEvent(account, position, 'stop-moved-to-break-even', { signalId: followed.signal.id, price: step.stopLoss }),
              ),
            ]);
          }
          break;
        case 'resized':
          if (position)
            await deps.positions.updatePosition(position.id, { entryQuantity: step.entryQuantity });
          break;
        case 'book-close': {
          if (!position) break;
          await deps.booking.closeInBook(
            work,
            followed,
            position,
            await legs.ordersOf(followed),
            step.reason,
          );
          return 'done';
        }
        case 'close-externally':
          if (!position) break;
          await deps.booking.closeExternally(work, followed, position, await legs.ordersOf(followed));
          return 'done';
      }
    }
    return 'again';
  }

  /** Market close of what is held now: reduce-only on futures, a plain sell on spot. */
  async function marketClose(
    work: AccountWork,
    followed: Followed,
    position: Position,
    legId: string,
  ): Promise<Placement | null> {
    const fresh = await legs.ordersOf(followed);
    const spot = work.account.marketType === 'spot';
    const held = heldQuantity(fresh.map(legOf), spot ? (position.symbol.split('/')[0] ?? null) : null);
    const market = await marketOf(work, position.symbol);
    const quantity = market ? floorToStep(held, market.amountStep) : held;
    if (!(quantity > 0)) return null;
    return legs.place(work, followed, legId, {
      symbol: position.symbol,
      side: position.side === 'long' ? 'sell' : 'buy',
      type: 'market',
      quantity,
      price: null,
      triggerPrice: null,
      reduceOnly: !spot,
    });
  }

  /**
   * Tells the owner about a refused exit: at once when it will not be retried (the position is then
   * closed at market if it was its only stop, or keeps its old stop), and once after a few passing
   * refusals. The channel sees a stop that could not be placed, as before. `attemptsBefore` is the
   * leg's count before this send; the count after it is read back, since one send may count several
   * attempts (a -1021 resent at once, a short rate-limit wait), and the owner must be told when the
   * threshold is crossed, not only when it is hit exactly.
   */
  async function noticeRefusal(
    work: AccountWork,
    followed: Followed,
    position: Position | null,
    legId: string,
    placed: Placement,
    attemptsBefore: number,
  ): Promise<void> {
    if (placed.kind !== 'rejected' && placed.kind !== 'not-placed') return;
    const { account } = work;
    const reason = placed.reason;
    const kind = kindOf({ leg: legId });
    const refusal = refusalClass(reason);
    const row = (await deps.trading.ordersOfExecution(followed.execution.id)).find(
      (order) => order.leg === legId,
    );
    const attempts = Math.max(attemptsBefore + 1, row?.attempts ?? 0);
    const escalate = escalatesAt(reason, attemptsBefore, attempts, deps.settings.retry);
    const subject = position ?? {
      symbol: followed.execution.symbol ?? followed.signal.symbol,
      side: followed.signal.side,
    };
    work.log.warn({ leg: legId, reason, attempts }, 'exit refused by the exchange');
    const rows: NewOutboxRow[] = [];
    if (kind === 'stop-loss' && (attemptsBefore === 0 || escalate)) {
      rows.push(
        accountFeedRow(
          account,
          followed.signal.id,
          positionFeedEvent(account, subject, 'stop-failed', { reason }),
        ),
      );
    }
    if (escalate) {
      rows.push(
        accountFeedRow(
          account,
          followed.signal.id,
          refusalNotice(account.name, subject, kind, reason, refusal, attempts),
          'dm',
        ),
      );
    }
    if (rows.length > 0) await deps.trading.insertFeed(rows);
  }

  async function noticeClose(
    work: AccountWork,
    followed: Followed,
    position: Position,
    why: 'stop-refused' | 'break-even-passed',
  ): Promise<void> {
    const detail =
      why === 'break-even-passed'
        ? `${position.symbol} ${position.side}: the price was already past break-even when the stop was to move there, so the rest of the position is being closed at market (the old stop stays until it is flat).`
        : `${position.symbol} ${position.side}: the exchange would not accept a stop-loss, so the position is being closed at market rather than left unprotected.`;
    const notice: NoticeEvent = {
      type: 'notice',
      kind: 'stop-failed',
      accountName: work.account.name,
      reason: null,
      detail,
    };
    await deps.trading.insertFeed([accountFeedRow(work.account, followed.signal.id, notice, 'dm')]);
  }

  return { follow };
}

function refusalNotice(
  accountName: string,
  position: { symbol: string; side: string },
  kind: ReturnType<typeof kindOf>,
  reason: FailureReason,
  refusal: ReturnType<typeof refusalClass>,
  attempts: number,
): NoticeEvent {
  const what = `${position.symbol} ${position.side}`;
  const detail =
    kind === 'stop-loss'
      ? refusal === 'passing'
        ? `${what}: the stop-loss was refused ${attempts} times; the bot keeps trying. Watch the position on the exchange.`
        : `${what}: the stop-loss was refused; the bot does not leave a position without one: it keeps the previous stop or closes the position at market.`
      : kind === 'close'
        ? refusal === 'passing'
          ? `${what}: the market close was refused ${attempts} times; the bot keeps trying.`
          : // A reduce-only close is also refused when another close already took the position flat.
            `${what}: the market close was refused; if the position is still open on the exchange, close it there.`
        : refusal === 'passing'
          ? `${what}: a take-profit was refused ${attempts} times; the bot keeps trying. The stop still protects the position.`
          : `${what}: a take-profit was refused and will not be placed again. The stop still protects the position.`;
  return {
    type: 'notice',
    kind: kind === 'stop-loss' ? 'stop-failed' : 'exit-refused',
    accountName,
    reason,
    detail,
  };
}

/** A step, as compared between rounds. */
function describe(step: Step): string {
  switch (step.kind) {
    case 'cancel':
      return `cancel:${step.legs.map((leg) => leg.leg).join(',')}`;
    case 'place':
    case 'market-close':
      return `${step.kind}:${step.leg}`;
    case 'retry':
      return `retry:${step.leg.leg}:${step.leg.attempts}`;
    default:
      return JSON.stringify(step);
  }
}
