import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closesOfEndedMaster, copyInstructionFor, followerOpenQuantity, groupFillsByOrder, pairOfMarket, symbolPasses } from '../../../src/domain/copy';

describe('copy trading (pure)', () => {
  it('sizes opens per mode', () => {
    const equity = { follower: 5_000, master: 10_000 };
    expect(followerOpenQuantity('mirror', 7, 0.01, equity)).toBe(0.01);
    expect(followerOpenQuantity('multiplier', 3, 0.01, equity)).toBeCloseTo(0.03, 12);
    expect(followerOpenQuantity('fixed', 0.5, 0.01, equity)).toBe(0.5);
    expect(followerOpenQuantity('proportional', 1, 0.01, equity)).toBeCloseTo(0.005, 12);
    expect(followerOpenQuantity('proportional', 1, 0.01, { follower: null, master: 10_000 })).toBeNull();
    expect(followerOpenQuantity('proportional', 1, 0.01, { follower: 5_000, master: 0 })).toBeNull();
  });

  it('proportional never exceeds the master quantity scaled by the equity ratio', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.double({ min: 1, max: 1e7, noNaN: true }), fc.double({ min: 1, max: 1e7, noNaN: true }), (qty, follower, master) => {
        const out = followerOpenQuantity('proportional', 1, qty, { follower, master })!;
        expect(out).toBeGreaterThan(0);
        expect(Math.abs(out - (qty * follower) / master)).toBeLessThanOrEqual(1e-9 * Math.max(1, out));
      }),
    );
  });

  it('filters by coin or pair, block first', () => {
    expect(symbolPasses('BTC/USDT', [], [])).toBe(true);
    expect(symbolPasses('BTC/USDT', [], ['BTC'])).toBe(false);
    expect(symbolPasses('BTC/USDT', ['ETH'], [])).toBe(false);
    expect(symbolPasses('ETH/USDT', ['ETH'], [])).toBe(true);
    expect(symbolPasses('ETH/USDT', ['ETH/USDT'], ['ETH'])).toBe(false);
    expect(pairOfMarket('BTC/USDT:USDT')).toBe('BTC/USDT');
    expect(pairOfMarket('BTC/USDT')).toBe('BTC/USDT');
  });

  it('finds the instruction of one follower, nothing for others or other shapes', () => {
    const copy = { followers: [{ accountId: 'a', quantity: 1, reduceFraction: null, reduceOnly: false, close: false, dryRun: false }] };
    expect(copyInstructionFor(copy, 'a')?.quantity).toBe(1);
    expect(copyInstructionFor(copy, 'b')).toBeNull();
    expect(copyInstructionFor(null, 'a')).toBeNull();
    expect(copyInstructionFor({ followers: 'x' }, 'a')).toBeNull();
  });
});

describe('groupFillsByOrder', () => {
  const fill = (id: string, orderId: string, side: 'buy' | 'sell', quantity: number, price: number) => ({ id, orderId, side, quantity, price, timestamp: Number(id) });

  it("groups consecutive fills of one order, summing the quantity at the average price", () => {
    const groups = groupFillsByOrder([fill('1', 'A', 'buy', 0.004, 100), fill('2', 'A', 'buy', 0.006, 110), fill('3', 'B', 'sell', 0.01, 120), fill('4', 'A', 'buy', 0.001, 100)]);
    expect(groups.map((g) => [g.orderId, g.side, g.quantity, g.fills.length, g.first.id, g.last.id])).toEqual([
      ['A', 'buy', 0.01, 2, '1', '2'],
      ['B', 'sell', 0.01, 1, '3', '3'],
      // Another order's fill came between: its own copy, in time order.
      ['A', 'buy', 0.001, 1, '4', '4'],
    ]);
    expect(groups[0]!.price).toBeCloseTo(106, 9);
    expect(groups[0]!.timestamp).toBe(1);
  });

  it('never groups fills without an order id', () => {
    expect(groupFillsByOrder([fill('1', '', 'buy', 1, 1), fill('2', '', 'buy', 1, 1)])).toHaveLength(2);
  });
});

describe('closesOfEndedMaster', () => {
  it('one close per pair and side, each follower closing exactly what it holds from the master', () => {
    const closes = closesOfEndedMaster('m', 7, 'k', [
      { accountId: 'a', symbol: 'BTC/USDT:USDT', side: 'long', quantity: 0.01, price: 100 },
      { accountId: 'b', symbol: 'BTC/USDT:USDT', side: 'long', quantity: 0.03, price: 200 },
      { accountId: 'a', symbol: 'ETH/USDT:USDT', side: 'short', quantity: 1, price: 10 },
      { accountId: 'c', symbol: 'ETH/USDT:USDT', side: 'short', quantity: 0, price: 10 },
    ]);
    expect(closes.map((c) => [c.sourceRef, c.pair, c.side, c.copy.followers.map((f) => [f.accountId, f.quantity, f.reduceOnly, f.close])])).toEqual([
      ['m:ended:k:BTC/USDT:long', 'BTC/USDT', 'long', [['a', 0.01, true, false], ['b', 0.03, true, false]]],
      ['m:ended:k:ETH/USDT:short', 'ETH/USDT', 'short', [['a', 1, true, false]]],
    ]);
    expect(closes[0]!.price).toBeCloseTo(175, 9);
    expect(closes[0]!.copy.mastershipSince).toBe(7);
  });
});
