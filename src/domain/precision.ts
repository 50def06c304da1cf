/**
 * Decimal-safe rounding to an exchange step. Float arithmetic cannot represent 0.001 steps exactly
 * (0.1 + 0.2 !== 0.3), so every quantity and price meets its step through big.js, and the result is
 * turned back into the nearest double of an exact decimal, which prints as that decimal (0.008).
 */
import Big from 'big.js';

/**
 * A private big.js constructor: its settings never leak into (or from) other users of big.js.
 * Divisions truncate at 40 places so a floored quotient can never round up past the true value.
 */
const D = Big();
D.DP = 40;
D.RM = Big.roundDown;

export type Decimal = Big;

/** A decimal from a finite number (its shortest printed form, so 0.1 is exactly 0.1). */
export function dec(value: number | string | Big): Big {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new RangeError(`not a finite number: ${value}`);
  }
  return new D(value);
}

/** Back to a number; exact decimals with up to ~15 significant digits print unchanged. */
export function toNumber(value: Big): number {
  return Number(value.toString());
}

function checkStep(step: number): Big {
  if (!Number.isFinite(step) || step <= 0) throw new RangeError(`step must be positive: ${step}`);
  return dec(step);
}

/** Whole steps in value, rounded toward −∞ (the truncating division is corrected by a product check). */
function stepsFloor(v: Big, s: Big): Big {
  const n = v.div(s).round(0, Big.roundDown);
  return n.times(s).gt(v) ? n.minus(1) : n;
}

/** Steps for quantities: down, so an order never exceeds what was sized (or what is held). */
export function floorToStep(value: number | Big, step: number): number {
  const s = checkStep(step);
  return toNumberAtMost(stepsFloor(dec(value), s).times(s));
}

/** Up to the next step: the smallest quantity that reaches a minimum. */
export function ceilToStep(value: number | Big, step: number): number {
  const s = checkStep(step);
  const v = dec(value);
  const n = stepsFloor(v, s);
  return toNumberAtLeast((n.times(s).lt(v) ? n.plus(1) : n).times(s));
}

/*
 * A multiple of the step with more than ~15 significant digits (2.4e9 contracts at a 1e-8 step) has
 * no exact double; Number() rounds to the nearest one, possibly past the decimal. One ulp the other
 * way keeps floor ≤ value and ceil ≥ value; such a number is then off the step, which no real market
 * reaches, and an exchange client would truncate it again.
 */
const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);

function ulpStep(x: number, towardPositive: boolean): number {
  if (x === 0) return towardPositive ? Number.MIN_VALUE : -Number.MIN_VALUE;
  f64[0] = x;
  const away = x > 0 === towardPositive;
  i64[0] = (i64[0] as bigint) + (away ? 1n : -1n);
  return f64[0] as number;
}

function toNumberAtMost(value: Big): number {
  const n = toNumber(value);
  return dec(n).gt(value) ? ulpStep(n, false) : n;
}

function toNumberAtLeast(value: Big): number {
  const n = toNumber(value);
  return dec(n).lt(value) ? ulpStep(n, true) : n;
}

/** Prices: nearest step, halves away from zero. */
export function roundToStep(value: number | Big, step: number): number {
  const s = checkStep(step);
  const v = dec(value);
  // Truncating division at 40 places could turn an exact half into a hair below it; nearest
  // rounding is decided on the remainder instead.
  const n = v.div(s).round(0, Big.roundDown);
  const rest = v.minus(n.times(s)).abs();
  const twice = rest.times(2);
  const away = twice.gte(s) ? (v.lt(0) ? n.minus(1) : n.plus(1)) : n;
  return toNumber(away.times(s));
}

/** Number of decimals a step implies (0.001 → 3, 0.5 → 1, 10 → 0). */
export function stepDecimals(step: number): number {
  const s = checkStep(step);
  const text = s.toFixed();
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/**
 * Amounts reported rather than sent (notional, margin): to 1e-8, rounded down, so a reported figure
 * never exceeds the exact value it stands for (qty × price can carry 30 digits; a double holds 17).
 */
export function reportAmount(value: Big): number {
  return floorToStep(value, 1e-8);
}
