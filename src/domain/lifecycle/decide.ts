/**
 * The position lifecycle as one pure decision: from what the exchange and the book say now, the
 * steps that bring them to what they should be. Applied by an executor that asks again with what came
 * back, so every rule is a comparison of state, never a memory of what was done before:
 *
 *  - entries that filled open a position; entries still resting lapse once an exit traded, the stop or
 *    the first target traded first, the time-to-live passed, or the caller withdrew the signal;
 *  - futures: a resting stop for at least what is held, at the stop in force (break-even after the
 *    first target, fees included). A replacement is placed BEFORE the old stop is cancelled (the old
 *    one goes once the new one rests), so the position is never without a stop. Refused stops: a
 *    passing refusal is retried with backoff; "would trigger at once" means the price is through it,
 *    so what the stop would do is done at market; any other permanent refusal of the only stop closes
 *    the position at market, and of a replacement keeps the old stop;
 *  - spot: the stop is watched (crossed → targets cancelled, what is held sold at market);
 *  - take-profits split what is held over the targets, within the conditional orders that fit; more
 *    entry fills resize them (new versions; futures place before cancelling, spot cancels first since
 *    limit sells lock the coin);
 *  - the stop, the last target or a close flattening the position books it closed; a futures position
 *    gone from the exchange while the book holds some was closed outside the bot.
 *
 * Its size: one decision, kept whole so that every rule about stops and exits is read in one place against the same state (the invariant "never without a stop" spans them all).
 */
import { dec, toNumber } from '../precision';
import { closeLeg, stopLeg, takeProfitLeg } from '../clientOrderId';
import { positionPnl } from '../pnl';
import { desiredStop, isDust, liveConditional, onPriceStep, targetLegBudget, targetSplit } from './exits';
import {
  entryQuantity,
  exitedQuantity,
  heldQuantity,
  indexOf,
  isInFlight,
  isLive,
  isRefused,
  isResting,
  legsOf,
  nextTargetVersion,
  nextVersion,
  stoppedOut,
  supersededExits,
  targetsHit,
  versionOf,
  type Leg,
} from './legs';
import { refusalClass, retryDue } from './refusals';
import type { CancelWhy, LifecycleCase, MarketCloseWhy, OrderFields, PositionView, Step } from './types';
import type { TakeProfitLeg } from '../takeProfits';

const EPSILON = 1e-12;

export function decidePosition(c: LifecycleCase): Step[] {
  if (!c.position) return beforePosition(c);
  if (c.position.status !== 'open') return cancel(c.legs.filter(isResting), 'leftover');
  return openPosition(c, c.position);
}

/** Whether the decision needs the last price (read only then: it costs request weight). */
export function needsPrice(c: Omit<LifecycleCase, 'lastPrice'>): boolean {
  if (!c.position) return lapse(c, null).waiting;
  return c.position.status === 'open' && !c.settings.futures && c.position.stopLoss !== null;
}

const cancel = (legs: readonly Leg[], why: CancelWhy): Step[] =>
  legs.length > 0 ? [{ kind: 'cancel', legs, why }] : [];
const baseOf = (c: Pick<LifecycleCase, 'market'>, symbol: string) =>
  c.market?.base ?? symbol.split('/')[0] ?? symbol;

/** Resting entries with nothing filled give up when they lapsed; `waiting`: a price could decide it. */
function lapse(
  c: Omit<LifecycleCase, 'lastPrice'>,
  lastPrice: number | null,
): { lapsed: boolean; waiting: boolean } {
  const resting = legsOf(c.legs, 'entry').filter(isResting);
  if (resting.length === 0) return { lapsed: false, waiting: false };
  if (c.signal.withdrawn || c.now - c.signal.createdAt > c.settings.entryTtlMs)
    return { lapsed: true, waiting: false };
  if (lastPrice === null) return { lapsed: false, waiting: true };
  const tp1 = c.signal.takeProfits[0];
  const crossed =
    c.signal.side === 'long'
      ? lastPrice <= c.signal.stopLoss || (tp1 !== undefined && lastPrice >= tp1)
      : lastPrice >= c.signal.stopLoss || (tp1 !== undefined && lastPrice <= tp1);
  return { lapsed: crossed, waiting: false };
}

