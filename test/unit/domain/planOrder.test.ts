import Big from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountSettings } from '../../../src/domain/account';
import { clientOrderId } from '../../../src/domain/clientOrderId';
import type { MarketRules } from '../../../src/domain/market';
import { planAccountOrder, type PlanAccountOrderInput } from '../../../src/domain/planOrder';
import type { TradeSignal } from '../../../src/domain/signal';
import type { BalanceSnapshot } from '../../../src/domain/sizing';
import { balance, btcPerp, btcSpot, longSignal, NOW, settings } from './fixtures';

const markets = (...list: MarketRules[]) => new Map(list.map((m) => [m.symbol, m]));

interface Overrides {
  signal?: Partial<TradeSignal>;
  account?: Partial<AccountSettings>;
  markets?: Map<string, MarketRules>;
  balances?: BalanceSnapshot[];
  prices?: Record<string, number>;
  rest?: Partial<PlanAccountOrderInput>;
}

function input(o: Overrides = {}): PlanAccountOrderInput {
  return {
    signalId: 'sig-1',
    accountId: 'acc-1',
    signal: longSignal(o.signal),
    signalTimeMs: NOW - 2_000,
    nowMs: NOW,
    account: settings(o.account),
    markets: o.markets ?? markets(btcPerp(), btcSpot()),
    balances: new Map((o.balances ?? [balance(1000)]).map((b) => [b.asset, b])),
    maxBalanceAgeMs: 300_000,
    prices: new Map(Object.entries(o.prices ?? { 'BTC/USDT:USDT': 50_000, 'BTC/USDT': 50_000 })),
    day: { trades: 0, realisedPnl: 0, startingEquity: 1000 },
    pausedUntilMs: null,
    exposure: { currentUsd: 0, capUsd: null },
    maxSignalLagMs: 120_000,
    ...o.rest,
  };
}

