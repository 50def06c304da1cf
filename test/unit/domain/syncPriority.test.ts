import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { levelReached, planSyncPass, routineDue, urgency, urgentWithoutPrice, type SyncSnapshot, type WatchedOrder } from '../../../src/domain/syncPriority';

const order = (over: Partial<WatchedOrder> = {}): WatchedOrder => ({
  signalId: 's1',
  symbol: 'BTC/USDT:USDT',
  side: 'buy',
  type: 'limit',
  status: 'open',
  level: 100,
  ...over,
});

const snapshot = (over: Partial<SyncSnapshot> = {}): SyncSnapshot => ({
  accountId: 'a',
  marketType: 'futures',
  openPositions: [],
  liveOrders: [],
  ...over,
});

const at = (price: number | null) => () => price;

describe('levelReached', () => {
  it.each([
    // type, side, level, price, reached
    ['limit', 'buy', 100, 101, false],
    ['limit', 'buy', 100, 100, true],
    ['limit', 'buy', 100, 99, true],
    ['limit', 'sell', 100, 99, false],
    ['limit', 'sell', 100, 100.5, true],
    ['take-profit', 'sell', 110, 109, false],
    ['take-profit', 'sell', 110, 111, true],
    ['take-profit', 'buy', 90, 91, false],
    ['take-profit', 'buy', 90, 89, true],
    ['stop-loss', 'sell', 95, 96, false],
    ['stop-loss', 'sell', 95, 94, true],
    ['stop-loss', 'buy', 105, 104, false],
    ['stop-loss', 'buy', 105, 106, true],
  ] as const)('%s %s at %d, price %d → %s', (type, side, level, price, reached) => {
    expect(levelReached(order({ type, side, level }), price)).toBe(reached);
  });

  it('an unknown price or a market order counts as reached (unknown is not safe)', () => {
    expect(levelReached(order(), null)).toBe(true);
    expect(levelReached(order({ type: 'market', level: null }), 1_000)).toBe(true);
  });
});

describe('urgency', () => {
  it('an order whose answer is unknown, or an intent not sent yet, is urgent whatever the price', () => {
    expect(urgency(snapshot({ liveOrders: [order({ status: 'unknown' })] }), at(1_000))).toBe('answer-unknown');
    expect(urgency(snapshot({ liveOrders: [order({ status: 'intent' })] }), at(1_000))).toBe('answer-unknown');
  });

  it('a futures position with no live stop of its own signal is urgent', () => {
    const position = { signalId: 's1', symbol: 'BTC/USDT:USDT', side: 'long' as const, stopLoss: 95 };
    const stopOfAnother = order({ signalId: 's2', type: 'stop-loss', side: 'sell', level: 95 });
    expect(urgency(snapshot({ openPositions: [position], liveOrders: [stopOfAnother] }), at(100))).toBe('no-live-stop');
    const own = order({ type: 'stop-loss', side: 'sell', level: 95 });
    expect(urgency(snapshot({ openPositions: [position], liveOrders: [own] }), at(100))).toBeNull();
  });

  it('an entry filled with no position written for it is urgent', () => {
    expect(urgency(snapshot({ unbookedFill: true }), at(100))).toBe('unbooked-fill');
  });

  it('a spot position is urgent when the price reached the stop the bot sells at', () => {
    const position = { signalId: 's1', symbol: 'BTC/USDT', side: 'long' as const, stopLoss: 95 };
    expect(urgency(snapshot({ marketType: 'spot', openPositions: [position] }), at(96))).toBeNull();
    expect(urgency(snapshot({ marketType: 'spot', openPositions: [position] }), at(95))).toBe('spot-stop-reached');
    expect(urgency(snapshot({ marketType: 'spot', openPositions: [position] }), at(null))).toBe('spot-stop-reached');
  });

  it('a resting entry, stop or target the price reached is urgent; one it did not reach waits', () => {
    expect(urgency(snapshot({ liveOrders: [order()] }), at(101))).toBeNull();
    expect(urgency(snapshot({ liveOrders: [order()] }), at(99.5))).toBe('level-reached');
  });
});

