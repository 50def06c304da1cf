import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decidePosition, needsPrice } from '../../../src/domain/lifecycle/decide';
import { fitTargets, targetLegBudget } from '../../../src/domain/lifecycle/exits';
import {
  isResting,
  kindOf,
  replacedInFlight,
  versionOf,
  type Leg,
  type LegStatus,
} from '../../../src/domain/lifecycle/legs';
import { DEFAULT_RETRY_POLICY } from '../../../src/domain/lifecycle/refusals';
import type { LifecycleCase, PositionView, Step } from '../../../src/domain/lifecycle/types';
import { breakEvenStopPrice } from '../../../src/domain/takeProfits';
import { btcPerp, btcSpot, NOW } from './fixtures';

/**
 * The position lifecycle's decisions as a table: each row a state of the position and its legs, and
 * the steps that must (and must not) come out. The executor (src/trading/positions/follow.ts) only
 * applies these; the integration tests run the same rules through ccxt and the simulator.
 */

const SYMBOL = 'BTC/USDT:USDT';
const usdt = (amount: number) => [{ currency: 'USDT', amount, quoteValue: amount }];
let ids = 0;

function leg(name: string, fields: Partial<Leg> = {}): Leg {
  const kind = name[0];
  const type = kind === 'e' ? 'market' : kind === 's' ? 'stop-loss' : kind === 't' ? 'take-profit' : 'market';
  ids += 1;
  return {
    id: `o${ids}`,
    leg: name,
    symbol: SYMBOL,
    side: kind === 'e' ? 'buy' : 'sell',
    type,
    quantity: 1,
    price: null,
    triggerPrice: kind === 's' ? 48_000 : kind === 't' ? 52_000 : null,
    status: 'open',
    filledQuantity: 0,
    averagePrice: null,
    fees: [],
    reason: null,
    attempts: 1,
    sentAt: NOW - 60_000,
    ...fields,
  };
}

const filledEntry = (quantity = 1, price = 50_000) =>
  leg('e0', {
    status: 'filled',
    quantity,
    filledQuantity: quantity,
    averagePrice: price,
    fees: usdt(quantity * price * 0.0004),
  });

function position(fields: Partial<PositionView> = {}): PositionView {
  return {
    id: 'p1',
    symbol: SYMBOL,
    side: 'long',
    status: 'open',
    quantity: 1,
    entryQuantity: 1,
    exitQuantity: 0,
    averageEntryPrice: 50_000,
    stopLoss: 48_000,
    takeProfits: [52_000, 54_000],
    takeProfitsHit: 0,
    stopVersion: 0,
    leverage: 5,
    panicked: false,
    ...fields,
  };
}

function futuresCase(fields: Partial<LifecycleCase> = {}): LifecycleCase {
  // The host's clock agrees with the exchange's unless a case says otherwise.
  const now = fields.now ?? NOW;
  return {
    now,
    exchangeNow: now,
    signal: {
      side: 'long',
      stopLoss: 48_000,
      takeProfits: [52_000, 54_000],
      createdAt: NOW - 3_600_000,
      withdrawn: false,
    },
    position: position(),
    legs: [filledEntry()],
    market: btcPerp({ amountStep: 0.001, minNotional: 5, takerFee: 0.0005 }),
    lastPrice: null,
    exchangeQuantity: 1,
    otherConditionalOrders: 0,
    maxConditionalOrders: 10,
    settings: {
      futures: true,
      breakEvenAfterTp1: true,
      takeProfitWeights: null,
      entryTtlMs: 86_400_000,
      retry: DEFAULT_RETRY_POLICY,
      lostExitGraceMs: 5_000,
    },
    ...fields,
  };
}

const kinds = (steps: Step[]) => steps.map((step) => step.kind);
const placed = (steps: Step[]) => steps.flatMap((step) => (step.kind === 'place' ? [step.leg] : []));
const cancelled = (steps: Step[]) =>
  steps.flatMap((step) => (step.kind === 'cancel' ? step.legs.map((l) => l.leg) : []));