function beforePosition(c: LifecycleCase): Step[] {
  const entries = legsOf(c.legs, 'entry');
  const quantity = entryQuantity(c.legs);
  if (quantity > 0) {
    const symbol = entries[0]!.symbol;
    const filled = entries.filter((leg) => leg.filledQuantity > 0);
    const pnl = positionPnl(
      c.signal.side,
      filled.map((leg) => ({
        quantity: leg.filledQuantity,
        price: leg.averagePrice ?? leg.price ?? 0,
        fees: leg.fees,
      })),
      [],
      1,
    );
    return [
      {
        kind: 'open-position',
        symbol,
        quantity,
        averageEntryPrice: pnl.averageEntryPrice,
        stopLoss: onPriceStep([c.signal.stopLoss], c.market)[0]!,
        takeProfits: onPriceStep(c.signal.takeProfits, c.market),
      },
    ];
  }
  return lapse(c, c.lastPrice).lapsed ? cancel(entries.filter(isResting), 'entry-lapsed') : [];
}

function averageEntry(c: LifecycleCase, position: PositionView): number | null {
  const filled = legsOf(c.legs, 'entry').filter((leg) => leg.filledQuantity > 0);
  if (filled.length === 0) return position.averageEntryPrice;
  const fills = filled.map((leg) => ({
    quantity: leg.filledQuantity,
    price: leg.averagePrice ?? leg.price ?? 0,
    fees: [],
  }));
  return positionPnl(position.side, fills, [], 1).averageEntryPrice;
}

function openPosition(c: LifecycleCase, p: PositionView): Step[] {
  const { legs, settings } = c;
  const futures = settings.futures;
  const entered = dec(entryQuantity(legs));
  const exited = dec(exitedQuantity(legs));
  const remaining = toNumber(entered.minus(exited));
  const hits = targetsHit(legs);
  const out = stoppedOut(legs);
  const average = averageEntry(c, p);
  const steps: Step[] = [];

  if (
    Math.abs(p.quantity - Math.max(remaining, 0)) > EPSILON ||
    Math.abs(p.exitQuantity - toNumber(exited)) > EPSILON ||
    hits.length > p.takeProfitsHit ||
    average !== p.averageEntryPrice
  ) {
    steps.push({
      kind: 'record-progress',
      quantity: Math.max(remaining, 0),
      exitQuantity: toNumber(exited),
      averageEntryPrice: average,
      hits: Math.max(hits.length, p.takeProfitsHit),
      newHits: hits.slice(p.takeProfitsHit),
    });
  }
  const position: PositionView = { ...p, averageEntryPrice: average };

  const restingEntries = legsOf(legs, 'entry').filter(isResting);
  const lapsed = restingEntries.length > 0 && (hits.length > 0 || out || lapse(c, null).lapsed);
  const held = heldQuantity(legs, futures ? null : baseOf(c, p.symbol));
  const closes = legsOf(legs, 'close');
  const closeWorking = closes.some(isLive);

  // Flat through its own exits (on spot, what fees left may be dust no order can sell): book it.
  const dust = !futures && exited.gt(0) && isDust(c.market, held, c.lastPrice ?? p.averageEntryPrice);
  if ((remaining <= EPSILON || dust) && exited.gt(0) && !closeWorking) {
    const live = legs.filter((leg) => isLive(leg) && !isInFlight(leg));
    if (live.length > 0 || legs.some(isInFlight)) return [...steps, ...cancel(live, 'closing')];
    const tps = legsOf(legs, 'take-profit');
    const lastTargetFilled = tps.length > 0 && tps.every((leg) => hits.includes(indexOf(leg)));
    const panicClosed = p.panicked && legsOf(legs, 'close').some((leg) => leg.filledQuantity > 0);
    const reason = panicClosed ? 'panic' : out && !lastTargetFilled ? 'stop-loss' : 'take-profit';
    return [...steps, { kind: 'book-close', reason }];
  }
  if (lapsed) steps.push(...cancel(restingEntries, 'entry-lapsed'));

  // Gone from the exchange while the book holds some (and no close of ours is working): closed outside.
  if (
    futures &&
    c.exchangeQuantity !== null &&
    remaining > EPSILON &&
    c.exchangeQuantity <= EPSILON &&
    !closeWorking
  ) {
    return [...steps, { kind: 'close-externally' }];
  }

  steps.push(...cancel(supersededExits(legs), 'superseded'));
  if (remaining <= EPSILON) return steps;

  const growing = entered.gt(dec(p.entryQuantity).plus(EPSILON));
  const closing = closingSteps(c, position, held);
  if (closing.active) return [...steps, ...closing.steps];

  let free = freeConditionalSlots(c);
  const protection = futures
    ? protectFutures(c, position, remaining, hits, free)
    : watchSpot(c, position, hits);
  steps.push(...protection);
  free -= protection.filter((s) => s.kind === 'place' || s.kind === 'retry').length;
  if (protection.some((s) => s.kind === 'market-close')) return steps;

  const targets = targetSteps(c, position, { hits, remaining, growing, free });
  steps.push(...targets);
  const busy = [...protection, ...targets].some(
    (s) => s.kind === 'place' || s.kind === 'retry' || s.kind === 'cancel',
  );
  if (growing && !busy && !legs.some((leg) => isInFlight(leg) && leg.type !== 'market')) {
    steps.push({ kind: 'resized', entryQuantity: toNumber(entered) });
  }
  return steps;
}

