import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attributeFunding, FUNDING_HOUR_MS, fundingStep, HELD_MARGIN_MS, REREAD_MS, type HeldSpan } from '../../../src/domain/funding';

const H = FUNDING_HOUR_MS;
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const span = (openedAt: number, closedAt: number | null, fields: Partial<HeldSpan> = {}): HeldSpan => ({
  positionId: 'p1',
  symbol: 'BTC/USDT:USDT',
  openedAt,
  closedAt,
  weight: 1,
  ...fields,
});
const SETTLE = 60_000;

describe('when to read funding', () => {
  const at = (hours: number, minutes = 0, seconds = 0) => T0 + hours * H + minutes * 60_000 + seconds * 1000;
  const timing = { settleMs: SETTLE, offsetMs: 0 };
  const since = (from: number) => from + 1 - REREAD_MS;
  it.each([
    ['nothing held', null, at(6), [] as HeldSpan[], timing, { kind: 'wait' }],
    ['opened 12:10, now 12:50: no funding time yet', null, at(0, 50), [span(at(0, 10), null)], timing, { kind: 'wait' }],
    ['held at 13:00, now 13:01:01: read at the 16:00 slot, not before', null, at(1, 1, 1), [span(at(0, 10), null)], timing, { kind: 'wait' }],
    ['held at 13:00, now 16:01:01: read from the open (less the margins) to now less settling', null, at(4, 1, 1), [span(at(0, 10), null)], timing, { kind: 'read', since: since(at(0, 10) - HELD_MARGIN_MS - 1), until: at(4, 0, 1) }],
    ['16:00 not settled yet (16:00:30)', null, at(4, 0, 30), [span(at(0, 10), null)], timing, { kind: 'wait' }],
    ['this account reads 20 minutes after the slot', null, at(4, 10), [span(at(0, 10), null)], { ...timing, offsetMs: 20 * 60_000 }, { kind: 'wait' }],
    ['...and does at 16:21:01', null, at(4, 21, 1), [span(at(0, 10), null)], { ...timing, offsetMs: 20 * 60_000 }, { kind: 'read', since: since(at(0, 10) - HELD_MARGIN_MS - 1), until: at(4, 20, 1) }],
    ['opened 12:10, closed 12:40, now 15:05: never held at a funding time', null, at(3, 5), [span(at(0, 10), at(0, 40))], timing, { kind: 'advance', until: at(3) }],
    ['read at 16:01, held on, now 23:59: wait for the 00:00 slot', at(4, 0, 1), at(11, 59), [span(at(0, 10), null)], timing, { kind: 'wait' }],
    ['read at 16:01, now 00:01:01: read again from just before the cursor', at(4, 0, 1), at(12, 1, 1), [span(at(0, 10), null)], timing, { kind: 'read', since: since(at(4, 0, 1)), until: at(12, 0, 1) }],
    ['closed at 14:00:00 exactly (paid then): read at 16:00', at(0, 30), at(4, 1, 1), [span(at(0, 10), at(2))], timing, { kind: 'read', since: since(at(0, 30)), until: at(4, 0, 1) }],
    ['an entry seen 20 s after 13:00 (it filled just before): held at 13:00', at(0, 30), at(4, 1, 1), [span(at(1, 0, 20), null)], timing, { kind: 'read', since: since(at(0, 30)), until: at(4, 0, 1) }],
  ] as const)('%s', (_label, cursor, now, spans, t, expected) => {
    expect(fundingStep(cursor, now, spans, t)).toEqual(expected);
  });

  it('never reads further back than the exchange keeps (90 days)', () => {
    const now = T0 + 200 * 24 * H + 61_000;
    const step = fundingStep(null, now, [span(T0, null)], timing);
    expect(step).toMatchObject({ kind: 'read', since: now - 90 * 24 * H + 1 - REREAD_MS });
  });
});

describe('whose funding it is', () => {
  const payment = { symbol: 'BTC/USDT:USDT', amount: -1.23456789, at: T0 + H };

  it('a position that held the symbol at the payment gets all of it; one on another symbol or closed before gets none', () => {
    const spans = [
      span(T0, null, { positionId: 'held' }),
      span(T0, null, { positionId: 'eth', symbol: 'ETH/USDT:USDT' }),
      span(T0, T0 + 30 * 60_000, { positionId: 'closed-before' }),
      span(T0 + H + HELD_MARGIN_MS + 1, null, { positionId: 'opened-after' }),
    ];
    expect(attributeFunding(payment, spans)).toEqual([{ positionId: 'held', amount: -1.23456789 }]);
  });

  it('paid to a position the bot does not manage: nobody books it', () => {
    expect(attributeFunding(payment, [span(T0 + 2 * H, null)])).toEqual([]);
    // Seen a little after it paid (a limit entry filled between two visits): still its.
    expect(attributeFunding(payment, [span(T0 + H + 20_000, null)])).toEqual([{ positionId: 'p1', amount: -1.23456789 }]);
  });

  it('several positions at once share it by entry quantity, and the shares add up to the payment exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: -10_000_000, max: 10_000_000 }), (weights, cents) => {
        const spans = weights.map((weight, i) => span(T0, null, { positionId: `p${i}`, weight: weight / 1000 }));
        const amount = cents / 1e6;
        const shares = attributeFunding({ ...payment, amount }, spans);
        expect(shares).toHaveLength(weights.length);
        const total = shares.reduce((acc, s) => acc + Math.round(s.amount * 1e8), 0);
        expect(total).toBe(Math.round(amount * 1e8));
      }),
    );
    expect(attributeFunding({ ...payment, amount: -3 }, [span(T0, null, { positionId: 'a', weight: 2 }), span(T0, null, { positionId: 'b', weight: 1 })])).toEqual([
      { positionId: 'a', amount: -2 },
      { positionId: 'b', amount: -1 },
    ]);
  });
});
