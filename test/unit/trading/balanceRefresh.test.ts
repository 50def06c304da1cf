import { describe, expect, it } from 'vitest';
import type { AccountRow, AccountsRepository } from '../../../src/db/repositories/accounts';
import type { TradingRepository } from '../../../src/db/repositories/trading';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import { createLogger } from '../../../src/logger';
import { BalanceRefresh } from '../../../src/trading/balanceRefresh';

const MINUTE = 60_000;

/**
 * Balances that a user-data stream vouches for are confirmed without a read; every other stale one
 * is read. `quiet` says, per account, since when its stream reports no balance change (null: no open stream).
 */
function harness(ids: string[]) {
  let now = 1_800_000_000_000;
  const rows = new Map<string, AccountRow>(ids.map((id) => [id, { id, balanceAt: null, enabled: true } as unknown as AccountRow]));
  const reads: string[] = [];
  const confirmed: string[][] = [];
  const quiet = new Map<string, number | null>();
  const accounts = {
    listStaleBalances: async (olderThan: Date, limit: number) =>
      [...rows.values()].filter((row) => row.balanceAt === null || row.balanceAt < olderThan).slice(0, limit),
    byIds: async (wanted: string[]) => wanted.map((id) => rows.get(id)!),
    recordBalance: async (id: string, _free: number, _equity: number, at: Date) => {
      rows.set(id, { ...rows.get(id)!, balanceAt: at });
    },
    confirmBalances: async (confirm: string[], at: Date) => {
      confirmed.push([...confirm]);
      for (const id of confirm) rows.set(id, { ...rows.get(id)!, balanceAt: at });
    },
  } as unknown as AccountsRepository;
  const trading = { recordStartEquity: async () => undefined } as unknown as TradingRepository;
  const gatewayFor = (account: AccountRow) =>
    ({
      balance: async () => {
        reads.push(account.id);
        return { free: 100, equity: 100, asOf: now };
      },
    }) as unknown as ExchangeGateway;
  const refresh = new BalanceRefresh(
    { accounts, trading, gatewayFor, clock: { now: () => now, sleep: async () => undefined }, log: createLogger({ level: 'silent' }), metrics: undefined, onAuthFailure: async () => undefined },
    { balanceMaxAgeMs: 5 * MINUTE, balanceRefreshPerCycle: 20, concurrency: 4, streamedBalanceMaxAgeMs: 30 * MINUTE },
  );
  refresh.confirmWith((id) => quiet.get(id) ?? null);
  return {
    refresh,
    reads,
    confirmed,
    quiet,
    rows,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe('BalanceRefresh with user-data streams', () => {
  it('confirms without a read a balance read after its stream opened, while the stream reports no change', async () => {
    const h = harness(['a', 'b']);
    h.quiet.set('a', h.now() - 1_000);
    await h.refresh.routine();
    expect(h.reads.sort()).toEqual(['a', 'b']);
    // Three minutes on (older than half the 5-minute limit): a is vouched for, b has no stream.
    h.advance(3 * MINUTE);
    await h.refresh.routine();
    expect(h.reads.sort()).toEqual(['a', 'b', 'b']);
    expect(h.confirmed).toEqual([['a']]);
    expect(h.rows.get('a')!.balanceAt!.getTime()).toBe(h.now());
  });

  it('reads again once the stream reports a change, or reconnects, after the read', async () => {
    const h = harness(['a']);
    h.quiet.set('a', h.now() - 1_000);
    await h.refresh.routine();
    h.advance(MINUTE);
    // A fill or a transfer: the balance read before it is out of date.
    h.quiet.set('a', h.now());
    h.advance(2 * MINUTE);
    await h.refresh.routine();
    expect(h.reads).toEqual(['a', 'a']);
    expect(h.confirmed).toEqual([]);
  });

  it('reads a balance whose stream is down, and one read more than 30 minutes ago however quiet its stream', async () => {
    const h = harness(['a']);
    h.quiet.set('a', h.now() - 1_000);
    await h.refresh.routine();
    for (let minute = 3; minute < 30; minute += 3) {
      h.advance(3 * MINUTE);
      await h.refresh.routine();
    }
    expect(h.reads).toEqual(['a']);
    h.advance(3 * MINUTE);
    await h.refresh.routine();
    expect(h.reads).toEqual(['a', 'a']);
    h.quiet.set('a', null);
    h.advance(3 * MINUTE);
    await h.refresh.routine();
    expect(h.reads).toEqual(['a', 'a', 'a']);
  });

  it('before a fan-out too: a stale balance the stream vouches for is confirmed, not read on the signal path', async () => {
    const h = harness(['a', 'b']);
    h.quiet.set('a', h.now() - 1_000);
    h.quiet.set('b', h.now() - 1_000);
    await h.refresh.beforeFanOut(['a', 'b']);
    h.advance(10 * MINUTE);
    await h.refresh.beforeFanOut(['a', 'b']);
    expect(h.reads.sort()).toEqual(['a', 'b']);
    expect(h.confirmed.map((ids) => [...ids].sort())).toEqual([['a', 'b']]);
  });
});
