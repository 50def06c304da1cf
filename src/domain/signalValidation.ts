import type { SignalRejectionReason, SignalValidation, TradeSignal, ValidatedSignal } from './signal';

/**
 * The one validation every signal source goes through (channel parser, /signal, copy trading,
 * strategy). It rejects with a reason or returns the signal normalised: symbol upper-case, entries
 * ascending, take-profits in trade direction, duplicate prices removed.
 */
export interface ValidateSignalOptions {
  /**
   * Current price, used in place of the entries for a market entry so that the stop and the
   * targets can be checked against it. A value that is not a positive finite number is ignored.
   */
  referencePrice?: number | undefined;
}

export const MAX_LEVERAGE = 125;

/**
 * BASE/QUOTE, letters and digits (lengths cover every listed pair). A base starts with a letter, or
 * with a multiplier before letters (1INCH, 1000PEPE); digits alone are never a coin.
 */
const SYMBOL = /^(?:[A-Z]|\d{1,6}[A-Z])[A-Z0-9]{0,19}\/[A-Z0-9]{2,10}$/;

const isPrice = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0;

const reject = (reason: SignalRejectionReason): SignalValidation => ({ ok: false, reason });

const uniqueSorted = (values: readonly number[], direction: 'asc' | 'desc'): number[] =>
  [...new Set(values)].sort((a, b) => (direction === 'asc' ? a - b : b - a));

export function validateSignal(input: TradeSignal, options: ValidateSignalOptions = {}): SignalValidation {
  const symbol = typeof input.symbol === 'string' ? input.symbol.trim().toUpperCase() : '';
  if (symbol === '') return reject('no-symbol');
  if (!SYMBOL.test(symbol)) return reject('bad-symbol');

  if (input.side !== 'long' && input.side !== 'short') return reject('bad-number');
  if (!Array.isArray(input.entries) || !Array.isArray(input.takeProfits)) return reject('bad-number');
  if (!input.entries.every(isPrice) || !input.takeProfits.every(isPrice)) return reject('bad-number');
  if (!isPrice(input.stopLoss)) return reject('bad-number');

  const leverage = input.leverage;
  if (leverage !== null && !(Number.isInteger(leverage) && leverage >= 1 && leverage <= MAX_LEVERAGE)) {
    return reject('bad-leverage');
  }

  // A limit entry needs a price; a market entry must not carry any (the engine would not know
  // whether to place limit legs or one market order).
  if (input.entryType === 'limit' && input.entries.length === 0) return reject('no-entry');
  if (input.entryType === 'market' && input.entries.length > 0) return reject('no-entry');
  if (input.entryType !== 'limit' && input.entryType !== 'market') return reject('no-entry');

  const long = input.side === 'long';
  const stop = input.stopLoss;
  const anchors =
    input.entryType === 'limit'
      ? input.entries
      : isPrice(options.referencePrice)
        ? [options.referencePrice]
        : [];

  if (anchors.length > 0) {
    const low = Math.min(...anchors);
    const high = Math.max(...anchors);
    if (long ? !(stop < low) : !(stop > high)) return reject('stop-wrong-side');
    const wrongTarget = input.takeProfits.some((tp) => (long ? !(tp > high) : !(tp < low)));
    if (wrongTarget) return reject('target-wrong-side');
  } else {
    // Market entry with no price to compare against: the stop must at least sit on the losing
    // side of every target, or the order could never make sense whatever the price is.
    const inconsistent = input.takeProfits.some((tp) => (long ? !(stop < tp) : !(stop > tp)));
    if (inconsistent) return reject('stop-wrong-side');
  }

  return {
    ok: true,
    signal: {
      symbol,
      side: input.side,
      entryType: input.entryType,
      entries: uniqueSorted(input.entries, 'asc'),
      stopLoss: stop,
      takeProfits: uniqueSorted(input.takeProfits, long ? 'asc' : 'desc'),
      leverage,
    } as ValidatedSignal,
  };
}
