import { describe, expect, it } from 'vitest';
import { chargeAtFill, feeAmountIn, feesInQuote, feesSettled, mergeFees, sameFees, scaleFees, unvaluedCurrencies, type FeeCharge } from '../../../src/domain/fees';

const LINK = { base: 'LINK', quote: 'USDT' };

describe('fees per currency', () => {
  it('values a fee at fill: the quote as itself, the coin at the fill price, a third currency not at all', () => {
    expect(chargeAtFill('USDT', 0.04, 100, LINK)).toEqual({ currency: 'USDT', amount: 0.04, quoteValue: 0.04 });
    expect(chargeAtFill('link', 0.0004, 100, LINK)).toEqual({ currency: 'link', amount: 0.0004, quoteValue: 0.04 });
    expect(chargeAtFill('BNB', 0.00006, 100, LINK)).toEqual({ currency: 'BNB', amount: 0.00006, quoteValue: null });
  });

  it('merges per currency; a part not valued yet never drops the value of the parts that are', () => {
    const merged = mergeFees(
      [{ currency: 'BNB', amount: 0.0001, quoteValue: 0.06 }],
      [{ currency: 'bnb', amount: 0.0002, quoteValue: 0.12 }],
      [{ currency: 'BNB', amount: 0.00005, quoteValue: null }],
      [{ currency: 'USDT', amount: 0, quoteValue: 0 }],
    );
    expect(merged).toEqual([
      { currency: 'BNB', amount: 0.0003, quoteValue: 0.18 },
      { currency: 'BNB', amount: 0.00005, quoteValue: null },
    ]);
    expect(feesInQuote(merged).toNumber()).toBe(0.18);
    expect(feeAmountIn(merged, 'bnb').toNumber()).toBe(0.00035);
    expect(unvaluedCurrencies(merged)).toEqual(['BNB']);
    expect(feesSettled(merged)).toBe(false);
    expect(feesSettled([])).toBe(false);
    expect(feesSettled(merged.slice(0, 1))).toBe(true);
  });

  it('a share of the fees scales amounts and values alike', () => {
    expect(scaleFees([{ currency: 'BNB', amount: 0.0003, quoteValue: 0.18 }, { currency: 'BNB', amount: 0.0001, quoteValue: null }], 0.5)).toEqual([
      { currency: 'BNB', amount: 0.00015, quoteValue: 0.09 },
      { currency: 'BNB', amount: 0.00005, quoteValue: null },
    ]);
  });
});

describe('the same fees', () => {
  it('whatever the order of charges or of their keys (jsonb gives keys back sorted), and 6.6e-5 is 0.000066', () => {
    const stored = JSON.parse('[{"amount":0.000066,"currency":"BNB","quoteValue":null},{"amount":0.04,"currency":"USDT","quoteValue":0.04}]') as FeeCharge[];
    expect(sameFees(stored, [{ currency: 'USDT', amount: 0.04, quoteValue: 0.04 }, { currency: 'BNB', amount: 6.6e-5, quoteValue: null }])).toBe(true);
    expect(sameFees(stored, [{ currency: 'USDT', amount: 0.04, quoteValue: 0.04 }, { currency: 'BNB', amount: 0.000066, quoteValue: 0.0396 }])).toBe(false);
  });
});
