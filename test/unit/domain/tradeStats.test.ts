import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tradeStats } from '../../../src/domain/tradeStats';

describe('trade statistics', () => {
  it('counts, win rate, profit factor, averages, best, worst and the drawdown of a worked example', () => {
    // Running total: 10, 4, -2, 18, 13 — peak 10 then a fall to -2 (-12); peak 18 then 13 (-5).
    const stats = tradeStats([10, -6, -6, 20, -5]);
    expect(stats).toEqual({
      trades: 5,
      wins: 2,
      losses: 3,
      winRate: 0.4,
      profitFactor: 30 / 17,
      averageWin: 15,
      averageLoss: -17 / 3,
      best: 20,
      worst: -6,
      maxDrawdown: -12,
    });
  });

  it('no trades, and no losses: nothing made up', () => {
    expect(tradeStats([])).toMatchObject({ trades: 0, winRate: null, profitFactor: null, best: null, worst: null, maxDrawdown: 0 });
    expect(tradeStats([5, 7])).toMatchObject({ profitFactor: null, averageLoss: null, maxDrawdown: 0, winRate: 1 });
  });

  it('the drawdown never exceeds the sum of the losses, and is 0 when every trade wins', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000, max: 1_000 }), { maxLength: 50 }), (pnls) => {
        const stats = tradeStats(pnls);
        const losses = pnls.filter((p) => p < 0).reduce((a, b) => a + b, 0);
        expect(stats.maxDrawdown).toBeLessThanOrEqual(0);
        expect(stats.maxDrawdown).toBeGreaterThanOrEqual(losses);
        expect(stats.wins + stats.losses).toBeLessThanOrEqual(stats.trades);
      }),
    );
  });
});