describe('before a position exists', () => {
  it('a filled entry opens the position with the signal stop and targets on the price step', () => {
    const steps = decidePosition(
      futuresCase({
        position: null,
        signal: {
          side: 'long',
          stopLoss: 48_000.04,
          takeProfits: [52_000.06],
          createdAt: NOW,
          withdrawn: false,
        },
      }),
    );
    expect(steps).toEqual([
      {
        kind: 'open-position',
        symbol: SYMBOL,
        quantity: 1,
        averageEntryPrice: 50_000,
        stopLoss: 48_000,
        takeProfits: [52_000.1],
      },
    ]);
  });

  it.each([
    ['withdrawn by its caller', { withdrawn: true }, null, true],
    ['past its time-to-live', { createdAt: NOW - 90_000_000 }, null, true],
    ['the price traded through the stop first', {}, 47_900, true],
    ['the price reached the first target first', {}, 52_100, true],
    ['still between stop and target', {}, 50_500, false],
    ['no price known', {}, null, false],
  ] as const)('a resting entry with nothing filled, %s → cancelled: %s', (_, signal, lastPrice, cancels) => {
    const c = futuresCase({
      position: null,
      legs: [leg('e0', { type: 'limit', price: 49_000 })],
      lastPrice,
      signal: {
        side: 'long',
        stopLoss: 48_000,
        takeProfits: [52_000],
        createdAt: NOW - 60_000,
        withdrawn: false,
        ...signal,
      },
    });
    expect(cancelled(decidePosition(c))).toEqual(cancels ? ['e0'] : []);
  });

  it('asks for a price only when a price could decide something', () => {
    const resting = futuresCase({ position: null, legs: [leg('e0', { type: 'limit' })] });
    expect(needsPrice(resting)).toBe(true);
    expect(needsPrice({ ...resting, signal: { ...resting.signal, withdrawn: true } })).toBe(false);
    expect(needsPrice(futuresCase())).toBe(false);
    expect(needsPrice(futuresCase({ settings: { ...futuresCase().settings, futures: false } }))).toBe(true);
  });
});

