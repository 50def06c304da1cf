import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attributeFunding, FUNDING_HOUR_MS, fundingStep, type HeldSpan } from '../../../src/domain/funding';

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
  it.each([
    ['nothing held', null, T0 + 2 * H, [] as HeldSpan[], { kind: 'wait' }],
    ['opened 12:10, now 12:50: no funding time yet', null, T0 + 50 * 60_000, [span(T0 + 10 * 60_000, null)], { kind: 'wait' }],
    ['13:00 passed but its records are not settled (13:00:30)', null, T0 + H + 30_000, [span(T0 + 10 * 60_000, null)], { kind: 'wait' }],
    ['held at 13:00, now 13:01:01: read from the open to 13:00', null, T0 + H + 61_000, [span(T0 + 10 * 60_000, null)], { kind: 'read', since: T0 + 10 * 60_000, until: T0 + H }],
    ['opened 12:10, closed 12:40, now 15:05: never held at a funding time', null, T0 + 3 * H + 5 * 60_000, [span(T0 + 10 * 60_000, T0 + 40 * 60_000)], { kind: 'advance', until: T0 + 3 * H }],
    ['cursor at 13:00, still held, now 13:30: wait for 14:00', T0 + H, T0 + H + 30 * 60_000, [span(T0 + 10 * 60_000, null)], { kind: 'wait' }],
    ['cursor at 13:00, closed 14:00:00 exactly (paid at 14:00), now 14:02', T0 + H, T0 + 2 * H + 120_000, [span(T0, T0 + 2 * H)], { kind: 'read', since: T0 + H + 1, until: T0 + 2 * H }],
  ] as const)('%s', (_label, cursor, now, spans, expected) => {
    expect(fundingStep(cursor, now, spans, SETTLE)).toEqual(expected);
  });

  it('never reads further back than the exchange keeps (90 days)', () => {
    const now = T0 + 200 * 24 * H;
    const step = fundingStep(null, now, [span(T0, null)], SETTLE);
    expect(step).toMatchObject({ kind: 'read', since: now - 90 * 24 * H + 1 });
  });
});

describe('whose funding it is', () => {
  const payment = { symbol: 'BTC/USDT:USDT', amount: -1.23456789, at: T0 + H };

  it('a position that held the symbol at the payment gets all of it; one on another symbol or closed before gets none', () => {
    const spans = [
      span(T0, null, { positionId: 'held' }),
      span(T0, null, { positionId: 'eth', symbol: 'ETH/USDT:USDT' }),
      span(T0, T0 + 30 * 60_000, { positionId: 'closed-before' }),
      span(T0 + H + 1, null, { positionId: 'opened-after' }),
    ];
    expect(attributeFunding(payment, spans)).toEqual([{ positionId: 'held', amount: -1.23456789 }]);
  });

  it('paid to a position the bot does not manage: nobody books it', () => {
    expect(attributeFunding(payment, [span(T0 + 2 * H, null)])).toEqual([]);
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
