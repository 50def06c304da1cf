import { describe, expect, it } from 'vitest';
import { toAssetBalances } from '../../../src/exchange/ccxt/orderState';

describe("toAssetBalances: ccxt's unified balance as the port's asset balances", () => {
  it('maps free and used per currency and skips the summary keys and empty assets', () => {
    const balances = toAssetBalances({
      info: { balances: [] },
      timestamp: 1,
      datetime: '1970-01-01T00:00:00.001Z',
      free: { USDT: 900, LINK: 1.5, BNB: 0 },
      used: { USDT: 100, LINK: 0.5, BNB: 0 },
      total: { USDT: 1000, LINK: 2, BNB: 0 },
      USDT: { free: 900, used: 100, total: 1000 },
      LINK: { free: 1.5, used: 0.5, total: 2 },
      BNB: { free: 0, used: 0, total: 0 },
    });
    expect([...balances]).toEqual([
      ['USDT', { free: 900, used: 100 }],
      ['LINK', { free: 1.5, used: 0.5 }],
    ]);
  });

  it('derives a missing free or used from the total, and reads numeric strings', () => {
    const balances = toAssetBalances({
      A: { free: '3', total: '5' },
      B: { used: 2, total: 2 },
      C: { total: 4 },
      D: { free: undefined, used: undefined, total: undefined },
      E: 'not an entry',
    });
    expect(Object.fromEntries(balances)).toEqual({ A: { free: 3, used: 2 }, B: { free: 0, used: 2 }, C: { free: 4, used: 0 } });
  });
});