describe('futures: the stop', () => {
  it('a position with no exits gets its stop and its targets', () => {
    const steps = decidePosition(futuresCase());
    expect(placed(steps)).toEqual(['s0', 't0', 't1']);
    const stop = steps.find((s) => s.kind === 'place' && s.leg === 's0');
    expect(stop).toMatchObject({
      order: { type: 'stop-loss', triggerPrice: 48_000, quantity: 1, reduceOnly: true, side: 'sell' },
    });
  });

  it('a stop cancelled on the exchange (by hand, or expired after triggering) is replaced by a new version', () => {
    const steps = decidePosition(
      futuresCase({ legs: [filledEntry(), leg('s0', { status: 'cancelled' }), leg('t0'), leg('t1')] }),
    );
    expect(placed(steps)).toEqual(['s1']);
  });

  it('a stop the exchange took and later reported rejected (triggered, its order refused) is gone: a new version goes', () => {
    const steps = decidePosition(
      futuresCase({
        legs: [filledEntry(), leg('s0', { status: 'rejected', reason: null }), leg('t0'), leg('t1')],
      }),
    );
    expect(placed(steps)).toEqual(['s1']);
  });

  it('a stop whose answer was lost: wait a few seconds, then a new version beside it (never left a minute unprotected)', () => {
    const lost = (sentAgo: number) => leg('s0', { status: 'unknown', sentAt: NOW - sentAgo });
    expect(
      placed(decidePosition(futuresCase({ legs: [filledEntry(), lost(1_000), leg('t0'), leg('t1')] }))),
    ).toEqual([]);
    expect(
      placed(decidePosition(futuresCase({ legs: [filledEntry(), lost(6_000), leg('t0'), leg('t1')] }))),
    ).toEqual(['s1']);
    // Another stop rests: nothing to do but wait for the answer.
    expect(
      placed(
        decidePosition(
          futuresCase({
            legs: [
              filledEntry(),
              leg('s0'),
              leg('s1', { status: 'unknown', sentAt: NOW - 60_000 }),
              leg('t0'),
              leg('t1'),
            ],
          }),
        ),
      ),
    ).toEqual([]);
    // The lost one turns out to rest after all, beside the newer one: it goes.
    expect(
      cancelled(
        decidePosition(futuresCase({ legs: [filledEntry(), leg('s0'), leg('s1'), leg('t0'), leg('t1')] })),
      ),
    ).toEqual(['s0']);
  });

  it('a position without a stop and no conditional slot left: the farthest target gives way, and comes back once there is room', () => {
    // Eight targets and two stop versions whose answers were lost fill Binance's 10 per symbol.
    const prices = [52_000, 52_500, 53_000, 53_500, 54_000, 54_500, 55_000, 55_500];
    const targets = prices.map((price, i) => leg(`t${i}`, { triggerPrice: price, quantity: 0.125 }));
    const p = position({ takeProfits: prices });
    const lost = [
      leg('s0', { status: 'unknown', sentAt: NOW - 9_000 }),
      leg('s1', { status: 'unknown', sentAt: NOW - 6_000 }),
    ];
    const full = decidePosition(futuresCase({ position: p, legs: [filledEntry(), ...lost, ...targets] }));
    expect(full).toEqual([{ kind: 'cancel', legs: [targets[7]], why: 'room-for-stop' }]);
    // The target gave way: the stop goes, the target waits.
    const gaveWay = { ...targets[7]!, status: 'cancelled' as const, reason: 'room-for-stop' };
    const room = decidePosition(
      futuresCase({ position: p, legs: [filledEntry(), ...lost, ...targets.slice(0, 7), gaveWay] }),
    );
    expect(placed(room)).toEqual(['s2']);
    // The lost ones proven absent: the target comes back as a new version (the stop rests).
    const absent = lost.map((l) => ({ ...l, status: 'not-placed' as const }));
    const later = decidePosition(
      futuresCase({
        position: p,
        legs: [filledEntry(), ...absent, leg('s2'), ...targets.slice(0, 7), gaveWay],
      }),
    );
    expect(placed(later)).toEqual(['t7v1']);
    // A target the member cancelled on the exchange is not placed again.
    const byHand = { ...targets[7]!, status: 'cancelled' as const };
    expect(
      placed(
        decidePosition(
          futuresCase({
            position: p,
            legs: [filledEntry(), ...absent, leg('s2'), ...targets.slice(0, 7), byHand],
          }),
        ),
      ),
    ).toEqual([]);
  });

  it('a target that gave way stays away while no stop rests, so the stop keeps its slot (no ping-pong)', () => {
    const prices = [52_000, 52_500, 53_000, 53_500, 54_000, 54_500, 55_000, 55_500];
    const targets = prices.map((price, i) => leg(`t${i}`, { triggerPrice: price, quantity: 0.125 }));
    const p = position({ takeProfits: prices });
    const lost = [
      leg('s0', { status: 'unknown', sentAt: NOW - 9_000 }),
      leg('s1', { status: 'unknown', sentAt: NOW - 6_000 }),
    ];
    // The stop that took the freed slot was refused for a passing reason just now: its retry waits a second.
    const refused = leg('s2', {
      status: 'not-placed',
      reason: 'exchange-error',
      attempts: 1,
      sentAt: NOW - 300,
    });
    const gaveWay = { ...targets[7]!, status: 'cancelled' as const, reason: 'room-for-stop' };
    const legs = [filledEntry(), ...lost, refused, ...targets.slice(0, 7), gaveWay];
    expect(placed(decidePosition(futuresCase({ position: p, legs })))).toEqual([]);
    // Once due, the stop goes again into that slot.
    expect(kinds(decidePosition(futuresCase({ now: NOW + 1_000, position: p, legs })))).toEqual(['retry']);
  });

  it('a stop the exchange refused for its conditional cap (-4045) makes room, whatever the bot counts', () => {
    // Eight bot targets; the member's own two conditional orders on the symbol fill the exchange's 10.
    const prices = [52_000, 52_500, 53_000, 53_500, 54_000, 54_500, 55_000, 55_500];
    const targets = prices.map((price, i) => leg(`t${i}`, { triggerPrice: price, quantity: 0.125 }));
    const refused = leg('s1', {
      status: 'rejected',
      reason: 'conditional-limit',
      attempts: 5,
      sentAt: NOW - 60_000,
    });
    const steps = decidePosition(
      futuresCase({
        position: position({ takeProfits: prices }),
        legs: [filledEntry(), leg('s0', { status: 'cancelled' }), refused, ...targets],
      }),
    );
    expect(steps).toEqual([{ kind: 'cancel', legs: [targets[7]], why: 'room-for-stop' }]);
  });

  it("counts a lost or refused stop's waits on the exchange's clock, the one its send stamp is on", () => {
    // The stop was sent 6 s ago by the exchange's clock; the host's runs a minute behind or ahead.
    const lost = leg('s0', { status: 'unknown', sentAt: NOW - 6_000 });
    const legs = [filledEntry(), lost, leg('t0'), leg('t1')];
    expect(placed(decidePosition(futuresCase({ now: NOW - 65_000, exchangeNow: NOW, legs })))).toEqual([
      's1',
    ]);
    // Sent 1 s ago by the exchange's clock: still waiting, however far ahead the host's is.
    const fresh = [
      filledEntry(),
      leg('s0', { status: 'unknown', sentAt: NOW - 1_000 }),
      leg('t0'),
      leg('t1'),
    ];
    expect(placed(decidePosition(futuresCase({ now: NOW + 65_000, exchangeNow: NOW, legs: fresh })))).toEqual(
      [],
    );
    const refused = leg('s0', {
      status: 'rejected',
      reason: 'exchange-error',
      attempts: 4,
      sentAt: NOW - 2_000,
    });
    expect(
      decidePosition(
        futuresCase({
          now: NOW - 65_000,
          exchangeNow: NOW,
          legs: [filledEntry(), refused, leg('t0'), leg('t1')],
        }),
      ),
    ).toEqual([{ kind: 'retry', leg: refused }]);
  });

  it('a stop refused for a passing reason is retried only after its backoff, the same leg', () => {
    // What protects the position goes again each second (no doubling): a stop refused by a 5xx.
    const refused = leg('s0', {
      status: 'rejected',
      reason: 'exchange-error',
      attempts: 4,
      sentAt: NOW - 500,
    });
    expect(
      kinds(decidePosition(futuresCase({ legs: [filledEntry(), refused, leg('t0'), leg('t1')] }))),
    ).toEqual([]);
    const later = futuresCase({ now: NOW + 10_000, legs: [filledEntry(), refused, leg('t0'), leg('t1')] });
    expect(decidePosition(later)).toEqual([{ kind: 'retry', leg: refused }]);
    // A rate limit is refused in the process while its back-off lasts: tried again each second.
    const limited = leg('s0', {
      status: 'rejected',
      reason: 'rate-limited',
      attempts: 4,
      sentAt: NOW - 1_000,
    });
    expect(decidePosition(futuresCase({ legs: [filledEntry(), limited, leg('t0'), leg('t1')] }))).toEqual([
      { kind: 'retry', leg: limited },
    ]);
    expect(
      kinds(
        decidePosition(futuresCase({ now: NOW - 500, legs: [filledEntry(), limited, leg('t0'), leg('t1')] })),
      ),
    ).toEqual([]);
  });

  it.each([
    ['would trigger at once (price through the stop)', 'would-trigger'],
    ['refused for good', 'invalid-order'],
  ])('the only stop %s → the position is closed at market, not left unprotected', (_, reason) => {
    const steps = decidePosition(
      futuresCase({ legs: [filledEntry(), leg('s0', { status: 'rejected', reason }), leg('t0'), leg('t1')] }),
    );
    expect(steps).toEqual([{ kind: 'market-close', leg: 'c0', why: 'stop-refused' }]);
  });

  it('a close refused for good is not sent again (the owner was told)', () => {
    const legs = [
      filledEntry(),
      leg('s0', { status: 'rejected', reason: 'invalid-order' }),
      leg('c0', { status: 'rejected', reason: 'invalid-order' }),
    ];
    expect(kinds(decidePosition(futuresCase({ legs })))).not.toContain('market-close');
  });

  it('a futures close whose answer was lost: after a few seconds a second (reduce-only) close goes', () => {
    const lost = (sentAgo: number) => leg('c0', { status: 'unknown', sentAt: NOW - sentAgo });
    const refused = leg('s0', { status: 'rejected', reason: 'would-trigger' });
    expect(decidePosition(futuresCase({ legs: [filledEntry(), refused, lost(1_000)] }))).toEqual([]);
    expect(decidePosition(futuresCase({ legs: [filledEntry(), refused, lost(6_000)] }))).toEqual([
      { kind: 'market-close', leg: 'c1', why: 'stop-refused' },
    ]);
  });

  it('a close refused for a passing reason is retried after its backoff', () => {
    const close = leg('c0', { status: 'rejected', reason: 'exchange-error', sentAt: NOW - 60_000 });
    const steps = decidePosition(
      futuresCase({
        legs: [filledEntry(), leg('s0', { status: 'rejected', reason: 'invalid-order' }), close],
      }),
    );
    expect(steps).toEqual([{ kind: 'retry', leg: close }]);
  });
});