describe('planSyncPass', () => {
  it('puts the urgent accounts first and the others longest unvisited first, never visited before all', () => {
    const snapshots = [
      snapshot({ accountId: 'calm-recent', liveOrders: [order()] }),
      snapshot({ accountId: 'reached', liveOrders: [order({ level: 102 })] }),
      snapshot({ accountId: 'calm-never', liveOrders: [order()] }),
      snapshot({ accountId: 'calm-old', liveOrders: [order()] }),
    ];
    const visited = new Map([
      ['calm-recent', 5_000],
      ['calm-old', 1_000],
      ['reached', 9_000],
    ]);
    expect(planSyncPass(snapshots, () => at(101), visited)).toEqual({
      urgent: ['reached'],
      routine: ['calm-never', 'calm-old', 'calm-recent'],
    });
  });

  it('makes an account whose last visit could not sync everything urgent, whatever the prices say', () => {
    const snapshots = [
      snapshot({ accountId: 'calm', liveOrders: [order()] }),
      snapshot({ accountId: 'lookup-failed', liveOrders: [order()] }),
    ];
    expect(planSyncPass(snapshots, () => at(101), new Map(), new Set(['lookup-failed', 'gone']))).toEqual({
      urgent: ['lookup-failed'],
      routine: ['calm'],
    });
  });

  it('visits every account exactly once per pass, in one list or the other (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ level: fc.integer({ min: 1, max: 200 }), status: fc.constantFrom('open' as const, 'unknown' as const) }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 200 }),
        (orders, price) => {
          const snapshots = orders.map((o, i) => snapshot({ accountId: `a${i}`, liveOrders: [order(o)] }));
          const pass = planSyncPass(snapshots, () => at(price), new Map());
          expect([...pass.urgent, ...pass.routine].sort()).toEqual(snapshots.map((s) => s.accountId).sort());
          for (const id of pass.routine) {
            const o = orders[Number(id.slice(1))]!;
            expect(o.status === 'open' && o.level < price).toBe(true);
          }
        },
      ),
    );
  });
});

describe('urgentWithoutPrice: what is urgent whatever the price', () => {
  const position = { signalId: 's1', symbol: 'BTC/USDT:USDT', side: 'long' as const, stopLoss: 90 };
  it.each([
    ['an order whose answer is unknown', snapshot({ liveOrders: [order({ status: 'unknown' })] }), true],
    ['a fill not booked', snapshot({ liveOrders: [order()], unbookedFill: true }), true],
    ['a futures position with no live stop', snapshot({ openPositions: [position] }), true],
    ['a futures position with its stop', snapshot({ openPositions: [position], liveOrders: [order({ type: 'stop-loss', side: 'sell', level: 90 })] }), false],
    ['a resting limit entry (its price decides)', snapshot({ liveOrders: [order()] }), false],
    ['a spot position (its price decides)', snapshot({ marketType: 'spot', openPositions: [position] }), false],
  ])('%s: %s', (_name, s, expected) => {
    expect(urgentWithoutPrice(s)).toBe(expected);
    // Never more than the full rule says, whatever the price.
    if (expected) expect(urgency(s, () => 1_000_000)).not.toBeNull();
  });
});

describe('routineDue', () => {
  const visited = new Map([
    ['recent', 100_000],
    ['old', 10_000],
  ]);
  // Streams open since 50 s, except the polled account's (none) and the late one's (opened at 150 s).
  const since = (id: string) => (id === 'polled' ? null : id === 'late' ? 150_000 : 50_000);

  it('an account without an open stream takes every routine turn the budget allows', () => {
    expect(routineDue('polled', 100_001, new Map([['polled', 100_000]]), since, 300_000)).toBe(true);
  });

  it('an account whose stream is open is reconciled every reconcileMs, and at once when never visited', () => {
    expect(routineDue('recent', 399_999, visited, since, 300_000)).toBe(false);
    expect(routineDue('recent', 400_000, visited, since, 300_000)).toBe(true);
    expect(routineDue('old', 310_000, visited, since, 300_000)).toBe(true);
    expect(routineDue('never', 0, visited, since, 300_000)).toBe(true);
  });

  it('a visit that started before the stream opened does not count: what came between was heard by no one', () => {
    expect(routineDue('late', 151_000, new Map([['late', 149_000]]), since, 300_000)).toBe(true);
    expect(routineDue('late', 152_000, new Map([['late', 151_000]]), since, 300_000)).toBe(false);
  });
});
