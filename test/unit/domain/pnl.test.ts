import { describe, expect, it } from 'vitest';
import { positionPnl, realisedSoFar } from '../../../src/domain/pnl';

describe('positionPnl', () => {
  it('the issue example: long 2 at 100, 1 out at 105, 1 at 100, taker 0.04 % everywhere', () => {
    const pnl = positionPnl(
      'long',
      [{ quantity: 2, price: 100, fee: 0.08, feeCurrency: 'USDT' }],
      [
        { quantity: 1, price: 105, fee: 0.042, feeCurrency: 'USDT' },
        { quantity: 1, price: 100, fee: 0.04, feeCurrency: 'USDT' },
      ],
      'LINK',
      1,
    );
    expect(pnl).toMatchObject({ realizedPnl: 4.838, fees: 0.162, averageExitPrice: 102.5, returnPct: 2.42 });
  });

  it('a short gains when the price falls; base-asset fees are valued at the fill price', () => {
    const pnl = positionPnl(
      'short',
      [{ quantity: 1, price: 200, fee: 0.001, feeCurrency: 'ETH' }],
      [{ quantity: 1, price: 190, fee: 0.1, feeCurrency: 'USDT' }],
      'ETH',
      10,
    );
    expect(pnl.fees).toBeCloseTo(0.3, 10);
    expect(pnl.realizedPnl).toBeCloseTo(9.7, 10);
    expect(pnl.returnPct).toBeCloseTo(48.5, 10);
  });
});

describe('realised so far on an open position', () => {
  it.each([
    // side, exits, expected: entry 0.2 at 50,000 with a 4 USDT fee
    ['long, half out at 52,000 (fee 2.08)', 'long', [{ quantity: 0.1, price: 52_000, fee: 2.08, feeCurrency: 'USDT' }], 195.92],
    ['short, a quarter out at 48,000 (fee 0.96)', 'short', [{ quantity: 0.05, price: 48_000, fee: 0.96, feeCurrency: 'USDT' }], 98.04],
    ['nothing out yet', 'long', [], 0],
  ] as const)('%s', (_label, side, exits, expected) => {
    const entries = [{ quantity: 0.2, price: 50_000, fee: 4, feeCurrency: 'USDT' }];
    expect(realisedSoFar(side, entries, exits, 'BTC')).toBeCloseTo(expected, 8);
  });
});
