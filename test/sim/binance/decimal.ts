/**
 * Small decimal helpers. The simulator keeps amounts as numbers but rounds every stored value to
 * 8 decimals (Binance's asset precision), so sums of fees and PnL stay exact to the cent.
 */

const SCALE = 1e8;

/** Rounds to 8 decimals, the precision Binance reports balances and commissions with. */
export const r8 = (n: number): number => {
  const v = Math.round(n * SCALE) / SCALE;
  return Object.is(v, -0) ? 0 : v;
};

/** Number of decimals written in a decimal string ("0.00100" → 5, "10" → 0). */
export const decimalsOf = (s: string): number => {
  const dot = s.indexOf('.');
  return dot === -1 ? 0 : s.length - dot - 1;
};

/** Decimals a step needs ("0.001" → 3, "1" → 0, "0.10000000" → 1). */
export const stepDecimals = (step: string): number => {
  const n = Number(step);
  if (n <= 0) return 0;
  for (let d = 0; d <= 12; d++) {
    if (Math.abs(Math.round(n * 10 ** d) - n * 10 ** d) < 1e-9) return d;
  }
  return 12;
};

/** True when value is a whole multiple of step (within float noise). A zero step accepts anything. */
export const isMultiple = (value: number, step: number): boolean => {
  if (step <= 0) return true;
  const q = value / step;
  return Math.abs(q - Math.round(q)) < 1e-7;
};

/** Rounds value down to a multiple of step. */
export const floorToStep = (value: number, step: number): number => {
  if (step <= 0) return value;
  const d = stepDecimals(String(step));
  const q = Math.floor(value / step + 1e-9);
  return Number((q * step).toFixed(d));
};

/** Rounds value to the nearest multiple of step. */
export const roundToStep = (value: number, step: number): number => {
  if (step <= 0) return value;
  const d = stepDecimals(String(step));
  return Number((Math.round(value / step) * step).toFixed(d));
};

/** Formats with a fixed number of decimals, as Binance prints amounts ("0.00100000"). */
export const fmt = (n: number, decimals = 8): string => {
  const v = Number(n.toFixed(decimals));
  return (Object.is(v, -0) ? 0 : v).toFixed(decimals);
};

/** Plain decimal text without exponent ("1e-7" → "0.0000001"). */
export const plain = (n: number): string => {
  if (Number.isInteger(n)) return String(n);
  const s = String(n);
  if (!s.includes('e')) return s;
  return n.toFixed(12).replace(/0+$/, '').replace(/\.$/, '');
};
