/**
 * Reading prices as written in signals: thousands separators ("64,500"), comma lists
 * ("0.54,0.555"), "k" suffixes ("65k"), and the few cases only the message's price scale can settle.
 */

/** One number as read; `alternative` is the other reading of an ambiguous comma run. */
export interface ReadNumber {
  /** NaN when the text is not a number (e.g. "1.2.3"). */
  value: number;
  /** "150,155,162" is 150155162 or three prices; the scale of the message decides (see below). */
  alternative: number[] | null;
}

const DECIMAL = /^\d+(?:\.\d+)?$/;
// A price on its own has no leading zeros ("000" after a comma is a thousands group, not a price).
const STANDALONE = /^(?:0|[1-9]\d*)(?:\.\d+)?$/;
const LEADING_GROUP = /^[1-9]\d{0,2}$/;
const THOUSANDS_GROUP = /^\d{3}$/;
const LAST_GROUP = /^\d{3}(?:\.\d+)?$/;

const toNumber = (text: string): number => (DECIMAL.test(text) ? Number(text) : Number.NaN);

/**
 * Splits a run of digits, dots and commas ("64,500", "65,000,66,000", "0.54,0.555") into numbers.
 * Commas group thousands when the groups fit (a leading group of 1–3 digits, then groups of 3);
 * otherwise they separate a list. "0,523" is a decimal comma: nothing else starts with "0,".
 */
export function readNumericRun(run: string): ReadNumber[] {
  if (/^0,\d+$/.test(run)) return [{ value: Number(run.replace(',', '.')), alternative: null }];
  const out: ReadNumber[] = [];
  let group: string[] = [];
  const flush = (): void => {
    const [first] = group;
    if (first === undefined) return;
    if (group.length === 1) {
      out.push({ value: toNumber(first), alternative: null });
      return;
    }
    const alternative = group.every((part) => STANDALONE.test(part)) ? group.map(Number) : null;
    out.push({ value: Number(group.join('')), alternative });
  };
  for (const part of run.split(',')) {
    const [first] = group;
    const last = group[group.length - 1];
    const extends_ =
      first !== undefined &&
      last !== undefined &&
      LEADING_GROUP.test(first) &&
      (group.length === 1 || THOUSANDS_GROUP.test(last)) &&
      LAST_GROUP.test(part);
    if (extends_) {
      group.push(part);
    } else {
      flush();
      group = [part];
    }
  }
  flush();
  return out;
}

/** "65k", "64.5K": thousands, computed on the decimal text so 1.1k is exactly 1100. */
export const thousandsOf = (text: string): number => (DECIMAL.test(text) ? Number(`${text}e3`) : Number.NaN);

/** Middle of the values (the message's price scale); null when there are none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0;
  const lower = sorted[sorted.length % 2 === 0 ? mid - 1 : mid] ?? upper;
  return (lower + upper) / 2;
}

/** How far a price is from the scale, in orders of magnitude either way. */
export const distance = (value: number, scale: number): number =>
  value > 0 && scale > 0 ? Math.abs(Math.log(value / scale)) : Number.POSITIVE_INFINITY;
