import { describe, expect, it } from 'vitest';
import { effectiveLeverage } from '../../../src/domain/leverage';

describe('effectiveLeverage', () => {
  it.each([
    // signal, account, market → effective, capped, by
    [null, 10, 125, 10, false, null],
    [20, 20, 125, 20, false, null],
    [5, 20, 125, 5, false, null],
    [50, 20, 125, 20, true, 'account'],
    [50, 75, 25, 25, true, 'market'],
    [null, 75, 25, 25, true, 'market'],
    [125, 125, 125, 125, false, null],
    [12.7, 20, 125, 12, false, null], // exchanges take whole numbers
    [30, 20, 20, 20, true, 'account'],
  ] as const)('signal %s, account %s, market %s → %s', (signal, account, market, expected, capped, by) => {
    const r = effectiveLeverage(
      signal,
      { marketType: 'futures', leverage: account },
      { maxLeverage: market },
    );
    expect(r).toMatchObject({ leverage: expected, capped, cappedBy: by });
  });

  it('is 1 on spot and reports nothing refused', () => {
    expect(effectiveLeverage(20, { marketType: 'spot', leverage: 10 }, { maxLeverage: 1 })).toEqual({
      leverage: 1,
      requested: 1,
      capped: false,
      cappedBy: null,
    });
  });
});