describe('planAccountOrder', () => {
  it('a pair priced in a coin (ETH/BTC) is refused with its reason, never sized as dollars (issue #12 item 1)', () => {
    // Fixed 100 USD with the USDT balance as if it were BTC planned 3,333 ETH (a notional of 100 BTC).
    const ethBtc = btcSpot({ symbol: 'ETH/BTC', base: 'ETH', quote: 'BTC', priceStep: 0.00001, amountStep: 0.0001, minNotional: 0.0001 });
    const r = planAccountOrder(
      input({
        account: { marketType: 'spot', sizingMode: 'fixed', sizingValue: 100, maxPositionUsd: 1_000, leverage: 1 },
        markets: markets(ethBtc),
        balances: [balance(10_000, { asset: 'BTC' })],
        prices: { 'ETH/BTC': 0.03 },
        signal: { symbol: 'ETH/BTC', stopLoss: 0.028, takeProfits: [0.032], leverage: 1 },
      }),
    );
    expect(r).toEqual({ kind: 'skipped', reason: 'quote-not-usd' });
  });

  it('a dollar-stable quote is sized as dollars (USDC pairs too)', () => {
    const btcUsdc = btcSpot({ symbol: 'BTC/USDC', quote: 'USDC' });
    const r = planAccountOrder(
      input({
        account: { marketType: 'spot', sizingMode: 'fixed', sizingValue: 100, maxPositionUsd: 1_000, leverage: 1 },
        markets: markets(btcUsdc),
        balances: [balance(1_000, { asset: 'USDC' })],
        prices: { 'BTC/USDC': 50_000 },
        signal: { symbol: 'BTC/USDC', leverage: 1 },
      }),
    );
    expect(r).toMatchObject({ kind: 'planned', symbol: 'BTC/USDC', notional: 100 });
  });

  it('worked example end to end: percent 2 %, max 100, 20x, market entry at 50 000', () => {
    for (const [available, margin, qty] of [
      [1000, 20, 0.008],
      [5000, 100, 0.04],
      [500, 10, 0.004],
    ] as const) {
      const r = planAccountOrder(
        input({
          account: { sizingMode: 'percent', sizingValue: 2, maxPositionUsd: 100, leverage: 20 },
          balances: [balance(available)],
          signal: { takeProfits: [] },
        }),
      );
      expect(r).toMatchObject({ kind: 'planned', symbol: 'BTC/USDT:USDT', leverage: 20, margin, qty });
    }
  });

  it('plans a futures market long: entry, reduce-only stop and split take-profits with ids', () => {
    const r = planAccountOrder(
      input({
        account: { sizingMode: 'fixed', sizingValue: 100, leverage: 10 },
        signal: { stopLoss: 48_000.04, takeProfits: [52_000.06, 54_000] },
      }),
    );
    expect(r.kind).toBe('planned');
    if (r.kind !== 'planned') return;
    expect(r).toMatchObject({
      qty: 0.02,
      notional: 1000,
      margin: 100,
      leverage: 10,
      stopLoss: 48_000,
      notes: [],
    });
    expect(r.takeProfits).toEqual([52_000.1, 54_000]);
    expect(r.legs).toEqual([
      {
        leg: 'e0',
        clientOrderId: clientOrderId('sig-1', 'acc-1', 'e0'),
        role: 'entry',
        type: 'market',
        side: 'buy',
        qty: 0.02,
        price: null,
        triggerPrice: null,
        reduceOnly: false,
      },
      {
        leg: 's0',
        clientOrderId: clientOrderId('sig-1', 'acc-1', 's0'),
        role: 'stop-loss',
        type: 'stop-loss',
        side: 'sell',
        qty: 0.02,
        price: null,
        triggerPrice: 48_000,
        reduceOnly: true,
      },
      {
        leg: 't0',
        clientOrderId: clientOrderId('sig-1', 'acc-1', 't0'),
        role: 'take-profit',
        type: 'take-profit',
        side: 'sell',
        qty: 0.01,
        price: 52_000.1,
        triggerPrice: null,
        reduceOnly: true,
      },
      {
        leg: 't1',
        clientOrderId: clientOrderId('sig-1', 'acc-1', 't1'),
        role: 'take-profit',
        type: 'take-profit',
        side: 'sell',
        qty: 0.01,
        price: 54_000,
        triggerPrice: null,
        reduceOnly: true,
      },
    ]);
  });

  it('plans limit entries sized at their mean price, short side', () => {
    const r = planAccountOrder(
      input({
        account: { sizingMode: 'fixed', sizingValue: 150, leverage: 10 },
        signal: {
          side: 'short',
          entryType: 'limit',
          entries: [50_000, 51_000, 52_000],
          stopLoss: 53_000,
          takeProfits: [48_000],
        },
      }),
    );
    expect(r.kind).toBe('planned');
    if (r.kind !== 'planned') return;
    // 1500 notional at the mean 51 000 → 0.029 → 0.01 / 0.01 / 0.009
    expect(r.referencePrice).toBe(51_000);
    expect(r.qty).toBe(0.029);
    const entries = r.legs.filter((l) => l.role === 'entry');
    expect(entries.map((l) => [l.leg, l.type, l.side, l.price, l.qty])).toEqual([
      ['e0', 'limit', 'sell', 50_000, 0.01],
      ['e1', 'limit', 'sell', 51_000, 0.01],
      ['e2', 'limit', 'sell', 52_000, 0.009],
    ]);
    expect(r.legs.filter((l) => l.role !== 'entry').every((l) => l.side === 'buy' && l.reduceOnly)).toBe(
      true,
    );
  });

  it('spot: leverage 1, no reduce-only, substituted quote noted', () => {
    const r = planAccountOrder(
      input({
        account: { marketType: 'spot', sizingMode: 'fixed', sizingValue: 100 },
        markets: markets(btcSpot({ symbol: 'BTC/USDC', quote: 'USDC' })),
        balances: [balance(1000, { asset: 'USDC' })],
        prices: { 'BTC/USDC': 50_000 },
        signal: { leverage: 20 },
      }),
    );
    expect(r).toMatchObject({
      kind: 'planned',
      symbol: 'BTC/USDC',
      leverage: 1,
      leverageCapped: false,
      qty: 0.002,
      notes: ['quote-substituted'],
    });
    if (r.kind === 'planned') expect(r.legs.every((l) => !l.reduceOnly)).toBe(true);
  });

  it('notes capped leverage, merged entries and take-profits below the minimum', () => {
    const r = planAccountOrder(
      input({
        account: { sizingMode: 'fixed', sizingValue: 25, leverage: 10 },
        markets: markets(btcPerp({ maxLeverage: 8 })),
        signal: { leverage: 50, entryType: 'limit', entries: [49_000, 50_000], takeProfits: [52_000] },
      }),
    );
    // 25 × 8 = 200 → 0.004 at the mean 49 500; the first part (0.002 at 49 000 = 98 USDT) is below the
    // minimum and joins the next: 0.004 at 50 000 = 200, exactly the cap.
    expect(r).toMatchObject({
      kind: 'planned',
      leverage: 8,
      leverageRequested: 50,
      leverageCapped: true,
      qty: 0.004,
    });
    if (r.kind === 'planned') expect(r.notes).toEqual(['leverage-capped', 'entries-merged']);

    const tiny = planAccountOrder(
      input({
        account: { sizingMode: 'fixed', sizingValue: 10, leverage: 10 },
        markets: markets(btcPerp({ minNotional: 100 })),
        signal: { side: 'short', stopLoss: 52_000, takeProfits: [40_000] },
      }),
    );
    // 0.002 short; at the 40 000 target it is 80 USDT, below 100: stop only.
    expect(tiny).toMatchObject({ kind: 'planned', qty: 0.002, notes: ['take-profits-below-minimum'] });
    if (tiny.kind === 'planned') expect(tiny.legs.map((l) => l.leg)).toEqual(['e0', 's0']);
  });

  it('trims limit legs whose merge would carry them past the max position', () => {
    const r = planAccountOrder(
      input({
        account: { sizingMode: 'fixed', sizingValue: 25, maxPositionUsd: 25, leverage: 8 },
        signal: { entryType: 'limit', entries: [40_000, 60_000], stopLoss: 35_000, takeProfits: [] },
      }),
    );
    // 0.004 at the mean 50 000 = 200 = 25 × 8; split, the 0.002 at 40 000 (80 USDT) joins 60 000 → 240,
    // past the cap; trimmed to 0.003, which fits as one leg at 40 000.
    expect(r).toMatchObject({ kind: 'planned', qty: 0.003, notional: 120, margin: 15 });
    if (r.kind === 'planned')
      expect(r.legs.map((l) => [l.leg, l.price, l.qty])).toEqual([
        ['e0', 40_000, 0.003],
        ['s0', null, 0.003],
      ]);
  });

  // prettier-ignore
  it.each([
    ['symbol-not-listed', { signal: { symbol: 'PEPE/USDT' } }],
    ['stop-too-close', { signal: { entryType: 'limit', entries: [50_000.04], stopLoss: 50_000.01 } }],
    ['price-unavailable', { prices: {} }],
    ['balance-stale', { balances: [balance(1000, { asOf: NOW - 3_600_000 })] }],
    ['balance-stale', { balances: [balance(1000, { asset: 'USDC' })] }],
    ['insufficient-balance', { balances: [balance(0)] }],
    ['below-min-notional', { account: { sizingValue: 5, leverage: 1 } }],
    ['paused-daily-loss', { rest: { pausedUntilMs: NOW + 60_000 } }],
    ['daily-trade-limit', { rest: { day: { trades: 5, realisedPnl: 0, startingEquity: 1000 } } }],
    ['daily-loss-limit', { rest: { day: { trades: 1, realisedPnl: -60, startingEquity: 1000 } } }],
    ['exposure-cap', { rest: { exposure: { currentUsd: 9500, capUsd: 10_000 } } }],
    ['symbol-blocked', { account: { symbolBlock: ['BTC'] } }],
    ['symbol-not-allowed', { account: { symbolAllow: ['ETH'] } }],
    ['signal-too-old', { rest: { signalTimeMs: NOW - 600_000 } }],
    ['spot-cannot-short', { account: { marketType: 'spot' }, signal: { side: 'short', stopLoss: 52_000, takeProfits: [] } }],
    ['stop-wrong-side-at-market', { prices: { 'BTC/USDT:USDT': 47_000 } }],
  ] as const)('skips with %s', (reason, overrides) => {
    expect(planAccountOrder(input(overrides as Overrides))).toEqual({ kind: 'skipped', reason });
  });

  it('never plans more than max position × leverage, and every leg is on its steps', () => {
    fc.assert(
      fc.property(
        fc.record({
          mode: fc.constantFrom('fixed', 'percent', 'risk', 'kelly'),
          sizingValue: fc.double({ min: 1, max: 200, noNaN: true }),
          maxPositionUsd: fc.double({ min: 10, max: 5000, noNaN: true }),
          leverage: fc.integer({ min: 1, max: 20 }),
          signalLeverage: fc.option(fc.integer({ min: 1, max: 125 }), { nil: null }),
          price: fc.double({ min: 1000, max: 100_000, noNaN: true }),
          entries: fc.array(fc.double({ min: 0.7, max: 1.0, noNaN: true }), { maxLength: 4 }),
          available: fc.double({ min: 0, max: 100_000, noNaN: true }),
          policy: fc.constantFrom('skip', 'raise'),
          tps: fc.array(fc.double({ min: 1.01, max: 1.3, noNaN: true }), { maxLength: 4 }),
        }),
        (s) => {
          const limit = s.entries.length > 0;
          const r = planAccountOrder(
            input({
              account: {
                sizingMode: s.mode,
                sizingValue: s.sizingValue,
                maxPositionUsd: s.maxPositionUsd,
                leverage: s.leverage,
                minNotionalPolicy: s.policy,
                riskPerTradePct: 1,
              },
              balances: [balance(s.available)],
              prices: { 'BTC/USDT:USDT': s.price },
              signal: {
                entryType: limit ? 'limit' : 'market',
                entries: s.entries.map((f) => s.price * f).sort((a, b) => a - b),
                stopLoss: s.price * 0.6,
                takeProfits: s.tps.map((f) => s.price * f).sort((a, b) => a - b),
                leverage: s.signalLeverage,
              },
            }),
          );
          fc.pre(r.kind === 'planned');
          if (r.kind !== 'planned') return;
          const cap = new Big(s.maxPositionUsd).times(r.leverage);
          const entries = r.legs.filter((l) => l.role === 'entry');
          const entryValue = entries.reduce(
            (a, l) => a.plus(new Big(l.qty).times(l.price ?? s.price)),
            new Big(0),
          );
          expect(entryValue.lte(cap)).toBe(true);
          // Reported figures are the exact ones rounded down to 1e-8.
          expect(new Big(r.notional).lte(entryValue) && entryValue.minus(r.notional).lt(1e-8)).toBe(true);
          expect(new Big(r.margin).lte(s.maxPositionUsd) && new Big(r.margin).lte(s.available)).toBe(true);
          expect(entries.reduce((a, l) => a.plus(l.qty), new Big(0)).eq(r.qty)).toBe(true);
          for (const l of r.legs) {
            expect(new Big(l.qty).mod(0.001).eq(0)).toBe(true);
            for (const p of [l.price, l.triggerPrice])
              if (p !== null) expect(new Big(p).mod(0.1).eq(0)).toBe(true);
          }
          if (s.mode === 'risk' && !r.notes.includes('raised-to-minimum')) {
            // Loss at the stop ≤ 1 % of equity (the fixture's equity is the available balance).
            const loss = entries.reduce(
              (a, l) => a.plus(new Big(l.qty).times(new Big(l.price ?? s.price).minus(r.stopLoss).abs())),
              new Big(0),
            );
            expect(loss.lte(new Big(s.available).times(0.01))).toBe(true);
          }
          const tpSum = r.legs
            .filter((l) => l.role === 'take-profit')
            .reduce((a, l) => a.plus(l.qty), new Big(0));
          expect(tpSum.lte(r.qty)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