describe('futures: break-even after the first target', () => {
  const tp0Filled = () =>
    leg('t0', { status: 'filled', quantity: 0.5, filledQuantity: 0.5, averagePrice: 52_000 });
  const breakEven = breakEvenStopPrice('long', 50_000, 0.1, 0.0004, 0.0005);

  it("is the entry plus both sides' fees, placed BEFORE the old stop goes", () => {
    expect(breakEven).toBe(50_045.1);
    const s0 = leg('s0');
    const steps = decidePosition(
      futuresCase({ legs: [filledEntry(), s0, tp0Filled(), leg('t1', { quantity: 0.5 })] }),
    );
    expect(placed(steps)).toEqual(['s1']);
    expect(steps.find((s) => s.kind === 'place')).toMatchObject({
      why: 'break-even',
      order: { triggerPrice: breakEven, quantity: 0.5 },
    });
    expect(cancelled(steps)).toEqual([]);
  });

  it('once the new stop rests: recorded as moved, then the old one is cancelled', () => {
    const legs = [
      filledEntry(),
      leg('s0'),
      leg('s1', { triggerPrice: breakEven, quantity: 0.5 }),
      tp0Filled(),
      leg('t1', { quantity: 0.5 }),
    ];
    const steps = decidePosition(
      futuresCase({ legs, position: position({ quantity: 0.5, exitQuantity: 0.5, takeProfitsHit: 1 }) }),
    );
    expect(cancelled(steps)).toEqual(['s0']);
    expect(steps).toContainEqual({
      kind: 'stop-moved',
      stopLoss: breakEven,
      stopVersion: 1,
      breakEven: true,
    });
    expect(placed(steps)).toEqual([]);
  });

  it('a break-even stop placed while the entry fee was unknown (a little higher) is never moved back once the fee is read', () => {
    // The stand-in taker rate put s1 one step above what the entry's real fee gives: it stays, and is what is recorded.
    const higher = breakEven + btcPerp().priceStep;
    const legs = [
      filledEntry(),
      leg('s0'),
      leg('s1', { triggerPrice: higher, quantity: 0.5 }),
      tp0Filled(),
      leg('t1', { quantity: 0.5 }),
    ];
    const steps = decidePosition(
      futuresCase({ legs, position: position({ quantity: 0.5, exitQuantity: 0.5, takeProfitsHit: 1 }) }),
    );
    expect(placed(steps)).toEqual([]);
    expect(cancelled(steps)).toEqual(['s0']);
    expect(steps).toContainEqual({ kind: 'stop-moved', stopLoss: higher, stopVersion: 1, breakEven: true });
    // The next round, with the move recorded: nothing more to do.
    const after = decidePosition(
      futuresCase({
        legs: [legs[0]!, leg('s0', { status: 'cancelled' }), ...legs.slice(2)],
        position: position({
          quantity: 0.5,
          exitQuantity: 0.5,
          takeProfitsHit: 1,
          stopLoss: higher,
          stopVersion: 1,
        }),
      }),
    );
    expect(placed(after)).toEqual([]);
    expect(kinds(after)).not.toContain('stop-moved');
  });

  it('price already past break-even (-2021): the old stop stays, the rest is closed at market', () => {
    const legs = [
      filledEntry(),
      leg('s0'),
      leg('s1', { status: 'rejected', reason: 'would-trigger', triggerPrice: breakEven }),
      tp0Filled(),
      leg('t1', { quantity: 0.5 }),
    ];
    const steps = decidePosition(
      futuresCase({ legs, position: position({ quantity: 0.5, exitQuantity: 0.5, takeProfitsHit: 1 }) }),
    );
    expect(cancelled(steps)).not.toContain('s0');
    expect(steps).toContainEqual({ kind: 'market-close', leg: 'c0', why: 'break-even-passed' });
  });

  it('a stop move refused for good keeps the old stop and does not try again', () => {
    const legs = [
      filledEntry(),
      leg('s0'),
      leg('s1', { status: 'rejected', reason: 'invalid-order', triggerPrice: breakEven }),
      tp0Filled(),
      leg('t1', { quantity: 0.5 }),
    ];
    const steps = decidePosition(
      futuresCase({ legs, position: position({ quantity: 0.5, exitQuantity: 0.5, takeProfitsHit: 1 }) }),
    );
    expect(cancelled(steps)).toEqual([]);
    expect(placed(steps)).toEqual([]);
    expect(kinds(steps)).not.toContain('market-close');
  });
});

