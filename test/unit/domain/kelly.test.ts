import { describe, expect, it } from 'vitest';
import { kellyFraction, kellyShare, tradeStats } from '../../../src/domain/kelly';

describe('tradeStats', () => {
  it('computes win rate, average win and loss, and the Kelly fraction', () => {
    // 6 wins of 20, 4 losses of 10: W = 0.6, R = 2, f* = 0.6 − 0.4 / 2 = 0.4
    const s = tradeStats([20, -10, 20, 20, -10, 20, -10, 20, 20, -10]);
    expect(s).toMatchObject({ trades: 10, wins: 6, losses: 4, winRate: 0.6, avgWin: 20, avgLoss: 10 });
    expect(s.kellyFraction).toBeCloseTo(0.4, 12);
  });

  it('counts break-even trades as trades but not wins', () => {
    const s = tradeStats([10, 0, -10, 0]);
    expect(s).toMatchObject({ trades: 4, wins: 1, losses: 1, winRate: 0.25 });
    expect(s.kellyFraction).toBeCloseTo(0.25 - 0.75, 12);
  });

  it.each([
    [[], 0],
    [[5, 5, 5], 1], // no losses: f* = W
    [[-5, -5], -1], // no wins: no edge
  ])('edge cases %j → %s', (pnls, f) => {
    expect(tradeStats(pnls).kellyFraction).toBe(f);
  });

  it.each([
    [0.5, 1, 1, 0],
    [0.5, 2, 1, 0.25],
    [0.4, 3, 1, 0.2],
    [0.3, 1, 1, -0.4],
  ])('kellyFraction(W=%s, win=%s, loss=%s) = %s', (w, win, loss, f) => {
    expect(kellyFraction(w, win, loss)).toBeCloseTo(f, 12);
  });
});

describe('kellyShare', () => {
  it('treats wins vanishingly small against the losses as no edge instead of failing', () => {
    // Found by the sizing property test: avgWin / avgLoss underflows to 0 and W − (1 − W) / R to −∞.
    const pnls = [5e-324, -1e308, 5e-324, -1e308];
    expect(tradeStats(pnls).kellyFraction).toBe(-1);
    expect(kellyShare(pnls, { lookbackTrades: 4, fraction: 0.5, cap: 0.25 })).toMatchObject({ kind: 'no-edge' });
  });

  const params = { lookbackTrades: 4, fraction: 0.5, cap: 0.25 };
  it('uses only the last N trades', () => {
    // The old losses fall out of the window: last 4 are 3 wins of 20 and one loss of 10 → f* = 0.75 − 0.25/2.
    const r = kellyShare([-50, -50, -50, 20, 20, -10, 20], { ...params, cap: 1 });
    expect(r.kind).toBe('kelly');
    if (r.kind === 'kelly') expect(r.share).toBeCloseTo(0.625 * 0.5, 12);
  });
  it('caps the share', () => {
    const r = kellyShare([10, 10, 10, 10], params);
    expect(r).toMatchObject({ kind: 'kelly', share: 0.25 });
  });
  it('says when there are too few trades', () => {
    expect(kellyShare([10, -5, 10], params)).toEqual({ kind: 'too-few-trades', trades: 3 });
  });
  it('says when there is no edge', () => {
    expect(kellyShare([10, -10, 10, -10], params).kind).toBe('no-edge');
  });
});
