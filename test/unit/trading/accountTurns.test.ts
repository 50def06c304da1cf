import { describe, expect, it } from 'vitest';
import type { SignalRow } from '../../../src/db/repositories/signals';
import type { ExecutionRow } from '../../../src/db/repositories/trading';
import { accountTurnsOf } from '../../../src/trading/accountTurns';

const execution = (id: string, accountId: string, signalId: string, symbol: string | null = null) =>
  ({ id, accountId, signalId, symbol }) as ExecutionRow;
const signal = (id: string, at: number) => ({ id, sourceRef: id, createdAt: new Date(at) }) as SignalRow;
const signals = new Map([
  ['s1', signal('s1', 1_000)],
  ['s2', signal('s2', 2_000)],
  ['s3', signal('s3', 3_000)],
]);
const signalOf = async (id: string) => signals.get(id) ?? null;
const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
};

describe('accountTurnsOf: one account at a time, in signal order', () => {
  it('orders one batch by signal time per account; other accounts go at once', async () => {
    const turns = await accountTurnsOf(
      [execution('b', 'x', 's2'), execution('a', 'x', 's1'), execution('c', 'y', 's3')],
      signalOf,
    );
    expect(await settled(turns.get('a')!.before)).toBe(true);
    expect(await settled(turns.get('c')!.before)).toBe(true);
    expect(await settled(turns.get('b')!.before)).toBe(false);
    turns.get('a')!.done();
    expect(await settled(turns.get('b')!.before)).toBe(true);
  });

  it("with a process's tails, a later batch waits for the account's execution still running in an earlier one", async () => {
    const tails = new Map<string, Promise<void>>();
    const first = await accountTurnsOf([execution('a', 'x', 's1')], signalOf, tails);
    const second = await accountTurnsOf([execution('b', 'x', 's2'), execution('c', 'y', 's3')], signalOf, tails);
    expect(await settled(second.get('b')!.before)).toBe(false);
    expect(await settled(second.get('c')!.before)).toBe(true);
    first.get('a')!.done();
    expect(await settled(second.get('b')!.before)).toBe(true);
    second.get('b')!.done();
    second.get('c')!.done();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Nothing left behind once every execution is done.
    expect(tails.size).toBe(0);
  });

  it('a planned execution (resumed to reconcile) neither waits for another run nor holds one up', async () => {
    const tails = new Map<string, Promise<void>>();
    const fresh = await accountTurnsOf([execution('a', 'x', 's2')], signalOf, tails);
    const resumed = await accountTurnsOf([execution('b', 'x', 's1', 'BTC/USDT:USDT')], signalOf, tails);
    expect(await settled(resumed.get('b')!.before)).toBe(true);
    const next = await accountTurnsOf([execution('c', 'x', 's3')], signalOf, tails);
    // The next unplanned one waits for the unplanned 'a' only.
    expect(await settled(next.get('c')!.before)).toBe(false);
    fresh.get('a')!.done();
    expect(await settled(next.get('c')!.before)).toBe(true);
  });
});