describe('closing', () => {
  it('flat by its stop: the other legs are cancelled, then the position is booked as stopped out', () => {
    const legs = [
      filledEntry(),
      leg('s0', { status: 'filled', filledQuantity: 1, averagePrice: 48_000 }),
      leg('t0'),
      leg('t1'),
    ];
    expect(cancelled(decidePosition(futuresCase({ legs })))).toEqual(['t0', 't1']);
    const after = legs.map((l) => (l.leg.startsWith('t') ? { ...l, status: 'cancelled' as LegStatus } : l));
    expect(decidePosition(futuresCase({ legs: after }))).toContainEqual({
      kind: 'book-close',
      reason: 'stop-loss',
    });
  });

  it('flat by its last target: booked as take-profit', () => {
    const legs = [
      filledEntry(),
      leg('s0', { status: 'cancelled' }),
      leg('t0', { status: 'filled', quantity: 0.5, filledQuantity: 0.5 }),
      leg('t1', { status: 'filled', quantity: 0.5, filledQuantity: 0.5 }),
    ];
    expect(decidePosition(futuresCase({ legs }))).toContainEqual({
      kind: 'book-close',
      reason: 'take-profit',
    });
  });

  it('gone from the exchange while the book holds some: closed outside the bot — not while our close works', () => {
    const legs = [filledEntry(), leg('s0'), leg('t0'), leg('t1')];
    expect(kinds(decidePosition(futuresCase({ legs, exchangeQuantity: 0 })))).toContain('close-externally');
    expect(kinds(decidePosition(futuresCase({ legs, exchangeQuantity: null })))).not.toContain(
      'close-externally',
    );
    const closing = [...legs, leg('c0', { status: 'unknown' })];
    expect(kinds(decidePosition(futuresCase({ legs: closing, exchangeQuantity: 0 })))).not.toContain(
      'close-externally',
    );
  });
});

