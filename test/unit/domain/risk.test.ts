import { describe, expect, it } from 'vitest';
import {
  checkRisk,
  dailyLossPause,
  dailyLossReached,
  nextUtcDay,
  utcDayKey,
  utcDayStart,
  type RiskInput,
} from '../../../src/domain/risk';
import { NOW, settings } from './fixtures';

type Overrides = Partial<Omit<RiskInput, 'account' | 'day' | 'exposure' | 'signal'>> & {
  account?: Partial<RiskInput['account']>;
  day?: Partial<RiskInput['day']>;
  exposure?: Partial<RiskInput['exposure']>;
  signal?: Partial<RiskInput['signal']>;
};

function input(o: Overrides = {}): RiskInput {
  const { account, day, exposure, signal, ...rest } = o;
  return {
    nowMs: NOW,
    account: settings(account),
    pausedUntilMs: null,
    day: { trades: 0, realisedPnl: 0, startingEquity: 1000, ...day },
    exposure: { currentUsd: 0, newUsd: 500, capUsd: null, ...exposure },
    base: 'BTC',
    signal: { side: 'long', entryType: 'market', stopLoss: 48_000, timeMs: NOW - 5_000, ...signal },
    maxSignalLagMs: 120_000,
    currentPrice: 50_000,
    ...rest,
  };
}

describe('checkRisk', () => {
  it('passes a clean case', () => {
    expect(checkRisk(input())).toEqual({ kind: 'ok' });
  });

  // prettier-ignore
  it.each([
    ['paused until later today', { pausedUntilMs: NOW + 1 }, 'paused-daily-loss'],
    ['daily trades at the limit', { day: { trades: 5 }, account: { maxDailyTrades: 5 } }, 'daily-trade-limit'],
    // 5 % of 1000 = 50
    ['daily loss at the limit', { day: { realisedPnl: -50 } }, 'daily-loss-limit'],
    ['daily loss past the limit', { day: { realisedPnl: -80 } }, 'daily-loss-limit'],
    ['daily loss with stop-on-loss off still blocks', { day: { realisedPnl: -80 }, account: { stopOnLoss: false } }, 'daily-loss-limit'],
    ['exposure over the cap', { exposure: { currentUsd: 600, newUsd: 500, capUsd: 1000 } }, 'exposure-cap'],
    ['symbol blocked', { account: { symbolBlock: ['ETH', 'btc'] } }, 'symbol-blocked'],
    ['symbol not in allow list', { account: { symbolAllow: ['ETH', 'SOL'] } }, 'symbol-not-allowed'],
    ['signal too old', { signal: { timeMs: NOW - 120_001 } }, 'signal-too-old'],
    ['spot short', { account: { marketType: 'spot' }, signal: { side: 'short', stopLoss: 52_000 } }, 'spot-cannot-short'],
    ['long: price already under the stop', { currentPrice: 47_900 }, 'stop-wrong-side-at-market'],
    ['long: price at the stop', { currentPrice: 48_000 }, 'stop-wrong-side-at-market'],
    // It would fill at once, into a position its own stop has already passed.
    ['long limit entry: price already under the stop', { signal: { entryType: 'limit' }, currentPrice: 47_000 }, 'stop-wrong-side-at-market'],
    ['short: price already over the stop', { signal: { side: 'short', stopLoss: 52_000 }, currentPrice: 52_100 }, 'stop-wrong-side-at-market'],
  ] as const)('%s → %s', (_label, overrides, reason) => {
    expect(checkRisk(input(overrides as Overrides))).toEqual({ kind: 'skipped', reason });
  });

  // prettier-ignore
  it.each([
    ['pause over', { pausedUntilMs: NOW }],
    ['pause in the past', { pausedUntilMs: NOW - 1 }],
    ['trades under the limit', { day: { trades: 4 }, account: { maxDailyTrades: 5 } }],
    ['loss under the limit', { day: { realisedPnl: -49.99 } }],
    ['a profitable day', { day: { realisedPnl: 500 } }],
    ['exposure exactly at the cap', { exposure: { currentUsd: 500, newUsd: 500, capUsd: 1000 } }],
    ['no cap', { exposure: { currentUsd: 1e9, newUsd: 1e9, capUsd: null } }],
    ['symbol in allow list', { account: { symbolAllow: ['btc'] } }],
    ['signal exactly at the max lag', { signal: { timeMs: NOW - 120_000 } }],
    ['spot long', { account: { marketType: 'spot' } }],
    ['limit entry with the price above its stop', { signal: { entryType: 'limit' }, currentPrice: 48_100 }],
    ['market entry with no price known', { currentPrice: null }],
    ['short, price under the stop', { signal: { side: 'short', stopLoss: 52_000 }, currentPrice: 51_900 }],
  ] as const)('%s → ok', (_label, overrides) => {
    expect(checkRisk(input(overrides as Overrides))).toEqual({ kind: 'ok' });
  });

  it('reports the first failing check in the fixed order', () => {
    const everything: Overrides = {
      pausedUntilMs: NOW + 1,
      day: { trades: 9, realisedPnl: -500 },
      exposure: { currentUsd: 1e6, capUsd: 1 },
      account: { symbolBlock: ['BTC'], symbolAllow: ['ETH'], marketType: 'spot' },
      signal: { timeMs: 0, side: 'short', stopLoss: 1 },
      currentPrice: 50_000,
    };
    const order = [
      'paused-daily-loss',
      'daily-trade-limit',
      'daily-loss-limit',
      'exposure-cap',
      'symbol-blocked',
      'symbol-not-allowed',
      'signal-too-old',
      'spot-cannot-short',
      'stop-wrong-side-at-market',
    ];
    // Lift the failing checks one by one: each time the next reason in the order is reported.
    const lifts: Overrides[] = [
      { pausedUntilMs: null },
      { day: { trades: 0, realisedPnl: -500 } },
      { day: { trades: 0, realisedPnl: 0 } },
      { exposure: { currentUsd: 0, capUsd: null } },
      { account: { symbolBlock: [], symbolAllow: ['ETH'], marketType: 'spot' } },
      { account: { symbolBlock: [], symbolAllow: [], marketType: 'spot' } },
      { signal: { timeMs: NOW, side: 'short', stopLoss: 1 } },
      { account: { symbolBlock: [], symbolAllow: [], marketType: 'futures' } },
    ];
    let current = everything;
    for (const [i, reason] of order.entries()) {
      expect(checkRisk(input(current))).toEqual({ kind: 'skipped', reason });
      const lift = lifts[i];
      if (lift) current = { ...current, ...lift };
    }
  });
});

