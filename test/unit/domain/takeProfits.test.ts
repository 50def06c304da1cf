import Big from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { breakEvenStopPrice, heldQuantity, splitRemainingTakeProfits, splitTakeProfits } from '../../../src/domain/takeProfits';
import { btcPerp } from './fixtures';

const market = btcPerp({ minNotional: 5, minAmount: 0.001 });

describe('splitTakeProfits', () => {
  // prettier-ignore
  it.each([
    ['equal parts', 2, [105, 110], null, [[0, 1], [1, 1]]],
    ['the leftover goes to the first targets', 0.01, [52_000, 54_000, 56_000], null, [[0, 0.004], [1, 0.003], [2, 0.003]]],
    ['weights', 0.1, [52_000, 54_000, 56_000], [50, 30, 20], [[0, 0.05], [1, 0.03], [2, 0.02]]],
    ['missing weights repeat the last', 0.1, [52_000, 54_000, 56_000, 58_000], [40, 20], [[0, 0.04], [1, 0.02], [2, 0.02], [3, 0.02]]],
    ['a zero weight skips its target', 0.1, [52_000, 54_000, 56_000], [1, 0, 1], [[0, 0.05], [2, 0.05]]],
    ['all-zero weights fall back to equal parts', 0.02, [52_000, 54_000], [0, 0], [[0, 0.01], [1, 0.01]]],
    ['no targets', 1, [], null, []],
  ] as const)('%s', (_label, qty, targets, weights, legs) => {
    const r = splitTakeProfits(qty, targets, btcPerp({ minNotional: 0 }), weights);
    expect(r.kind).toBe('split');
    if (r.kind === 'split') expect(r.legs.map((l) => [l.index, l.qty])).toEqual(legs);
  });

  it('parts below the minimum merge into the previous target', () => {
    // 0.0003 BTC per part is below the 0.001 minimum amount: 0.004 over 4 targets → 0.001 each passes,
    // but over 5 targets → 0.001/0.001/0.001/0.001/0 → the empty last part joins the fourth.
    const r = splitTakeProfits(0.004, [52_000, 53_000, 54_000, 55_000, 56_000], market);
    expect(r).toMatchObject({ kind: 'split', merged: true });
    if (r.kind === 'split')
      expect(r.legs.map((l) => [l.index, l.qty])).toEqual([
        [0, 0.001],
        [1, 0.001],
        [2, 0.001],
        [3, 0.001],
      ]);
  });

  it('merging cascades toward the first target on minimum notional', () => {
    // Min notional 100: 0.001 per target is ~53 USDT. The third joins the second (0.002, 106 USDT, accepted);
    // the first has no previous target and joins the next.
    const r = splitTakeProfits(0.003, [52_000, 53_000, 54_000], btcPerp());
    expect(r).toEqual({ kind: 'split', merged: true, legs: [{ index: 1, price: 53_000, qty: 0.003 }] });
  });

  it('a filled quantity below the minimum at every target is a skip', () => {
    expect(splitTakeProfits(0.001, [52_000, 54_000], btcPerp())).toEqual({
      kind: 'skipped',
      reason: 'below-min-notional',
    });
  });

  it('never gives more than the filled quantity, and loses less than a step', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 }),
        fc.option(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { maxLength: 6 }), { nil: null }),
        (qty, targets, weights) => {
          const r = splitTakeProfits(qty, targets, btcPerp({ minNotional: 1 }), weights);
          if (r.kind !== 'split') return;
          const sum = r.legs.reduce((a, l) => a.plus(l.qty), new Big(0));
          expect(sum.lte(qty)).toBe(true);
          expect(new Big(qty).minus(sum).lt(0.001)).toBe(true);
          for (const l of r.legs) expect(new Big(l.qty).times(l.price).gte(1)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('breakEvenStopPrice', () => {
  it.each([
    ['long', 100, 0.01, 0, 100],
    ['short', 100, 0.01, 0, 100],
    // fees: 100 × 1.0004 / 0.9996 = 100.080032… → up for a long
    ['long', 100, 0.01, 0.0004, 100.09],
    // 100 × 0.9996 / 1.0004 = 99.92003… → down for a short
    ['short', 100, 0.01, 0.0004, 99.92],
    ['long', 50_000.05, 0.1, 0, 50_000.1],
    ['short', 50_000.05, 0.1, 0, 50_000],
  ] as const)('%s at %s, step %s, fee %s → %s', (side, entry, step, fee, expected) => {
    expect(breakEvenStopPrice(side, entry, step, fee)).toBe(expected);
  });
});

describe('heldQuantity', () => {
  const fill = (filledQuantity: number, fee: number, feeCurrency: string) => ({ filledQuantity, fees: [{ currency: feeCurrency, amount: fee, quoteValue: null }] });

  it('deducts fees charged in the base asset (any case), not those in the quote or another coin', () => {
    const entries = [fill(2, 0.0008, 'LINK'), fill(1, 0.04, 'USDT'), fill(1, 0.0001, 'bnb'), fill(0.5, 0.0002, 'link')];
    expect(heldQuantity(entries, 0, 'LINK')).toBe(4.499);
  });

  it('subtracts what was exited, exactly in decimals, and never goes below 0', () => {
    expect(heldQuantity([fill(0.3, 0.0001, 'BTC')], 0.1, 'BTC')).toBe(0.1999);
    expect(heldQuantity([fill(1, 0.001, 'BTC')], 1, 'BTC')).toBe(0);
  });

  it('without a base asset (futures) nothing is deducted', () => {
    expect(heldQuantity([fill(2, 0.0008, 'LINK')], 0.5, null)).toBe(1.5);
  });

  it('the take-profit split of what is held never exceeds it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 100 }), (units, feeBps) => {
        const filled = units / 1000;
        const held = heldQuantity([fill(filled, (filled * feeBps) / 10_000, 'BTC')], 0, 'BTC');
        const r = splitTakeProfits(held, [52_000, 54_000], btcPerp({ minNotional: 0 }));
        if (r.kind !== 'split') return;
        const total = r.legs.reduce((sum, leg) => sum.plus(leg.qty), new Big(0));
        expect(total.lte(held)).toBe(true);
      }),
    );
  });
});

