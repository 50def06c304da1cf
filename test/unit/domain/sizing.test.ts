import Big from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountSettings } from '../../../src/domain/account';
import { sizePosition, type SizingInput } from '../../../src/domain/sizing';
import { balance, btcPerp, NOW, settings } from './fixtures';

function input(
  overrides: Omit<Partial<SizingInput>, 'account'> & { account?: Partial<AccountSettings> } = {},
): SizingInput {
  const { account, ...rest } = overrides;
  return {
    account: settings(account),
    market: btcPerp(),
    leverage: 10,
    price: 50_000,
    stopLoss: 49_000,
    balance: balance(10_000),
    nowMs: NOW,
    maxBalanceAgeMs: 300_000,
    ...rest,
  };
}

describe('worked example: percent mode 2 %, max position 100 USD (margin), 20x, entry 50 000', () => {
  it.each([
    [1000, 20, 0.008, false],
    [5000, 100, 0.04, false],
    [500, 10, 0.004, false],
  ])('balance %s USDT → margin %s, quantity %s BTC', (available, margin, qty, capped) => {
    const r = sizePosition(
      input({
        account: { sizingMode: 'percent', sizingValue: 2, maxPositionUsd: 100 },
        leverage: 20,
        price: 50_000,
        balance: balance(available),
      }),
    );
    expect(r).toMatchObject({ kind: 'sized', margin, qty, leverage: 20, cappedByMaxPosition: capped });
    if (r.kind === 'sized') {
      expect(String(r.qty)).toBe(String(qty)); // prints exactly: 0.008, not 0.008000000001
      expect(r.notional).toBe(margin * 20);
    }
  });

  it('a larger balance is capped at the max position', () => {
    const r = sizePosition(
      input({
        account: { sizingMode: 'percent', sizingValue: 2, maxPositionUsd: 100 },
        leverage: 20,
        balance: balance(20_000),
      }),
    );
    expect(r).toMatchObject({ kind: 'sized', margin: 100, qty: 0.04, cappedByMaxPosition: true });
    if (r.kind === 'sized') expect(r.notes).toContain('capped-max-position');
  });
});

