import { describe, expect, it } from 'vitest';
import { ExchangeClocks } from '../../../src/exchange/ccxt/exchangeClock';
import type { ClockKey } from '../../../src/exchange/ccxt/exchangeClock';

const FUTURES: ClockKey = { exchangeId: 'binance', mode: 'live', marketType: 'futures' };
const SPOT: ClockKey = { exchangeId: 'binance', mode: 'live', marketType: 'spot' };

/** A host clock and an exchange clock `skew` ms behind it, each read counted. */
function setup(skew: number) {
  let host = 1_000_000;
  const state = { skew, reads: [] as ClockKey[], fail: false, pending: undefined as (() => void) | undefined, hold: false };
  const clocks = new ExchangeClocks({
    now: () => host,
    refreshMs: 60_000,
    retryMs: 10_000,
    readServerTime: async (key) => {
      state.reads.push(key);
      if (state.hold) await new Promise<void>((resolve) => (state.pending = resolve));
      if (state.fail) throw new Error('no answer');
      return host - state.skew;
    },
  });
  return { clocks, state, advance: (ms: number) => (host += ms) };
}

describe('exchange clock offsets', () => {
  it('measures once per (exchange, mode, market type) before the first use, and shares it', async () => {
    const { clocks, state } = setup(2_500);
    const a = clocks.for(FUTURES);
    const b = clocks.for(FUTURES);
    await Promise.all([a.sync(), b.sync()]);
    expect(a.offsetMs()).toBe(2_500);
    expect(b.offsetMs()).toBe(2_500);
    expect(state.reads).toEqual([FUTURES]);
    await clocks.for(SPOT).sync();
    expect(state.reads).toEqual([FUTURES, SPOT]);
  });

  it('re-reads a stale offset in the background, serving the old one meanwhile', async () => {
    const { clocks, state, advance } = setup(2_500);
    const clock = clocks.for(FUTURES);
    await clock.sync();
    advance(30_000);
    await clock.sync();
    expect(state.reads).toHaveLength(1);
    advance(31_000);
    state.skew = -4_000;
    state.hold = true;
    await clock.sync();
    expect(clock.offsetMs()).toBe(2_500);
    state.pending?.();
    await clock.resync(clock.generation());
    expect(clock.offsetMs()).toBe(-4_000);
    expect(state.reads).toHaveLength(2);
  });

  it('a re-read after -1021 happens at once; a burst of refusals signed with one offset makes one read', async () => {
    const { clocks, state } = setup(0);
    const clock = clocks.for(FUTURES);
    await clock.sync();
    const signedWith = clock.generation();
    state.skew = 3_000;
    await Promise.all([clock.resync(signedWith), clock.resync(signedWith), clocks.for(FUTURES).resync(signedWith)]);
    expect(clock.offsetMs()).toBe(3_000);
    expect(state.reads).toHaveLength(2);
    // A late refusal of a request signed before that read: the new offset is already there.
    await clock.resync(signedWith);
    expect(state.reads).toHaveLength(2);
    // A refusal of a request signed with the new offset reads again.
    await clock.resync(clock.generation());
    expect(state.reads).toHaveLength(3);
  });

  it('a failed read keeps the last offset, never throws, and is not retried on every call', async () => {
    const { clocks, state, advance } = setup(1_500);
    const clock = clocks.for(FUTURES);
    state.fail = true;
    await expect(clock.sync()).resolves.toBeUndefined();
    expect(clock.offsetMs()).toBe(0);
    await clock.sync();
    expect(state.reads).toHaveLength(1);
    state.fail = false;
    advance(10_000);
    await clock.sync();
    expect(clock.offsetMs()).toBe(1_500);
  });

  it('an exchange without a time endpoint keeps offset 0 and is not asked again', async () => {
    const clocks = new ExchangeClocks({ now: () => 5, readServerTime: async () => undefined });
    const clock = clocks.for({ exchangeId: 'kraken', mode: 'live', marketType: 'spot' });
    await clock.sync();
    await clock.sync();
    expect(clock.offsetMs()).toBe(0);
  });
});