describe('splitRemainingTakeProfits', () => {
  const free = btcPerp({ minNotional: 0 });
  const legsOf = (r: ReturnType<typeof splitRemainingTakeProfits>) => (r.kind === 'split' ? r.legs.map((l) => [l.index, l.qty]) : r);

  // prettier-ignore
  it.each([
    ['nothing done: the same as splitTakeProfits', 2, [105, 110], [], null, [[0, 1], [1, 1]]],
    ['a target reached gets nothing; the rest keep their indexes', 0.3, [52_000, 54_000, 56_000], [0], null, [[1, 0.15], [2, 0.15]]],
    ['open targets keep their weights', 0.1, [52_000, 54_000, 56_000], [0], [50, 30, 20], [[1, 0.06], [2, 0.04]]],
    ['open targets all at weight 0 fall back to equal parts among them', 0.1, [52_000, 54_000, 56_000], [0], [1, 0, 0], [[1, 0.05], [2, 0.05]]],
    ['every target reached: no legs', 1, [105, 110], [0, 1], null, []],
  ] as const)('%s', (_label, qty, targets, done, weights, legs) => {
    expect(legsOf(splitRemainingTakeProfits(qty, targets, new Set(done), free, weights))).toEqual(legs);
  });

  it('parts are on the step, sum to the stepped quantity, and never go to a target reached', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        (units, reached) => {
          const qty = units / 1000;
          const targets = reached.map((_, i) => 50_000 + i * 1000);
          const done = new Set(reached.flatMap((r, i) => (r ? [i] : [])));
          const r = splitRemainingTakeProfits(qty, targets, done, free);
          if (r.kind !== 'split') return;
          for (const leg of r.legs) {
            expect(done.has(leg.index)).toBe(false);
            expect(new Big(leg.qty).mod(0.001).eq(0)).toBe(true);
          }
          const total = r.legs.reduce((sum, leg) => sum.plus(leg.qty), new Big(0));
          expect(total.eq(done.size === targets.length ? 0 : new Big(qty).round(3, Big.roundDown))).toBe(true);
        },
      ),
    );
  });
});