describe('more entries filled: exits resized', () => {
  it('the stop is replaced for the whole position first, the targets get new versions, resized only when all rest', () => {
    const legs = [
      filledEntry(1),
      leg('e1', { type: 'limit', status: 'filled', quantity: 1, filledQuantity: 1, averagePrice: 49_000 }),
      leg('s0', { quantity: 1 }),
      leg('t0', { quantity: 0.5 }),
      leg('t1', { quantity: 0.5, triggerPrice: 54_000 }),
    ];
    const steps = decidePosition(futuresCase({ legs }));
    expect(placed(steps)).toEqual(['s1', 't0v1', 't1v1']);
    expect(kinds(steps)).not.toContain('resized');
    const rested = [
      ...legs,
      leg('s1', { quantity: 2 }),
      leg('t0v1', { quantity: 1 }),
      leg('t1v1', { quantity: 1, triggerPrice: 54_000 }),
    ];
    const next = decidePosition(
      futuresCase({ legs: rested, position: position({ quantity: 2, averageEntryPrice: 49_500 }) }),
    );
    expect(cancelled(next).sort()).toEqual(['s0', 't0', 't1']);
    const done = rested.map((l) =>
      ['s0', 't0', 't1'].includes(l.leg) ? { ...l, status: 'cancelled' as LegStatus } : l,
    );
    expect(
      decidePosition(
        futuresCase({ legs: done, position: position({ quantity: 2, averageEntryPrice: 49_500 }) }),
      ),
    ).toContainEqual({
      kind: 'resized',
      entryQuantity: 2,
    });
  });
});