describe('sizing modes', () => {
  // label, account, leverage, price, stop, available, equity → margin (after flooring), qty, notional
  // prettier-ignore
  it.each([
    ['fixed 50 USD at 10x', { sizingMode: 'fixed', sizingValue: 50 }, 10, 50_000, 49_000, 1000, 1000, 50, 0.01, 500],
    ['fixed above max position', { sizingMode: 'fixed', sizingValue: 2000, maxPositionUsd: 1000 }, 1, 50_000, 49_000, 5000, 5000, 1000, 0.02, 1000],
    ['percent 10 % of 3000', { sizingMode: 'percent', sizingValue: 10 }, 5, 50_000, 49_000, 3000, 3000, 300, 0.03, 1500],
    // 3 % of 2345.67 = 70.3701 → ×5 / 43 210.5 = 0.00814… → 0.008 → notional 345.684, margin 69.1368
    ['percent floors to the step', { sizingMode: 'percent', sizingValue: 3 }, 5, 43_210.5, 42_000, 2345.67, 2345.67, 69.1368, 0.008, 345.684],
    // risk: 1 % of 10 000 = 100 at a 1000 distance → 0.1 BTC, notional 5000, margin 500 at 10x
    ['risk long 1 %', { sizingMode: 'risk', riskPerTradePct: 1 }, 10, 50_000, 49_000, 10_000, 10_000, 500, 0.1, 5000],
    ['risk short 1 %', { sizingMode: 'risk', riskPerTradePct: 1 }, 10, 50_000, 51_000, 10_000, 10_000, 500, 0.1, 5000],
    // risk uses equity, not available: 2 % of 20 000 = 400 at 1500 → 0.2666… → 0.266
    ['risk on equity', { sizingMode: 'risk', riskPerTradePct: 2 }, 20, 50_000, 48_500, 5_000, 20_000, 665, 0.266, 13_300],
    ['risk capped by max position', { sizingMode: 'risk', riskPerTradePct: 5, maxPositionUsd: 200 }, 10, 50_000, 49_900, 10_000, 10_000, 200, 0.04, 2000],
    ['risk with stop at entry', { sizingMode: 'risk', maxPositionUsd: 100 }, 10, 50_000, 50_000, 10_000, 10_000, 100, 0.02, 1000],
  ] as const)('%s', (_label, account, leverage, price, stop, available, equity, margin, qty, notional) => {
    const r = sizePosition(
      input({ account, leverage, price, stopLoss: stop, balance: balance(available, { equity }) }),
    );
    expect(r).toMatchObject({ kind: 'sized', margin, qty, notional });
  });

  it('risk mode: the loss at the stop is the risked share of equity (within one step)', () => {
    const r = sizePosition(
      input({
        account: { sizingMode: 'risk', riskPerTradePct: 1.5, maxPositionUsd: 100_000 },
        price: 50_000,
        stopLoss: 48_800,
        balance: balance(10_000, { equity: 12_000 }),
        leverage: 20,
      }),
    );
    expect(r.kind).toBe('sized');
    if (r.kind !== 'sized') return;
    const loss = new Big(r.qty).times(1200);
    expect(loss.lte(180)).toBe(true); // 1.5 % of 12 000
    expect(new Big(180).minus(loss).lte(new Big(0.001).times(1200))).toBe(true);
  });

  it('kelly: the fraction is the share of equity lost at the stop, sized like risk mode', () => {
    // last 10: 6 wins of 20, 4 losses of 10 → f* = 0.4; half Kelly = 0.2 of equity 1000 = 200 at risk;
    // stop 1000 below a 50 000 entry → 0.2 BTC (notional 10 000, margin 1000 at 10x)
    const pnls = [-99, -99, 20, -10, 20, 20, -10, 20, -10, 20, 20, -10];
    const r = sizePosition(
      input({
        account: { sizingMode: 'kelly', maxPositionUsd: 5000 },
        balance: balance(1000),
        closedTradePnls: pnls,
        kelly: { lookbackTrades: 10, fraction: 0.5, cap: 0.25 },
      }),
    );
    expect(r).toMatchObject({ kind: 'sized', mode: 'kelly', margin: 1000, qty: 0.2, riskAtStop: 200, notes: [] });
  });

  it('kelly at 20x with a 20 % stop risks the Kelly share of equity, not leverage times it (issue #12)', () => {
    // Half Kelly 0.2 on 10 000 risks 2 000 at the stop: 0.2 BTC at 50 000 with the stop at 40 000.
    // Applied as margin (the old rule) it was 2 000 × 20 = 0.8 BTC, 8 000 lost at the stop.
    const pnls = [20, -10, 20, 20, -10, 20, -10, 20, 20, -10];
    const r = sizePosition(
      input({
        account: { sizingMode: 'kelly', maxPositionUsd: 100_000 },
        leverage: 20,
        price: 50_000,
        stopLoss: 40_000,
        balance: balance(10_000),
        closedTradePnls: pnls,
        kelly: { lookbackTrades: 10, fraction: 0.5, cap: 0.25 },
      }),
    );
    expect(r).toMatchObject({ kind: 'sized', mode: 'kelly', qty: 0.2, notional: 10_000, margin: 500, riskAtStop: 2000 });
    if (r.kind === 'sized') expect(r.qty * (50_000 - 40_000)).toBeLessThanOrEqual(0.2 * 10_000 + 1e-9);
  });

  it('risk and Kelly sizes past the available balance take what is available and say so (a fixed size skips)', () => {
    // Kelly 0.25 of 10,000 = 2,500 at risk, stop 1 % away → notional 250,000 → margin 12,500 at 20x > 10,000 available.
    const kelly = sizePosition(
      input({
        account: { sizingMode: 'kelly', maxPositionUsd: 100_000 },
        leverage: 20,
        price: 50_000,
        stopLoss: 49_500,
        balance: balance(10_000),
        closedTradePnls: Array.from({ length: 10 }, () => 5),
        kelly: { lookbackTrades: 10, fraction: 1, cap: 0.25 },
      }),
    );
    expect(kelly).toMatchObject({ kind: 'sized', margin: 10_000, qty: 4, notes: ['capped-available'] });
    const fixed = sizePosition(input({ account: { sizingMode: 'fixed', sizingValue: 20_000, maxPositionUsd: 100_000 }, balance: balance(10_000) }));
    expect(fixed).toEqual({ kind: 'skipped', reason: 'insufficient-balance' });
  });

  it('kelly: the share is capped', () => {
    // Every trade won: f* = 1, capped at 0.1 of equity 1000 = 100 at risk, 1000 from entry → 0.1 BTC
    const r = sizePosition(
      input({
        account: { sizingMode: 'kelly', maxPositionUsd: 5000 },
        balance: balance(1000),
        closedTradePnls: Array.from({ length: 10 }, () => 5),
        kelly: { lookbackTrades: 10, fraction: 1, cap: 0.1 },
      }),
    );
    expect(r).toMatchObject({ kind: 'sized', qty: 0.1, riskAtStop: 100 });
  });

  it('kelly: below N trades falls back to fixed and says so', () => {
    const r = sizePosition(
      input({
        account: { sizingMode: 'kelly', sizingValue: 30 },
        closedTradePnls: [10, 10, -5],
        kelly: { lookbackTrades: 20, fraction: 0.5, cap: 0.25 },
      }),
    );
    expect(r).toMatchObject({
      kind: 'sized',
      mode: 'fixed',
      margin: 30,
      qty: 0.006,
      notes: ['kelly-fallback-fixed'],
    });
  });

  it('kelly: no edge is a skip', () => {
    const r = sizePosition(
      input({
        account: { sizingMode: 'kelly' },
        closedTradePnls: [10, -20, 10, -20, 10, -20],
        kelly: { lookbackTrades: 6, fraction: 0.5, cap: 0.25 },
      }),
    );
    expect(r).toEqual({ kind: 'skipped', reason: 'kelly-no-edge' });
  });

  it('uses the contract size of the market (OKX-style contracts)', () => {
    const r = sizePosition(
      input({
        market: btcPerp({ contractSize: 0.01, amountStep: 1, minAmount: 1, minNotional: 0 }),
        account: { sizingMode: 'fixed', sizingValue: 100 },
        leverage: 10,
      }),
    );
    // 1000 notional / (50 000 × 0.01) = 2 contracts
    expect(r).toMatchObject({ kind: 'sized', qty: 2, notional: 1000, margin: 100 });
  });

  it('caps at the market maximum quantity', () => {
    const r = sizePosition(input({ market: btcPerp({ maxAmount: 0.005 }), account: { sizingValue: 100 } }));
    expect(r).toMatchObject({ kind: 'sized', qty: 0.005, cappedByMaxAmount: true, margin: 25 });
  });
});