describe('UTC days', () => {
  it.each([
    [Date.UTC(2026, 10, 22, 12, 0, 0), Date.UTC(2026, 10, 22), Date.UTC(2026, 10, 23), '2026-11-22'],
    [Date.UTC(2026, 10, 22), Date.UTC(2026, 10, 22), Date.UTC(2026, 10, 23), '2026-11-22'],
    [Date.UTC(2026, 10, 22) - 1, Date.UTC(2026, 10, 21), Date.UTC(2026, 10, 22), '2026-11-21'],
    [Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 1, 29), Date.UTC(2024, 2, 1), '2024-02-29'],
    [Date.UTC(2026, 11, 31, 23), Date.UTC(2026, 11, 31), Date.UTC(2027, 0, 1), '2026-12-31'],
  ])('%s → day %s, next %s (%s)', (now, start, next, key) => {
    expect(utcDayStart(now)).toBe(start);
    expect(nextUtcDay(now)).toBe(next);
    expect(utcDayKey(now)).toBe(key);
  });
});

describe('daily loss rule', () => {
  const account = { maxDailyLossPct: 5, stopOnLoss: true };
  it('pauses until the next UTC day once the loss reaches the limit', () => {
    expect(dailyLossPause(NOW, { trades: 3, realisedPnl: -50, startingEquity: 1000 }, account)).toEqual({
      kind: 'pause',
      reason: 'paused-daily-loss',
      untilMs: Date.UTC(2026, 10, 23),
    });
  });
  it.each([
    ['under the limit', { trades: 3, realisedPnl: -49, startingEquity: 1000 }, account],
    ['a profit', { trades: 3, realisedPnl: 80, startingEquity: 1000 }, account],
    [
      'stop-on-loss off',
      { trades: 3, realisedPnl: -500, startingEquity: 1000 },
      { ...account, stopOnLoss: false },
    ],
  ])('continues: %s', (_label, day, acc) => {
    expect(dailyLossPause(NOW, day, acc)).toEqual({ kind: 'continue' });
  });
  it('treats any loss as reaching the limit when the starting equity is unknown', () => {
    expect(dailyLossReached({ trades: 1, realisedPnl: -0.01, startingEquity: 0 }, 5)).toBe(true);
    expect(dailyLossReached({ trades: 1, realisedPnl: 0, startingEquity: 0 }, 5)).toBe(false);
  });
  it('is decimal-exact at the boundary', () => {
    // 0.1 + 0.2 style noise must not decide: 3 % of 1234.5 = 37.035
    expect(dailyLossReached({ trades: 1, realisedPnl: -37.035, startingEquity: 1234.5 }, 3)).toBe(true);
    expect(dailyLossReached({ trades: 1, realisedPnl: -37.034, startingEquity: 1234.5 }, 3)).toBe(false);
  });
});