describe('conditional orders per symbol (Binance -4045: 10)', () => {
  it('nine targets fold into eight so the stop and a stop move still fit', () => {
    expect(targetLegBudget(10, 0)).toBe(8);
    const legs = Array.from({ length: 9 }, (_, index) => ({ index, price: 100 + index, qty: 1 }));
    const fitted = fitTargets(legs, 8);
    expect(fitted.legs).toHaveLength(8);
    expect(fitted.legs[7]).toEqual({ index: 7, price: 107, qty: 2 });
    expect(fitted.folded).toBe(true);
  });

  it("places no more conditional orders than fit beside the account's others on the symbol; the stop comes first", () => {
    const c = futuresCase({ otherConditionalOrders: 8, legs: [filledEntry()] });
    expect(placed(decidePosition(c))).toEqual(['s0']);
  });
});

describe('spot: the engine is the stop', () => {
  const spotCase = (fields: Partial<LifecycleCase> = {}) =>
    futuresCase({
      market: btcSpot({ takerFee: 0.001 }),
      exchangeQuantity: null,
      maxConditionalOrders: null,
      settings: { ...futuresCase().settings, futures: false },
      position: position({ symbol: 'BTC/USDT' }),
      ...fields,
    });

  it('crossed: the resting sells are cancelled first, then what is held is sold at market', () => {
    const legs = [
      filledEntry(),
      leg('t0', { type: 'limit', price: 52_000, quantity: 0.5 }),
      leg('t1', { type: 'limit', price: 54_000, quantity: 0.5 }),
    ];
    expect(cancelled(decidePosition(spotCase({ legs, lastPrice: 47_000 })))).toEqual(['t0', 't1']);
    const freed = legs.map((l) => (l.leg.startsWith('t') ? { ...l, status: 'cancelled' as LegStatus } : l));
    expect(decidePosition(spotCase({ legs: freed, lastPrice: 47_000 }))).toContainEqual({
      kind: 'market-close',
      leg: 'c0',
      why: 'spot-stop',
    });
  });

  it('a close once started goes on until nothing is held, whatever the price does', () => {
    const legs = [filledEntry(), leg('c0', { status: 'filled', quantity: 0.4, filledQuantity: 0.4 })];
    expect(decidePosition(spotCase({ legs, lastPrice: 51_000 }))).toContainEqual({
      kind: 'market-close',
      leg: 'c1',
      why: 'stop-refused',
    });
  });
});

