import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { limitCopyOpen, type CopyOpenInput } from '../../../src/domain/copyLimits';
import { copySignalTimeMs } from '../../../src/domain/copy';
import { NOW, balance, btcPerp, settings } from './fixtures';

const input = (overrides: Partial<CopyOpenInput> = {}): CopyOpenInput => ({
  requestedQty: 0.01,
  price: 50_000,
  market: btcPerp(),
  leverage: 10,
  account: settings(),
  side: 'long',
  copiedQty: 0,
  balance: balance(10_000),
  maxBalanceAgeMs: 300_000,
  nowMs: NOW,
  pausedUntilMs: null,
  day: { trades: 0, realisedPnl: 0, startingEquity: 10_000 },
  exposure: { currentUsd: 0, capUsd: null },
  signalTimeMs: NOW - 5_000,
  maxSignalLagMs: 120_000,
  ...overrides,
});

describe('limitCopyOpen', () => {
  it("copies the link's quantity, on the market's step, when every limit has room", () => {
    expect(limitCopyOpen(input({ requestedQty: 0.0127 }))).toEqual({ kind: 'sized', qty: 0.012, notional: 600, margin: 60, notes: [] });
  });

  it('cuts an add to what the max position has left, and refuses it once nothing tradable is left', () => {
    // 100 USD margin at 10× = 1,000 USD = 0.02 BTC; 0.015 already copied leaves 0.005.
    const account = settings({ maxPositionUsd: 100 });
    expect(limitCopyOpen(input({ account, copiedQty: 0.015 }))).toMatchObject({ kind: 'sized', qty: 0.005, notes: ['capped-max-position'] });
    // 0.019 copied leaves 0.001 = 50 USD, under the 100 USD minimum order.
    expect(limitCopyOpen(input({ account, copiedQty: 0.019 }))).toEqual({ kind: 'skipped', reason: 'max-position-reached' });
    expect(limitCopyOpen(input({ account, copiedQty: 0.03 }))).toEqual({ kind: 'skipped', reason: 'max-position-reached' });
  });

  it('refuses what the wallet cannot pay, or a balance it has not read recently', () => {
    expect(limitCopyOpen(input({ balance: balance(49.99) }))).toEqual({ kind: 'skipped', reason: 'insufficient-balance' });
    expect(limitCopyOpen(input({ balance: balance(50) }))).toMatchObject({ kind: 'sized', qty: 0.01 });
    expect(limitCopyOpen(input({ balance: balance(10_000, { asOf: NOW - 300_001 }) }))).toEqual({ kind: 'skipped', reason: 'balance-stale' });
    expect(limitCopyOpen(input({ balance: undefined }))).toEqual({ kind: 'skipped', reason: 'balance-stale' });
  });

  it('applies every risk rule of a signal entry, the risk reason first', () => {
    const tooOld = { signalTimeMs: NOW - 120_001 };
    expect(limitCopyOpen(input(tooOld))).toEqual({ kind: 'skipped', reason: 'signal-too-old' });
    // A stale fill says "too old" even when it would not fit either.
    expect(limitCopyOpen(input({ ...tooOld, balance: balance(1) }))).toEqual({ kind: 'skipped', reason: 'signal-too-old' });
    expect(limitCopyOpen(input({ pausedUntilMs: NOW + 1 }))).toEqual({ kind: 'skipped', reason: 'paused-daily-loss' });
    expect(limitCopyOpen(input({ day: { trades: 5, realisedPnl: 0, startingEquity: 10_000 } }))).toEqual({ kind: 'skipped', reason: 'daily-trade-limit' });
    expect(limitCopyOpen(input({ day: { trades: 0, realisedPnl: -500, startingEquity: 10_000 } }))).toEqual({ kind: 'skipped', reason: 'daily-loss-limit' });
    expect(limitCopyOpen(input({ exposure: { currentUsd: 500.01, capUsd: 1_000 } }))).toEqual({ kind: 'skipped', reason: 'exposure-cap' });
    expect(limitCopyOpen(input({ exposure: { currentUsd: 500, capUsd: 1_000 } }))).toMatchObject({ kind: 'sized' });
    expect(limitCopyOpen(input({ account: settings({ symbolBlock: ['BTC'] }) }))).toEqual({ kind: 'skipped', reason: 'symbol-blocked' });
  });

  it('never lets the copied position pass the max position, the margin pass the wallet, or the member pass the cap', () => {
    const market = btcPerp();
    fc.assert(
      fc.property(
        fc.record({
          requestedQty: fc.double({ min: 0, max: 5, noNaN: true }),
          price: fc.double({ min: 100, max: 200_000, noNaN: true }),
          leverage: fc.integer({ min: 1, max: 125 }),
          maxPositionUsd: fc.double({ min: 10, max: 100_000, noNaN: true }),
          copiedQty: fc.double({ min: 0, max: 2, noNaN: true }),
          available: fc.double({ min: 0, max: 1_000_000, noNaN: true }),
          currentUsd: fc.double({ min: 0, max: 100_000, noNaN: true }),
          capUsd: fc.option(fc.double({ min: 0, max: 200_000, noNaN: true })),
        }),
        (s) => {
          const result = limitCopyOpen(
            input({
              requestedQty: s.requestedQty,
              price: s.price,
              leverage: s.leverage,
              account: settings({ maxPositionUsd: s.maxPositionUsd }),
              copiedQty: s.copiedQty,
              balance: balance(s.available),
              exposure: { currentUsd: s.currentUsd, capUsd: s.capUsd },
            }),
          );
          if (result.kind === 'skipped') return;
          const tolerance = 1e-6;
          expect(result.qty).toBeLessThanOrEqual(s.requestedQty + tolerance);
          expect(result.qty).toBeGreaterThanOrEqual(market.minAmount);
          expect(result.notional).toBeGreaterThanOrEqual(market.minNotional - tolerance);
          expect((s.copiedQty + result.qty) * s.price).toBeLessThanOrEqual(s.maxPositionUsd * s.leverage + tolerance * s.price);
          expect(result.margin).toBeLessThanOrEqual(s.available + tolerance);
          if (s.capUsd !== null) expect(s.currentUsd + result.notional).toBeLessThanOrEqual(s.capUsd + tolerance);
        },
      ),
    );
  });
});

describe('copySignalTimeMs', () => {
  it("runs a copy's age from the follower's acceptance, else the master's fill, else the queueing", () => {
    expect(copySignalTimeMs({ filledAt: 100, acceptedAt: 200 }, 300)).toBe(200);
    expect(copySignalTimeMs({ filledAt: 100 }, 300)).toBe(100);
    expect(copySignalTimeMs({}, 300)).toBe(300);
    expect(copySignalTimeMs(null, 300)).toBe(300);
  });
});