describe('balance and minimum', () => {
  const raise = 'raise' as const;
  // prettier-ignore
  it.each([
    ['missing', { balance: null }, 'balance-stale'],
    ['undefined', { balance: undefined }, 'balance-stale'],
    ['older than the max age', { balance: balance(1000, { asOf: NOW - 300_001 }) }, 'balance-stale'],
    ['zero', { balance: balance(0) }, 'insufficient-balance'],
    ['negative', { balance: balance(-5) }, 'insufficient-balance'],
    ['below the fixed margin', { balance: balance(80), account: { sizingValue: 100 } }, 'insufficient-balance'],
    ['no equity for risk mode', { balance: balance(100, { equity: 0 }), account: { sizingMode: 'risk' as const } }, 'insufficient-balance'],
    ['no price', { price: Number.NaN }, 'price-unavailable'],
    ['zero price', { price: 0 }, 'price-unavailable'],
    ['below min notional (skip)', { account: { sizingValue: 5 }, leverage: 1 }, 'below-min-notional'],
    ['below one step', { account: { sizingValue: 1 }, leverage: 1, market: btcPerp({ minNotional: 0, minAmount: 0 }) }, 'below-min-notional'],
    ['raise beyond max position', { account: { sizingValue: 20, maxPositionUsd: 50, minNotionalPolicy: raise }, leverage: 1 }, 'below-min-notional'],
    ['raise beyond the balance', { account: { sizingValue: 20, minNotionalPolicy: raise }, leverage: 1, balance: balance(60) }, 'below-min-notional'],
    ['raise beyond the max quantity', { account: { sizingValue: 1, minNotionalPolicy: raise }, market: btcPerp({ maxAmount: 0.001 }) }, 'below-min-notional'],
  ] as const)('%s → %s', (_label, overrides, reason) => {
    expect(sizePosition(input(overrides))).toEqual({ kind: 'skipped', reason });
  });

  it('a balance exactly at the max age is still fresh', () => {
    expect(sizePosition(input({ balance: balance(1000, { asOf: NOW - 300_000 }) })).kind).toBe('sized');
  });

  it('raise: lifts to the minimum notional when it fits', () => {
    const r = sizePosition(input({ account: { sizingValue: 20, minNotionalPolicy: 'raise' }, leverage: 1 }));
    // 100 USDT minimum at 50 000 → 0.002 BTC, margin 100 at 1x
    expect(r).toMatchObject({
      kind: 'sized',
      qty: 0.002,
      notional: 100,
      margin: 100,
      raisedToMinimum: true,
      notes: ['raised-to-minimum'],
    });
  });

  it('raise: lifts to the minimum amount when that is the larger', () => {
    const r = sizePosition(
      input({
        market: btcPerp({ minAmount: 0.005 }),
        account: { sizingValue: 20, minNotionalPolicy: 'raise' },
        leverage: 5,
      }),
    );
    expect(r).toMatchObject({ kind: 'sized', qty: 0.005, notional: 250, margin: 50, raisedToMinimum: true });
  });

  it('raise: an awkward minimum notional is still reached after stepping', () => {
    const r = sizePosition(
      input({
        market: btcPerp({ minNotional: 100 }),
        price: 30_000,
        account: { sizingValue: 20, minNotionalPolicy: 'raise' },
        leverage: 1,
      }),
    );
    // 100 / 30 000 = 0.00333… → 0.004
    expect(r).toMatchObject({ kind: 'sized', qty: 0.004, notional: 120 });
  });
});

