import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyInstructionFor, followerOpenQuantity, pairOfMarket, symbolPasses } from '../../../src/domain/copy';

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
