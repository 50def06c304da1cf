import { describe, expect, it } from 'vitest';
import type { FeeCharge } from '../../../src/domain/fees';
import { positionPnl, realisedSoFar } from '../../../src/domain/pnl';

const usdt = (amount: number): FeeCharge[] => [{ currency: 'USDT', amount, quoteValue: amount }];

describe('positionPnl', () => {
  it('the issue example: long 2 at 100, 1 out at 105, 1 at 100, taker 0.04 % everywhere', () => {
    const pnl = positionPnl(
      'long',
      [{ quantity: 2, price: 100, fees: usdt(0.08) }],
      [
        { quantity: 1, price: 105, fees: usdt(0.042) },
        { quantity: 1, price: 100, fees: usdt(0.04) },
      ],
      1,
    );
    expect(pnl).toMatchObject({ realizedPnl: 4.838, fees: 0.162, averageExitPrice: 102.5, returnPct: 2.42 });
  });

  it('a short gains when the price falls; base-asset fees are valued at the fill price', () => {
    const pnl = positionPnl(
      'short',
      [{ quantity: 1, price: 200, fees: [{ currency: 'ETH', amount: 0.001, quoteValue: 0.2 }] }],
      [{ quantity: 1, price: 190, fees: usdt(0.1) }],
      10,
    );
    expect(pnl.fees).toBeCloseTo(0.3, 10);
    expect(pnl.realizedPnl).toBeCloseTo(9.7, 10);
    expect(pnl.returnPct).toBeCloseTo(48.5, 10);
  });

  it('a fee paid in BNB counts at its value at fill time, never as that many USDT; one not valued yet is left out and named', () => {
    // The case: 2 × 0.05 BNB at 600 is 60 USDT of fees, not 0.10 USDT.
    const bnb = (amount: number, quoteValue: number | null): FeeCharge[] => [{ currency: 'BNB', amount, quoteValue }];
    const valued = positionPnl('long', [{ quantity: 1, price: 3_000, fees: bnb(0.05, 30) }], [{ quantity: 1, price: 3_100, fees: bnb(0.05, 30) }], 1);
    expect(valued).toMatchObject({ fees: 60, realizedPnl: 40, unvaluedFees: [] });
    const pending = positionPnl('long', [{ quantity: 1, price: 3_000, fees: bnb(0.05, 30) }], [{ quantity: 1, price: 3_100, fees: bnb(0.05, null) }], 1);
    expect(pending).toMatchObject({ fees: 30, realizedPnl: 70, unvaluedFees: ['BNB'] });
  });
});

describe('contracts of more than one coin or less', () => {
  it('values a position in contracts at quantity × price × coins per contract; averages and fees stay as they are', () => {
    // 3 contracts of 0.01 BTC, long at 60,000, out at 61,000: 0.03 BTC gained 1,000 a coin = 30 USDT, less 1.2 of fees.
    const pnl = positionPnl('long', [{ quantity: 3, price: 60_000, fees: usdt(0.6) }], [{ quantity: 3, price: 61_000, fees: usdt(0.6) }], 10, 0.01);
    expect(pnl).toMatchObject({ entryQuantity: 3, averageEntryPrice: 60_000, averageExitPrice: 61_000, fees: 1.2, realizedPnl: 28.8 });
    // Margin of what was exited: 0.03 BTC × 60,000 ÷ 10 = 180; 28.8 of it is 16 %.
    expect(pnl.returnPct).toBe(16);
    // The same position in coins, one per contract, gives the same money.
    expect(positionPnl('long', [{ quantity: 0.03, price: 60_000, fees: usdt(0.6) }], [{ quantity: 0.03, price: 61_000, fees: usdt(0.6) }], 10).realizedPnl).toBe(28.8);
  });

  it('realises a take-profit of a short in contracts at its coins', () => {
    // 10 contracts of 0.1 ETH short at 3,000; 4 out at 2,900: 0.4 ETH × 100 = 40, less the exit fee and 40 % of the entry fee.
    expect(realisedSoFar('short', [{ quantity: 10, price: 3_000, fees: usdt(1) }], [{ quantity: 4, price: 2_900, fees: usdt(0.5) }], 0.1)).toBe(39.1);
  });
});

describe('realised so far on an open position', () => {
  it.each([
    // side, exits, expected: entry 0.2 at 50,000 with a 4 USDT fee
    ['long, half out at 52,000 (fee 2.08)', 'long', [{ quantity: 0.1, price: 52_000, fees: usdt(2.08) }], 195.92],
    ['short, a quarter out at 48,000 (fee 0.96)', 'short', [{ quantity: 0.05, price: 48_000, fees: usdt(0.96) }], 98.04],
    ['nothing out yet', 'long', [], 0],
  ] as const)('%s', (_label, side, exits, expected) => {
    const entries = [{ quantity: 0.2, price: 50_000, fees: usdt(4) }];
    expect(realisedSoFar(side, entries, exits)).toBeCloseTo(expected, 8);
  });
});
