import Big from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitEntries } from '../../../src/domain/entries';
import { btcPerp } from './fixtures';

const market = btcPerp(); // step 0.001, min 0.001 BTC and 100 USDT

describe('splitEntries', () => {
  it('a market entry is one market leg', () => {
    expect(splitEntries(0.01, 'market', [], market)).toEqual({
      kind: 'split',
      legs: [{ index: 0, type: 'market', price: null, qty: 0.01 }],
      qty: 0.01,
      merged: false,
    });
  });

  // prettier-ignore
  it.each([
    ['equal parts', 0.03, [50_000, 49_500, 49_000], [[0, 50_000, 0.01], [1, 49_500, 0.01], [2, 49_000, 0.01]]],
    ['leftover steps go to the first legs', 0.011, [50_000, 49_500, 49_000], [[0, 50_000, 0.004], [1, 49_500, 0.004], [2, 49_000, 0.003]]],
    ['one entry', 0.007, [50_000], [[0, 50_000, 0.007]]],
    // 0.004 in three parts: 0.002 / 0.001 / 0.001 → the two 50-USDT parts join the previous leg
    ['parts below the minimum notional merge into the previous leg', 0.004, [50_000, 49_500, 49_000], [[0, 50_000, 0.004]]],
    ['only the small part merges', 0.007, [50_000, 49_500, 30_000], [[0, 50_000, 0.003], [1, 49_500, 0.004]]],
  ] as const)('%s', (_label, qty, prices, legs) => {
    const r = splitEntries(qty, 'limit', prices, market);
    expect(r.kind).toBe('split');
    if (r.kind !== 'split') return;
    expect(r.legs.map((l) => [l.index, l.price, l.qty])).toEqual(legs);
    expect(r.merged).toBe(legs.length < prices.length);
    expect(r.legs.every((l) => l.type === 'limit')).toBe(true);
  });

  it('the first leg joins the next when it alone is small', () => {
    // Minimum amount 0.003: parts 0.003 / 0.002 → the second (small) joins the first.
    const r = splitEntries(0.005, 'limit', [100, 101], btcPerp({ minAmount: 0.003, minNotional: 0 }));
    expect(r).toMatchObject({ kind: 'split', legs: [{ index: 0, qty: 0.005 }] });
  });

  it('a total below the minimum at every price is a skip', () => {
    expect(splitEntries(0.001, 'limit', [50_000, 49_000], market)).toEqual({
      kind: 'skipped',
      reason: 'below-min-notional',
    });
    expect(splitEntries(0, 'market', [], market)).toEqual({ kind: 'skipped', reason: 'below-min-notional' });
  });

  it('parts always sum to the stepped total', () => {
    for (const qty of [0.003, 0.01, 0.017, 0.1234, 1.001]) {
      const r = splitEntries(qty, 'limit', [50_000, 49_900, 49_800, 49_700], market);
      if (r.kind !== 'split') continue;
      const sum = r.legs.reduce((a, l) => a + Math.round(l.qty * 1000), 0);
      expect(sum).toBe(Math.floor(qty * 1000 + 1e-9));
    }
  });

  it('trims the total when merging pushes the legs past a notional bound', () => {
    // Min notional 130: 0.005 over [40 000, 70 000] is 0.003 (120, refused) and 0.002 (140); the first joins
    // the next → 0.005 at 70 000 = 350, past a 300 bound → trimmed to 0.004 → 0.004 at 70 000 = 280.
    const m = btcPerp({ minNotional: 130 });
    const r = splitEntries(0.005, 'limit', [40_000, 70_000], m, { maxNotional: 300 });
    expect(r).toEqual({
      kind: 'split',
      qty: 0.004,
      merged: true,
      legs: [{ index: 1, type: 'limit', price: 70_000, qty: 0.004 }],
    });
    expect(splitEntries(0.005, 'limit', [40_000, 70_000], m)).toMatchObject({ kind: 'split', qty: 0.005 });
    expect(splitEntries(0.005, 'limit', [40_000, 70_000], m, { maxNotional: 100 })).toEqual({
      kind: 'skipped',
      reason: 'below-min-notional',
    });
  });

  it('trims to keep the loss at the stop within the risked amount', () => {
    // Sized at the mean 49 500 with the stop at 48 000: 0.004 × 1500 = 6 risked. Split, the first part
    // (0.002 at 49 000 = 98 USDT) joins 50 000 → loss 0.004 × 2000 = 8 → trimmed to 0.003, one leg.
    const r = splitEntries(0.004, 'limit', [49_000, 50_000], market, {
      maxLossAtStop: { stopLoss: 48_000, maxLoss: 6 },
    });
    expect(r).toMatchObject({ kind: 'split', qty: 0.003, legs: [{ index: 0, price: 49_000, qty: 0.003 }] });
  });

  it('legs never exceed the bound and always meet the minimum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 1_000, max: 100_000 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom(0, 5, 100, 300),
        fc.option(fc.integer({ min: 10, max: 20_000 }), { nil: null }),
        (steps, prices, minNotional, bound) => {
          const m = btcPerp({ minNotional });
          const sorted = [...prices].sort((a, b) => a - b);
          const r = splitEntries(
            steps / 1000,
            'limit',
            sorted,
            m,
            bound === null ? {} : { maxNotional: bound },
          );
          if (r.kind !== 'split') return;
          const value = r.legs.reduce((a, l) => a.plus(new Big(l.qty).times(l.price ?? 0)), new Big(0));
          if (bound !== null) expect(value.lte(bound)).toBe(true);
          expect(r.legs.reduce((a, l) => a.plus(l.qty), new Big(0)).eq(r.qty)).toBe(true);
          expect(r.qty).toBeLessThanOrEqual(steps / 1000);
          for (const l of r.legs) expect(new Big(l.qty).times(l.price ?? 0).gte(minNotional)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
