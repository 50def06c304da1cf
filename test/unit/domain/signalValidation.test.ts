import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SignalRejectionReason, TradeSignal } from '../../../src/domain/signal';
import { validateSignal } from '../../../src/domain/signalValidation';

const long = (over: Partial<TradeSignal> = {}): TradeSignal => ({
  symbol: 'BTC/USDT',
  side: 'long',
  entryType: 'limit',
  entries: [64000],
  stopLoss: 63000,
  takeProfits: [65000, 66000],
  leverage: 10,
  ...over,
});
const short = (over: Partial<TradeSignal> = {}): TradeSignal =>
  long({ side: 'short', entries: [3450], stopLoss: 3525, takeProfits: [3400, 3350], ...over });
const market = (over: Partial<TradeSignal> = {}): TradeSignal =>
  long({ entryType: 'market', entries: [], ...over });

describe('validateSignal: accepted and normalised', () => {
  it('accepts a well-formed long and short', () => {
    expect(validateSignal(long())).toEqual({ ok: true, signal: long() });
    expect(validateSignal(short())).toEqual({ ok: true, signal: short() });
  });

  it('sorts entries ascending and take-profits in trade direction, dropping duplicates', () => {
    const result = validateSignal(
      long({ entries: [64250, 63800, 64250], takeProfits: [66200, 64800, 65500] }),
    );
    expect(result).toEqual({
      ok: true,
      signal: long({ entries: [63800, 64250], takeProfits: [64800, 65500, 66200] }),
    });
    const shortResult = validateSignal(short({ entries: [3480, 3450], takeProfits: [3280, 3400, 3350] }));
    expect(shortResult).toEqual({
      ok: true,
      signal: short({ entries: [3450, 3480], takeProfits: [3400, 3350, 3280] }),
    });
  });

  it('upper-cases and trims the symbol', () => {
    expect(validateSignal(long({ symbol: ' eth/usdt ' }))).toMatchObject({
      ok: true,
      signal: { symbol: 'ETH/USDT' },
    });
  });

  it.each([null, 1, 20, 125])('accepts leverage %s', (leverage) => {
    expect(validateSignal(long({ leverage })).ok).toBe(true);
  });

  it('accepts signals without take-profits', () => {
    expect(validateSignal(long({ takeProfits: [] }))).toMatchObject({
      ok: true,
      signal: { takeProfits: [] },
    });
  });

  it.each(['INCH2/USDT', 'A/USDT', 'ETH/BTC', 'PEPE1000/USDT', 'BTC/USD', '1000PEPE/USDT', '1INCH/USDT'])('accepts symbol %s', (symbol) => {
    expect(validateSignal(long({ symbol })).ok).toBe(true);
  });

  it('does not mutate its input', () => {
    const input = long({ entries: [64250, 63800] });
    validateSignal(input);
    expect(input.entries).toEqual([64250, 63800]);
  });
});

describe('validateSignal: rejected with a reason', () => {
  const cases: Array<[string, TradeSignal, SignalRejectionReason]> = [
    ['empty symbol', long({ symbol: '' }), 'no-symbol'],
    ['blank symbol', long({ symbol: '   ' }), 'no-symbol'],
    ['symbol without quote', long({ symbol: 'BTC' }), 'bad-symbol'],
    ['symbol of digits only', long({ symbol: '1000/USDT' }), 'bad-symbol'],
    ['symbol with punctuation', long({ symbol: 'BTC-USDT' }), 'bad-symbol'],
    ['symbol with two slashes', long({ symbol: 'BTC/USDT/X' }), 'bad-symbol'],
    ['exchange-specific symbol', long({ symbol: 'BTC/USDT:USDT' }), 'bad-symbol'],
    ['symbol with spaces inside', long({ symbol: 'BT C/USDT' }), 'bad-symbol'],
    ['zero entry', long({ entries: [0] }), 'bad-number'],
    ['negative entry', long({ entries: [-64000] }), 'bad-number'],
    ['NaN entry', long({ entries: [Number.NaN] }), 'bad-number'],
    ['infinite entry', long({ entries: [Number.POSITIVE_INFINITY] }), 'bad-number'],
    ['zero stop', long({ stopLoss: 0 }), 'bad-number'],
    ['NaN stop', long({ stopLoss: Number.NaN }), 'bad-number'],
    ['negative take-profit', long({ takeProfits: [-1] }), 'bad-number'],
    ['NaN take-profit', short({ takeProfits: [Number.NaN] }), 'bad-number'],
    ['leverage 0', long({ leverage: 0 }), 'bad-leverage'],
    ['leverage 126', long({ leverage: 126 }), 'bad-leverage'],
    ['leverage 500', long({ leverage: 500 }), 'bad-leverage'],
    ['fractional leverage', long({ leverage: 2.5 }), 'bad-leverage'],
    ['NaN leverage', long({ leverage: Number.NaN }), 'bad-leverage'],
    ['negative leverage', long({ leverage: -10 }), 'bad-leverage'],
    ['limit without entries', long({ entries: [] }), 'no-entry'],
    ['market with entries', market({ entries: [64000] }), 'no-entry'],
    ['long stop above entry', long({ stopLoss: 64500 }), 'stop-wrong-side'],
    ['long stop equal to entry', long({ stopLoss: 64000 }), 'stop-wrong-side'],
    ['long stop between entries', long({ entries: [63000, 64000], stopLoss: 63500 }), 'stop-wrong-side'],
    ['short stop below entry', short({ stopLoss: 3400 }), 'stop-wrong-side'],
    ['short stop between entries', short({ entries: [3450, 3550], stopLoss: 3500 }), 'stop-wrong-side'],
    ['long target below entry', long({ takeProfits: [65000, 63900] }), 'target-wrong-side'],
    [
      'long target inside the entry range',
      long({ entries: [63600, 64000], takeProfits: [63800] }),
      'target-wrong-side',
    ],
    ['short target above entry', short({ takeProfits: [3500] }), 'target-wrong-side'],
    ['short target equal to entry', short({ takeProfits: [3450] }), 'target-wrong-side'],
    ['market long with stop above a target', market({ stopLoss: 65500 }), 'stop-wrong-side'],
    [
      'market short with stop below a target',
      market({ side: 'short', stopLoss: 3000, takeProfits: [3400, 2900] }),
      'stop-wrong-side',
    ],
  ];
  it.each(cases)('%s', (_name, signal, reason) => {
    expect(validateSignal(signal)).toEqual({ ok: false, reason });
  });
});