function freeConditionalSlots(c: LifecycleCase): number {
  if (!c.settings.futures || c.maxConditionalOrders === null) return Number.POSITIVE_INFINITY;
  return c.maxConditionalOrders - c.otherConditionalOrders - liveConditional(c.legs, isLive);
}

function exitFields(
  c: LifecycleCase,
  p: PositionView,
  fields: Pick<OrderFields, 'type' | 'quantity' | 'price' | 'triggerPrice'>,
): OrderFields {
  return {
    symbol: p.symbol,
    side: p.side === 'long' ? 'sell' : 'buy',
    reduceOnly: c.settings.futures,
    ...fields,
  };
}

/** Retry a refused leg when its backoff passed; a permanent refusal is not retried. */
function retryIfPassing(c: LifecycleCase, leg: Leg): Step[] {
  if (refusalClass(leg.reason) !== 'passing') return [];
  return retryDue(leg, c.exchangeNow, c.settings.retry) ? [{ kind: 'retry', leg }] : [];
}

/**
 * A close at market is under way (a close leg exists that was not refused for good): it goes on until
 * nothing is held, whatever the price does meanwhile.
 */
function closingSteps(c: LifecycleCase, p: PositionView, held: number): { active: boolean; steps: Step[] } {
  const closes = legsOf(c.legs, 'close');
  const latest = closes[closes.length - 1];
  if (!latest) return { active: false, steps: [] };
  if (
    isInFlight(latest) &&
    c.settings.futures &&
    latest.sentAt !== null &&
    c.exchangeNow - latest.sentAt >= c.settings.lostExitGraceMs
  ) {
    // A reduce-only close whose answer was lost: a second one cannot take more than is held (one
    // position per exchange position), so it goes now rather than after the minute the lost one
    // takes to be proven absent. Spot sells are not reduce-only: they wait for the proof.
    return { active: true, steps: closeAtMarket(c, 'stop-refused') };
  }
  if (isLive(latest)) return { active: true, steps: [] };
  if (isRefused(latest)) {
    if (refusalClass(latest.reason) !== 'passing') return { active: false, steps: [] };
    return { active: true, steps: retryIfPassing(c, latest) };
  }
  // Filled (or cancelled) while some is still held: close the rest.
  if (isDust(c.market, held, c.lastPrice ?? p.averageEntryPrice)) return { active: true, steps: [] };
  return { active: true, steps: closeAtMarket(c, 'stop-refused') };
}

