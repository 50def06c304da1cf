import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyPositionFigures, type CopyFill } from '../../../src/domain/copyPositions';
import { positionPnl } from '../../../src/domain/pnl';

const usdt = (amount: number) => [{ currency: 'USDT', amount, quoteValue: amount }];

const fill = (quantity: number, price: number, reduces: boolean): CopyFill => ({
  fill: { quantity, price, fees: usdt(Number((quantity * price * 0.0004).toFixed(8))) },
  reduces,
});

describe('copyPositionFigures', () => {
  it('counts contracts at their coins: 2 contracts of 0.01 BTC closed 1,000 higher gain 20 less fees', () => {
    const contracts = (quantity: number, price: number, reduces: boolean): CopyFill => ({ fill: { quantity, price, fees: usdt(0.5) }, reduces });
    const f = copyPositionFigures('long', [contracts(2, 60_000, false), contracts(2, 61_000, true)], 1, 0.01);
    expect(f).toMatchObject({ quantity: 0, flat: true, realizedPnl: 19, fees: 1 });
  });

  it('open and add: the average entry over both, nothing realised yet', () => {
    const f = copyPositionFigures('long', [fill(0.01, 50_000, false), fill(0.01, 52_000, false)], 1);
    expect(f).toMatchObject({ quantity: 0.02, entryQuantity: 0.02, averageEntryPrice: 51_000, exitQuantity: 0, realizedPnl: 0, fees: 0.408, returnPct: null, flat: false });
  });

  it('a partial reduce realises its share: exit fee and the same share of the entry fees', () => {
    const f = copyPositionFigures('long', [fill(0.01, 50_000, false), fill(0.01, 52_000, false), fill(0.01, 55_000, true)], 1);
    // (55 000 − 51 000) × 0.01 − 0.22 − 0.408 / 2
    expect(f).toMatchObject({ quantity: 0.01, exitQuantity: 0.01, realizedPnl: 39.576, fees: 0.628, flat: false });
  });

  it('closed: exit value − entry value − every fee; a short gains when the price falls', () => {
    const long = copyPositionFigures('long', [fill(0.01, 50_000, false), fill(0.01, 52_000, false), fill(0.01, 55_000, true), fill(0.01, 54_000, true)], 1);
    expect(long).toMatchObject({ quantity: 0, flat: true, realizedPnl: 69.156, fees: 0.844, averageExitPrice: 54_500 });
    const short = copyPositionFigures('short', [fill(1, 200, false), fill(1, 190, true)], 10);
    expect(short).toMatchObject({ flat: true, realizedPnl: 9.844, returnPct: 49.22 });
  });

  it('once flat, the figures are positionPnl of all the fills whatever their order', () => {
    const fills = fc.array(fc.record({ q: fc.integer({ min: 1, max: 1000 }), p: fc.integer({ min: 1, max: 100_000 }) }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fills, fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('long' as const, 'short' as const), (entries, exitPrice, side) => {
        const opens = entries.map((e) => fill(e.q / 1000, e.p, false));
        const total = entries.reduce((sum, e) => sum + e.q, 0) / 1000;
        const close = fill(total, exitPrice, true);
        const f = copyPositionFigures(side, [...opens, close], 1);
        const whole = positionPnl(side, opens.map((o) => o.fill), [close.fill], 1);
        expect(f.flat).toBe(true);
        expect(f.quantity).toBe(0);
        expect(f.realizedPnl).toBe(whole.realizedPnl);
        expect(f.fees).toBe(whole.fees);
      }),
    );
  });
});
