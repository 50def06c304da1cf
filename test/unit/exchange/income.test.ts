import type { Exchange } from 'ccxt';
import { describe, expect, it } from 'vitest';
import { readIncome } from '../../../src/exchange/ccxt/income';

const T = Date.UTC(2026, 0, 5);

/** Binance's answer shape through ccxt: a window's first `limit` rows, oldest first (startTime inclusive). */
function fakeIncome(times: readonly number[]) {
  const calls: number[] = [];
  const exchange = {
    async fetchFundingHistory(_symbol: string | undefined, since: number, limit: number, params: { until: number }) {
      calls.push(since);
      return times
        .map((at, i) => ({ id: String(i + 1), symbol: 'BTC/USDT:USDT', code: 'USDT', amount: -0.01, timestamp: at }))
        .filter((row) => row.timestamp >= since && row.timestamp <= params.until)
        .slice(0, limit);
    },
  } as unknown as Exchange;
  return { exchange, calls };
}

describe('reading the income history', () => {
  it('pages on from the last row\'s time, each row once', async () => {
    const times = Array.from({ length: 2_500 }, (_, i) => T + i * 1000);
    const { exchange, calls } = fakeIncome(times);
    const read = await readIncome(exchange, { kinds: ['funding'], since: T, until: T + 10_000_000 });
    expect(read.entries).toHaveLength(2_500);
    expect(new Set(read.entries.map((e) => e.id)).size).toBe(2_500);
    expect(read.readUntil).toBe(T + 10_000_000);
    expect(calls).toEqual([T, T + 999_000, T + 1_998_000]);
  });

  it('a history longer than it reads in one call says how far it got, and nothing past it is returned', async () => {
    const times = Array.from({ length: 25_000 }, (_, i) => T + i * 1000);
    const { exchange } = fakeIncome(times);
    const read = await readIncome(exchange, { kinds: ['funding'], since: T, until: T + 100_000_000 });
    expect(read.readUntil).toBeLessThan(T + 25_000 * 1000);
    expect(read.entries.every((e) => e.at <= read.readUntil)).toBe(true);
    // Everything up to readUntil is there: the caller goes on from it without a gap.
    expect(read.entries).toHaveLength(times.filter((at) => at <= read.readUntil).length);
  });

  it('a page of rows all at one time cannot be paged past: nothing at that time is claimed read', async () => {
    const times = [T, ...Array.from({ length: 1_000 }, () => T + 5_000)];
    const { exchange } = fakeIncome(times);
    const first = await readIncome(exchange, { kinds: ['funding'], since: T + 1, until: T + 60_000 });
    expect(first.readUntil).toBe(T + 4_999);
    expect(first.entries).toEqual([]);
  });
});