/**
 * Close what is held at market: reduce-only on futures (the stop and targets stay until it is flat);
 * on spot the resting limit sells lock the coin, so they are cancelled first. Not again once a close
 * was refused for good (its owner was told).
 */
function closeAtMarket(c: LifecycleCase, why: MarketCloseWhy): Step[] {
  const closes = legsOf(c.legs, 'close');
  const latest = closes[closes.length - 1];
  if (latest && isRefused(latest) && refusalClass(latest.reason) !== 'passing') return [];
  if (!c.settings.futures) {
    const lockers = legsOf(c.legs, 'take-profit').filter(isLive);
    if (lockers.some(isInFlight)) return [];
    if (lockers.length > 0) return cancel(lockers, 'closing');
  }
  return [{ kind: 'market-close', leg: closeLeg(nextVersion(c.legs, 'close')), why }];
}

function protectFutures(
  c: LifecycleCase,
  p: PositionView,
  remaining: number,
  hits: number[],
  free: number,
): Step[] {
  const stops = legsOf(c.legs, 'stop-loss');
  const resting = stops.filter(isResting);
  const current = resting[resting.length - 1];
  const fresh = desiredStop(p, c.legs, hits, c.market, c.settings.breakEvenAfterTp1);
  if (!fresh || !c.market) return [];
  // Never back: a stop in force beyond what is wanted stays (a break-even that a fee read later
  // lowers a little would otherwise swing between the two prices, one move per round).
  const inForce = current?.triggerPrice ?? null;
  const beyond = inForce !== null && (p.side === 'long' ? inForce > fresh.trigger : inForce < fresh.trigger);
  const desired = beyond ? { trigger: inForce, breakEven: fresh.breakEven } : fresh;
  const latest = stops[stops.length - 1];
  const place = (why: 'stop' | 'stop-replaced' | 'stop-resized' | 'break-even'): Step[] =>
    free > 0
      ? [
          {
            kind: 'place',
            leg: stopLeg(nextVersion(c.legs, 'stop-loss')),
            order: exitFields(c, p, {
              type: 'stop-loss',
              quantity: remaining,
              price: null,
              triggerPrice: desired.trigger,
            }),
            why,
          },
        ]
      : [];
  if (latest && isInFlight(latest)) {
    // A stop whose answer was lost may take the exchange a minute to prove absent (the protocol's
    // lookup window). Protected meanwhile by another stop, or sent too recently: wait. Otherwise a new
    // version goes now; if the lost one turns out to exist, the newer one supersedes it (cancelled).
    const waiting = latest.sentAt === null || c.exchangeNow - latest.sentAt < c.settings.lostExitGraceMs;
    if (current || waiting) return [];
    return free > 0 ? place('stop-replaced') : roomForStop(c, p);
  }
  if (!current) {
    // Unprotected: nothing of ours rests as a stop.
    const refusal = latest && isRefused(latest) ? refusalClass(latest.reason) : null;
    // Targets give way to it under the exchange's cap (a close at market needs no slot): when the
    // bot's count has no slot left, or the exchange said so (-4045: the member's own conditional
    // orders on the symbol count there too).
    const capped = free <= 0 || (refusal === 'passing' && latest?.reason === 'conditional-limit');
    if (capped && (refusal === null || refusal === 'passing')) {
      const room = roomForStop(c, p);
      if (room.length > 0) return room;
    }
    if (latest && refusal !== null) {
      if (refusal === 'passing') return retryIfPassing(c, latest);
      // Through the stop already, or refused for good: what the stop is for, done at market.
      return closeAtMarket(c, 'stop-refused');
    }
    return place(latest ? 'stop-replaced' : 'stop');
  }

  const steps: Step[] = [];
  if (current.triggerPrice !== null && current.triggerPrice !== p.stopLoss) {
    steps.push({
      kind: 'stop-moved',
      stopLoss: current.triggerPrice,
      stopVersion: versionOf(current),
      breakEven: desired.breakEven && current.triggerPrice === desired.trigger,
    });
  }
  const wrongPrice = current.triggerPrice !== desired.trigger;
  const tooSmall = current.quantity < remaining - c.market.amountStep / 2;
  if (!wrongPrice && !tooSmall) return steps;
  const pending = stops.filter((leg) => versionOf(leg) > versionOf(current)).pop();
  if (pending && isRefused(pending)) {
    const refusal = refusalClass(pending.reason);
    if (refusal === 'passing') return [...steps, ...retryIfPassing(c, pending)];
    // The price is already past the new level (break-even): done at market; the old stop stays
    // until the position is flat. Any other permanent refusal keeps the old stop (and the owner is told).
    if (refusal === 'would-trigger') return [...steps, ...closeAtMarket(c, 'break-even-passed')];
    return steps;
  }
  return [
    ...steps,
    ...place(wrongPrice ? (desired.breakEven ? 'break-even' : 'stop-replaced') : 'stop-resized'),
  ];
}

