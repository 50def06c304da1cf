import { describe, expect, it } from 'vitest';
import { closeCause, targetFill } from '../../../src/domain/lifecycle/feedFigures';

const leg = (name: string, filledQuantity: number, averagePrice: number | null, price: number | null = null) => ({ leg: name, filledQuantity, averagePrice, price });

describe('feed figures', () => {
  it("a target's fill sums every version of its leg, weighted by price; nothing filled is no fill", () => {
    expect(targetFill([leg('t0', 1, 105), leg('t0v1', 3, 107), leg('t1', 2, 110), leg('s0', 4, 95)], 0)).toEqual({ quantity: 4, price: 106.5 });
    expect(targetFill([leg('t0', 0, null, 105)], 0)).toBeNull();
  });

  it('a stop hit after a target at or past the entry (plus fees) is a break-even exit; the signal\'s own stop is a stop-loss', () => {
    const long = { side: 'long' as const, averageEntryPrice: 100, takeProfitsHit: 1 };
    // Break-even stops as the bot places them: entry plus fees (0.05 % futures, 0.1 % and 0.2 % spot).
    for (const stop of [100.11, 100.21, 100.41]) expect(closeCause('stop-loss', { ...long, stopLoss: stop })).toBe('break-even');
    expect(closeCause('stop-loss', { ...long, stopLoss: 95 })).toBe('stop-loss');
    expect(closeCause('stop-loss', { ...long, stopLoss: 100.2, takeProfitsHit: 0 })).toBe('stop-loss');
    const short = { side: 'short' as const, averageEntryPrice: 100, takeProfitsHit: 2 };
    expect(closeCause('stop-loss', { ...short, stopLoss: 99.79 })).toBe('break-even');
    expect(closeCause('stop-loss', { ...short, stopLoss: 104 })).toBe('stop-loss');
    expect(closeCause('external', { ...long, stopLoss: 95 })).toBe('manual');
    expect(closeCause('panic', { ...long, stopLoss: 95 })).toBe('panic');
  });
});
