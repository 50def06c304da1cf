import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { positionsSoldOutside } from '../../../src/domain/spotHoldings';

const p = (id: string, held: number, tolerance = 0.01) => ({ id, held, tolerance });

describe('positionsSoldOutside', () => {
  it.each([
    ['the balance covers the position', [p('a', 1.9992)], 1.9992, []],
    ['fee rounding within one step is not a sale', [p('a', 1.9992)], 1.99, []],
    ['the member holds more of the coin', [p('a', 1.9992)], 7, []],
    ['clearly below: sold', [p('a', 1.9992)], 0.0092, ['a']],
    ['nothing left at all', [p('a', 2)], 0, ['a']],
    ['the oldest keeps the coin first: the newest was sold', [p('old', 2), p('new', 2)], 3, ['new']],
    ['short of the oldest: the newer ones are sold too', [p('old', 2), p('new', 2)], 1, ['old', 'new']],
    ['dust is not judged', [p('a', 0.005), p('b', 1)], 1, []],
  ] as const)('%s', (_label, positions, balance, sold) => {
    expect(positionsSoldOutside(positions, balance)).toEqual(sold);
  });

  it('never closes anything while the balance covers every position (to within its tolerance)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100_000 }), { maxLength: 6 }), fc.integer({ min: 0, max: 100_000 }), (held, extra) => {
        const positions = held.map((units, i) => p(`p${i}`, units / 1000));
        const total = held.reduce((sum, units) => sum + units, 0);
        expect(positionsSoldOutside(positions, (total + extra) / 1000)).toEqual([]);
      }),
    );
  });

  it('a balance short of the total by more than the tolerances always names a position', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 100, max: 100_000 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 100_000 }), (held, taken) => {
        const positions = held.map((units, i) => p(`p${i}`, units / 1000));
        const total = held.reduce((sum, units) => sum + units, 0);
        const shortfall = Math.min(total, 11 * held.length + taken);
        expect(positionsSoldOutside(positions, (total - shortfall) / 1000).length).toBeGreaterThan(0);
      }),
    );
  });
});