describe('validateSignal: market entries and the reference price', () => {
  it('checks only stop against targets without a reference price', () => {
    expect(validateSignal(market({ stopLoss: 10, takeProfits: [65000] })).ok).toBe(true);
    expect(validateSignal(market({ takeProfits: [] })).ok).toBe(true);
  });

  it('checks the stop and targets against the reference price when given', () => {
    expect(validateSignal(market(), { referencePrice: 64000 }).ok).toBe(true);
    expect(validateSignal(market(), { referencePrice: 62000 })).toEqual({
      ok: false,
      reason: 'stop-wrong-side',
    });
    expect(validateSignal(market(), { referencePrice: 65500 })).toEqual({
      ok: false,
      reason: 'target-wrong-side',
    });
    const shortMarket = market({ side: 'short', stopLoss: 3525, takeProfits: [3400] });
    expect(validateSignal(shortMarket, { referencePrice: 3450 }).ok).toBe(true);
    expect(validateSignal(shortMarket, { referencePrice: 3600 })).toEqual({
      ok: false,
      reason: 'stop-wrong-side',
    });
  });

  it('ignores a reference price that is not a positive finite number', () => {
    for (const referencePrice of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, undefined]) {
      expect(validateSignal(market(), { referencePrice }).ok).toBe(true);
    }
  });

  it('ignores the reference price for limit entries', () => {
    expect(validateSignal(long(), { referencePrice: 1 }).ok).toBe(true);
  });
});

describe('validateSignal: properties', () => {
  const price = fc.double({ min: 1e-6, max: 1e6, noNaN: true, noDefaultInfinity: true });
  const anyNumber = fc.oneof(
    price,
    fc.double(),
    fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY),
  );
  const signal = fc.record({
    symbol: fc.constantFrom('BTC/USDT', 'eth/usdt', '', 'BTC', 'X/Y'),
    side: fc.constantFrom('long' as const, 'short' as const),
    entryType: fc.constantFrom('limit' as const, 'market' as const),
    entries: fc.array(anyNumber, { maxLength: 4 }),
    stopLoss: anyNumber,
    takeProfits: fc.array(anyNumber, { maxLength: 5 }),
    leverage: fc.oneof(fc.constant(null), fc.integer({ min: -5, max: 200 }), fc.double()),
  });

  it('every accepted signal is consistent and already normalised', () => {
    fc.assert(
      fc.property(signal, fc.option(anyNumber, { nil: undefined }), (input, referencePrice) => {
        const result = validateSignal(input, { referencePrice });
        if (!result.ok) return;
        const s = result.signal;
        const isLong = s.side === 'long';
        for (const value of [...s.entries, s.stopLoss, ...s.takeProfits]) {
          expect(Number.isFinite(value) && value > 0).toBe(true);
        }
        expect(s.entries).toEqual([...s.entries].sort((a, b) => a - b));
        expect(s.takeProfits).toEqual([...s.takeProfits].sort((a, b) => (isLong ? a - b : b - a)));
        for (const entry of s.entries) {
          expect(isLong ? s.stopLoss < entry : s.stopLoss > entry).toBe(true);
          for (const tp of s.takeProfits) expect(isLong ? tp > entry : tp < entry).toBe(true);
        }
        for (const tp of s.takeProfits) expect(isLong ? s.stopLoss < tp : s.stopLoss > tp).toBe(true);
        expect(
          s.leverage === null || (Number.isInteger(s.leverage) && s.leverage >= 1 && s.leverage <= 125),
        ).toBe(true);
        // Normalising twice changes nothing.
        expect(validateSignal(s, { referencePrice })).toEqual(result);
      }),
      { numRuns: 2000 },
    );
  });
});
