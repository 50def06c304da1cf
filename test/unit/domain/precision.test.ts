import Big from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ceilToStep,
  floorToStep,
  reportAmount,
  roundToStep,
  stepDecimals,
} from '../../../src/domain/precision';

describe('floorToStep', () => {
  it.each([
    [0.008000000001, 0.001, 0.008],
    [0.0089999, 0.001, 0.008],
    [0.3, 0.1, 0.3], // 0.3 / 0.1 is 2.9999999999999996 in floats
    [0.7, 0.1, 0.7],
    [1.15, 0.05, 1.15],
    [123.456, 0.5, 123],
    [57, 5, 55],
    [0.00012345, 0.00001, 0.00012],
    [0, 0.001, 0],
    [1e-9, 0.001, 0],
    [-0.0015, 0.001, -0.002],
  ])('floor(%s, %s) = %s', (value, step, expected) => {
    const result = floorToStep(value, step);
    expect(result).toBe(expected);
    expect(String(result)).toBe(String(expected));
  });

  it('stays at or below the input where no double holds the stepped value', () => {
    const exact = new Big('2399999999.99999985600000000000000001');
    const floored = floorToStep(exact, 1e-8);
    expect(new Big(floored).lte(exact)).toBe(true);
    expect(new Big(ceilToStep(exact, 1e-8)).gte(exact)).toBe(true);
  });

  it('rejects a step that is not positive', () => {
    expect(() => floorToStep(1, 0)).toThrow(RangeError);
    expect(() => floorToStep(1, -0.1)).toThrow(RangeError);
    expect(() => floorToStep(Number.NaN, 0.1)).toThrow(RangeError);
  });
});

describe('ceilToStep and roundToStep', () => {
  it.each([
    [0.0081, 0.001, 0.009],
    [0.008, 0.001, 0.008],
    [0.2, 0.1, 0.2],
    [100 / 3, 0.01, 33.34],
  ])('ceil(%s, %s) = %s', (value, step, expected) => {
    expect(ceilToStep(value, step)).toBe(expected);
  });

  it.each([
    [50_000.04, 0.1, 50_000],
    [50_000.05, 0.1, 50_000.1], // halves away from zero
    [50_000.06, 0.1, 50_000.1],
    [1.005, 0.01, 1.01], // 1.005 is 1.00499999999999989... as a double, but prints 1.005
    [0.12345, 0.0001, 0.1235],
    [2.5, 5, 5],
    [2.4, 5, 0],
    [-1.25, 0.1, -1.3],
  ])('round(%s, %s) = %s', (value, step, expected) => {
    expect(roundToStep(value, step)).toBe(expected);
  });

  it('counts step decimals', () => {
    expect([0.001, 0.5, 10, 1e-8, 0.025].map(stepDecimals)).toEqual([3, 1, 0, 8, 3]);
  });
});

const steps = fc.constantFrom(1e-8, 0.00001, 0.001, 0.01, 0.1, 0.5, 1, 5, 0.025);
const quantities = fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true });

describe('precision properties', () => {
  it('rounding a quantity never produces more than the input', () => {
    fc.assert(
      fc.property(quantities, steps, (q, step) => {
        const floored = floorToStep(q, step);
        expect(new Big(floored).lte(new Big(q))).toBe(true);
        // ... and loses less than one step.
        expect(new Big(q).minus(floored).lt(new Big(step))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('results are whole multiples of the step that print as short decimals', () => {
    fc.assert(
      fc.property(quantities, steps, (q, step) => {
        for (const r of [floorToStep(q, step), ceilToStep(q, step), roundToStep(q, step)]) {
          expect(new Big(r).mod(step).eq(0)).toBe(true);
          const fraction = String(r).includes('e-')
            ? Number(String(r).split('e-')[1])
            : (String(r).split('.')[1]?.length ?? 0);
          expect(fraction).toBeLessThanOrEqual(stepDecimals(step) + 1);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('ceil ≥ input ≥ floor, and round is one of them', () => {
    fc.assert(
      fc.property(quantities, steps, (q, step) => {
        const f = floorToStep(q, step);
        const c = ceilToStep(q, step);
        const r = roundToStep(q, step);
        expect(new Big(c).gte(q) && new Big(f).lte(q)).toBe(true);
        expect(r === f || r === c).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('reportAmount', () => {
  it('rounds reported figures down to 1e-8', () => {
    expect(reportAmount(new Big('100.08628747922178990000001'))).toBe(100.08628747);
    expect(reportAmount(new Big('9.0987534072019809'))).toBe(9.0987534);
    expect(reportAmount(new Big(400))).toBe(400);
  });
});