/**
 * A position with no resting stop and no conditional slot free (lost stop versions that may still
 * exist count until proven absent): the farthest resting take-profit goes, so the stop can.
 */
function roomForStop(c: LifecycleCase, p: PositionView): Step[] {
  const distance = (leg: Leg) => Math.abs((leg.triggerPrice ?? leg.price ?? 0) - (p.averageEntryPrice ?? 0));
  // Untouched ones only: a target that filled part is left to finish (it could not come back for the rest).
  const farthest = legsOf(c.legs, 'take-profit')
    .filter((leg) => isResting(leg) && leg.filledQuantity === 0)
    .sort((a, b) => distance(b) - distance(a))[0];
  return farthest ? cancel([farthest], 'room-for-stop') : [];
}

function watchSpot(c: LifecycleCase, p: PositionView, hits: number[]): Step[] {
  const desired = desiredStop(p, c.legs, hits, c.market, c.settings.breakEvenAfterTp1);
  if (!desired) return [];
  const steps: Step[] =
    desired.trigger !== p.stopLoss
      ? [
          {
            kind: 'stop-moved',
            stopLoss: desired.trigger,
            stopVersion: p.stopVersion + 1,
            breakEven: desired.breakEven,
          },
        ]
      : [];
  const last = c.lastPrice;
  const crossed = last !== null && (p.side === 'long' ? last <= desired.trigger : last >= desired.trigger);
  return crossed ? [...steps, ...closeAtMarket(c, 'spot-stop')] : steps;
}

interface TargetState {
  hits: number[];
  remaining: number;
  growing: boolean;
  free: number;
}