describe('sizing properties', () => {
  const steps = fc.constantFrom(1, 0.1, 0.01, 0.001, 0.00001, 1e-8, 5, 0.5);
  const scenario = fc.record({
    sizingMode: fc.constantFrom('fixed', 'percent', 'risk', 'kelly'),
    sizingValue: fc.double({ min: 0.1, max: 5000, noNaN: true }),
    riskPerTradePct: fc.double({ min: 0.1, max: 10, noNaN: true }),
    maxPositionUsd: fc.double({ min: 10, max: 100_000, noNaN: true }),
    minNotionalPolicy: fc.constantFrom('skip', 'raise'),
    leverage: fc.integer({ min: 1, max: 125 }),
    price: fc.double({ min: 0.0001, max: 200_000, noNaN: true }),
    stopFactor: fc.double({ min: 0.5, max: 1.5, noNaN: true }),
    amountStep: steps,
    minSteps: fc.integer({ min: 0, max: 50 }),
    minNotional: fc.constantFrom(0, 1, 5, 10, 100),
    contractSize: fc.constantFrom(1, 1, 0.01, 0.001, 10, 100),
    maxAmount: fc.option(fc.double({ min: 1, max: 1e7, noNaN: true }), { nil: null }),
    available: fc.double({ min: 0, max: 1e6, noNaN: true }),
    equityFactor: fc.double({ min: 0, max: 3, noNaN: true }),
    pnls: fc.array(fc.double({ min: -500, max: 500, noNaN: true }), { maxLength: 30 }),
  });

  it('quantity × price never exceeds max position × leverage, and margin stays within limits', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const r = sizePosition({
          account: settings({
            sizingMode: s.sizingMode,
            sizingValue: s.sizingValue,
            riskPerTradePct: s.riskPerTradePct,
            maxPositionUsd: s.maxPositionUsd,
            minNotionalPolicy: s.minNotionalPolicy,
          }),
          market: btcPerp({
            amountStep: s.amountStep,
            minAmount: s.amountStep * s.minSteps,
            minNotional: s.minNotional,
            contractSize: s.contractSize,
            maxAmount: s.maxAmount,
          }),
          leverage: s.leverage,
          price: s.price,
          stopLoss: s.price * s.stopFactor,
          balance: balance(s.available, { equity: s.available * s.equityFactor }),
          nowMs: NOW,
          maxBalanceAgeMs: 300_000,
          closedTradePnls: s.pnls,
          kelly: { lookbackTrades: 10, fraction: 0.5, cap: 0.25 },
        });
        if (r.kind !== 'sized') return;
        const value = new Big(r.qty).times(s.price).times(s.contractSize);
        // Exact decimal comparison, no tolerance.
        expect(value.lte(new Big(s.maxPositionUsd).times(s.leverage))).toBe(true);
        expect(new Big(r.margin).lte(s.maxPositionUsd)).toBe(true);
        expect(new Big(r.margin).lte(s.available)).toBe(true);
        expect(r.qty).toBeGreaterThan(0);
        // On the step, unless the quantity has more digits than a double holds (see precision.ts).
        if (new Big(r.qty).c.length <= 15) expect(new Big(r.qty).mod(s.amountStep).eq(0)).toBe(true);
        expect(new Big(r.qty).gte(new Big(s.amountStep).times(s.minSteps))).toBe(true);
        expect(value.gte(s.minNotional)).toBe(true);
        if (s.maxAmount !== null) expect(r.qty).toBeLessThanOrEqual(s.maxAmount);
      }),
      { numRuns: 5000 },
    );
  });

  it('holds beyond double precision (2.4e9 contracts at a 1e-8 step)', () => {
    const r = sizePosition(
      input({
        account: { sizingMode: 'fixed', sizingValue: 10, maxPositionUsd: 10 },
        leverage: 24,
        price: 0.00010000000000000006,
        market: btcPerp({
          amountStep: 1e-8,
          minAmount: 0,
          minNotional: 0,
          contractSize: 0.001,
          maxAmount: null,
        }),
        balance: balance(10),
      }),
    );
    expect(r.kind).toBe('sized');
    if (r.kind === 'sized')
      expect(new Big(r.qty).times('0.00010000000000000006').times(0.001).lte(240)).toBe(true);
  });

  it('worked-example shape: percent mode never exceeds the cap at any balance', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.integer({ min: 1, max: 125 }),
        (available, leverage) => {
          const r = sizePosition(
            input({
              account: { sizingMode: 'percent', sizingValue: 2, maxPositionUsd: 100 },
              leverage,
              balance: balance(available),
            }),
          );
          if (r.kind === 'sized') expect(new Big(r.qty).times(50_000).lte(100 * leverage)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