describe('invariant: the last resting stop is never cancelled while the position is open', () => {
  const statuses: LegStatus[] = [
    'intent',
    'unknown',
    'open',
    'filled',
    'cancelled',
    'rejected',
    'not-placed',
    'expired',
  ];
  const reasons = [null, 'rate-limited', 'would-trigger', 'invalid-order', 'not-placed'];

  it('holds for any mix of stop and target legs', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            status: fc.constantFrom(...statuses),
            reason: fc.constantFrom(...reasons),
            trigger: fc.constantFrom(48_000, 50_045.1),
          }),
          { minLength: 0, maxLength: 4 },
        ),
        fc.array(fc.constantFrom(...statuses), { minLength: 0, maxLength: 2 }),
        fc.boolean(),
        (stopSpecs, targetStatuses, tpHit) => {
          const stops = stopSpecs.map((s, version) =>
            leg(`s${version}`, {
              status: s.status,
              reason: s.status === 'rejected' ? s.reason : null,
              triggerPrice: s.trigger,
              filledQuantity: s.status === 'filled' ? 1 : 0,
            }),
          );
          const targets = targetStatuses.map((status, index) =>
            leg(`t${index}`, { status: status === 'filled' ? 'open' : status, quantity: 0.5 }),
          );
          if (tpHit) targets[0] = leg('t0', { status: 'filled', quantity: 0.5, filledQuantity: 0.5 });
          const legs = [filledEntry(), ...stops, ...targets];
          const steps = decidePosition(futuresCase({ legs }));
          const cancelledIds = new Set(cancelled(steps));
          const restingStops = stops.filter(isResting);
          const newestResting = restingStops.reduce<Leg | undefined>(
            (a, b) => (!a || versionOf(b) > versionOf(a) ? b : a),
            undefined,
          );
          const held = 1 - [...stops, ...targets].reduce((sum, l) => sum + l.filledQuantity, 0);
          if (held > 0 && newestResting) expect(cancelledIds.has(newestResting.leg)).toBe(false);
          // Nothing resting, nothing in flight, nothing closing: something must protect the position.
          const inFlight = stops.some((s) => s.status === 'intent' || s.status === 'unknown');
          if (held > 0 && !newestResting && !inFlight) {
            const acts = steps.some(
              (s) =>
                (s.kind === 'place' && kindOf({ leg: s.leg }) === 'stop-loss') ||
                s.kind === 'retry' ||
                s.kind === 'market-close',
            );
            const waitingOnBackoff = stops.length > 0 && stops[stops.length - 1]!.status === 'rejected';
            expect(acts || waitingOnBackoff).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('replacedInFlight: unanswered exits a newer version replaced (never resent)', () => {
  it.each([
    {
      name: 'a lost stop with a newer stop',
      legs: [leg('s0', { status: 'unknown' }), leg('s1')],
      replaced: ['s0'],
    },
    {
      name: 'a lost stop with a newer one also lost',
      legs: [leg('s0', { status: 'unknown' }), leg('s1', { status: 'intent' })],
      replaced: ['s0'],
    },
    {
      name: 'the newest stop, lost',
      legs: [leg('s0', { status: 'cancelled' }), leg('s1', { status: 'unknown' })],
      replaced: [],
    },
    {
      name: "a target's lost leg with a newer version of the same target",
      legs: [leg('t0', { status: 'unknown' }), leg('t0v1'), leg('t1', { status: 'unknown' })],
      replaced: ['t0'],
    },
    {
      name: 'a lost close with a newer close',
      legs: [leg('c0', { status: 'unknown' }), leg('c1', { status: 'unknown' })],
      replaced: ['c0'],
    },
    { name: 'an entry, whatever else', legs: [leg('e0', { status: 'unknown' }), leg('e1')], replaced: [] },
    {
      name: 'an answered old stop (superseded, cancelled elsewhere)',
      legs: [leg('s0'), leg('s1')],
      replaced: [],
    },
  ])('$name', ({ legs, replaced }) => {
    expect(replacedInFlight(legs).map((l) => l.leg)).toEqual(replaced);
  });
});