function targetSteps(c: LifecycleCase, p: PositionView, s: TargetState): Step[] {
  const market = c.market;
  if (!market || p.takeProfits.length === 0) return [];
  const futures = c.settings.futures;
  const tps = legsOf(c.legs, 'take-profit');
  if (tps.some(isInFlight)) return [];
  const budget = futures ? targetLegBudget(c.maxConditionalOrders, c.otherConditionalOrders) : null;
  const weights = c.settings.takeProfitWeights;
  const latestOf = (index: number) => tps.filter((leg) => indexOf(leg) === index).pop();
  const fields = (tp: TakeProfitLeg) =>
    exitFields(
      c,
      p,
      futures
        ? { type: 'take-profit', quantity: tp.qty, price: null, triggerPrice: tp.price }
        : { type: 'limit', quantity: tp.qty, price: tp.price, triggerPrice: null },
    );

  const stopRests = !futures || legsOf(c.legs, 'stop-loss').some(isResting);
  if (!s.growing) {
    // First placement (a leg for every target of the split that never had one), and retries.
    const basis = futures ? p.entryQuantity : heldQuantity(legsOf(c.legs, 'entry'), baseOf(c, p.symbol));
    const split = targetSplit(basis, p.takeProfits, new Set(), market, weights, budget);
    const steps: Step[] = [];
    let free = s.free;
    for (const tp of split?.legs ?? []) {
      const latest = latestOf(tp.index);
      const gaveWay =
        latest?.status === 'cancelled' && latest.reason === 'room-for-stop' && latest.filledQuantity === 0;
      // It comes back only beside a resting stop: while none rests, the slot is the stop's.
      if (gaveWay && !stopRests) continue;
      if (latest && !gaveWay) {
        if (isRefused(latest)) steps.push(...retryIfPassing(c, latest));
        continue;
      }
      if (free <= 0) break;
      free -= 1;
      // A target that gave way to the stop comes back as a new version once there is room.
      const leg = latest
        ? takeProfitLeg(tp.index, nextTargetVersion(c.legs, tp.index))
        : takeProfitLeg(tp.index);
      steps.push({ kind: 'place', leg, order: fields(tp), why: 'target' });
    }
    return steps;
  }

  // More entries filled: what is left re-split over the targets not reached yet, as new versions.
  const done = new Set(s.hits);
  if (!futures) {
    // Limit sells lock the coin the new ones need: the old ones go first.
    const live = tps.filter(isResting);
    const left = heldQuantity(c.legs, baseOf(c, p.symbol));
    const split = targetSplit(left, p.takeProfits, done, market, weights, null);
    const wanted = new Map((split?.legs ?? []).map((tp) => [tp.index, tp]));
    const stale = live.filter((leg) => wanted.get(indexOf(leg))?.qty !== leg.quantity);
    if (stale.length > 0) return cancel(stale, 'make-room');
    return placeResized(c, split?.legs ?? [], latestOf, fields, Number.POSITIVE_INFINITY);
  }
  const split = targetSplit(s.remaining, p.takeProfits, done, market, weights, budget);
  const steps = placeResized(c, split?.legs ?? [], latestOf, fields, s.free);
  if (steps.length > 0) return steps;
  // The new legs rest: a target the new split merged away goes too.
  const inSplit = new Set((split?.legs ?? []).map((tp) => tp.index));
  return cancel(
    tps.filter((leg) => isResting(leg) && !inSplit.has(indexOf(leg)) && !done.has(indexOf(leg))),
    'superseded',
  );
}

function placeResized(
  c: LifecycleCase,
  legs: readonly TakeProfitLeg[],
  latestOf: (index: number) => Leg | undefined,
  fields: (tp: TakeProfitLeg) => OrderFields,
  free: number,
): Step[] {
  const steps: Step[] = [];
  let slots = free;
  for (const tp of legs) {
    const latest = latestOf(tp.index);
    const order = fields(tp);
    const same =
      latest !== undefined &&
      latest.quantity === order.quantity &&
      latest.price === order.price &&
      latest.triggerPrice === order.triggerPrice;
    if (same && isRefused(latest)) {
      steps.push(...retryIfPassing(c, latest));
      continue;
    }
    if (same && (isResting(latest) || latest.status === 'filled')) continue;
    if (slots <= 0) break;
    slots -= 1;
    steps.push({
      kind: 'place',
      leg: takeProfitLeg(tp.index, nextTargetVersion(c.legs, tp.index)),
      order,
      why: 'target-resized',
    });
  }
  return steps;
}
