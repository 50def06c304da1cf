import { describe, expect, it } from 'vitest';
import { ExchangeClocks } from '../../../src/exchange/ccxt/exchangeClock';
import { isExchangeError } from '../../../src/exchange/errors';
import { currentLane } from '../../../src/exchange/requestLane';
import {
  BINANCE_POOLS,
  binanceRequestCost,
  ExchangeRateLimiter,
  parseRetryAfter,
  RateLimiterRegistry,
  requestWeightLimit,
} from '../../../src/exchange/ccxt/rateLimiter';

/** A clock that only moves when someone sleeps on it. */
function fakeClock(start = 1_700_000_040_000 /* a minute boundary */) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

/** A sleep that never ends: whatever waits for the next window is still waiting when the test looks. */
const neverWakes = () => new Promise<void>(() => {});

const headers = (values: Record<string, string>) => ({
  get: (name: string) => values[name.toLowerCase()] ?? null,
});

const limiter = (clock: ReturnType<typeof fakeClock>, limit = 100, extra: Partial<ConstructorParameters<typeof ExchangeRateLimiter>[0]> = {}) =>
  new ExchangeRateLimiter({
    exchangeId: 'binance',
    pools: { api: { limit, windowMs: 60_000 }, fapi: { limit, windowMs: 60_000 } },
    now: clock.now,
    sleep: clock.sleep,
    headroom: 1,
    ...extra,
  });

async function rejection(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('exchange rate limiter', () => {
  it('lets requests through while the minute has weight left', async () => {
    const clock = fakeClock();
    const rl = limiter(clock);
    for (let i = 0; i < 10; i++) await rl.acquire('api', 10);
    expect(clock.sleeps).toEqual([]);
    expect(rl.snapshot().pools['api']).toMatchObject({ used: 100, limit: 100 });
  });

  it('waits for the next minute window (aligned to the clock, as Binance counts) when the budget is spent', async () => {
    const clock = fakeClock(1_700_000_080_000); // 40 s into a minute
    const rl = limiter(clock);
    await rl.acquire('api', 95);
    await rl.acquire('api', 10);
    expect(clock.sleeps).toEqual([20_000]);
    expect(rl.snapshot().pools['api']).toMatchObject({ used: 10, windowStart: 1_700_000_100_000 });
  });

  it('keeps pools apart: a full spot minute does not hold back futures', async () => {
    const clock = fakeClock();
    const rl = limiter(clock);
    await rl.acquire('api', 100);
    await rl.acquire('fapi', 50);
    expect(clock.sleeps).toEqual([]);
  });

  it("takes the exchange's own count (X-MBX-USED-WEIGHT-1M) when it is higher than ours", async () => {
    const clock = fakeClock();
    const rl = limiter(clock);
    await rl.acquire('api', 1);
    rl.observe('api', 200, headers({ 'x-mbx-used-weight-1m': '99' }));
    expect(rl.snapshot().pools['api']?.used).toBe(99);
    rl.observe('api', 200, headers({ 'x-mbx-used-weight-1m': '50' }));
    expect(rl.snapshot().pools['api']?.used).toBe(99);
    await rl.acquire('api', 5);
    expect(clock.sleeps).toHaveLength(1);
  });

  it("ignores the count an answer carries when its request was sent in the last window (that window's count, not this one's)", async () => {
    const clock = fakeClock(1_700_000_099_950); // 50 ms before a minute ends
    const rl = limiter(clock);
    await rl.acquire('api', 1);
    const sentAt = rl.time();
    // The answer comes after the boundary, with the old minute's count.
    clock.advance(100);
    rl.observe('api', 200, headers({ 'x-mbx-used-weight-1m': '95' }), { sentAt });
    expect(rl.snapshot().pools['api']).toMatchObject({ used: 0, windowStart: 1_700_000_100_000 });
    await rl.acquire('api', 50);
    expect(clock.sleeps).toEqual([]);
    // One sent in this window counts.
    rl.observe('api', 200, headers({ 'x-mbx-used-weight-1m': '80' }), { sentAt: rl.time() });
    expect(rl.snapshot().pools['api']?.used).toBe(80);
  });

  it('keeps headroom below the limit for other processes on the IP', async () => {
    const clock = fakeClock();
    const rl = limiter(clock, 100, { headroom: 0.9 });
    await rl.acquire('api', 90);
    await rl.acquire('api', 1);
    expect(clock.sleeps).toHaveLength(1);
  });

  it('a 429 with Retry-After stops every pool at once until it expires, without waiting', async () => {
    const clock = fakeClock();
    const rl = limiter(clock);
    rl.observe('fapi', 429, headers({ 'retry-after': '30' }));
    for (const pool of ['api', 'fapi']) {
      const error = await rejection(rl.acquire(pool, 1));
      expect(isExchangeError(error, 'rate-limited')).toBe(true);
      expect((error as { retryAfterMs: number }).retryAfterMs).toBe(30_000);
    }
    expect(rl.blockedForMs()).toBe(30_000);
    clock.advance(29_999);
    expect(isExchangeError(await rejection(rl.acquire('api', 1)), 'rate-limited')).toBe(true);
    clock.advance(1);
    await rl.acquire('api', 1);
    expect(clock.sleeps).toEqual([]);
  });

  it('a 418 ban blocks for its Retry-After; the longest block wins', async () => {
    const clock = fakeClock();
    const rl = limiter(clock);
    rl.observe('api', 418, headers({ 'retry-after': '120' }));
    rl.observe('api', 429, headers({ 'retry-after': '5' }));
    expect(rl.blockedForMs()).toBe(120_000);
  });

  it('a 429 without Retry-After blocks until the window ends', async () => {
    const clock = fakeClock(1_700_000_090_000); // 50 s into a minute
    const rl = limiter(clock);
    rl.observe('api', 429, headers({}));
    expect(rl.blockedForMs()).toBe(10_000);
  });

  it('fails as rate-limited instead of waiting longer than maxWaitMs', async () => {
    const clock = fakeClock(1_700_000_080_000);
    const rl = limiter(clock, 100, { maxWaitMs: 5000 });
    await rl.acquire('api', 100);
    const error = await rejection(rl.acquire('api', 1));
    expect(isExchangeError(error, 'rate-limited')).toBe(true);
    expect((error as { retryAfterMs: number }).retryAfterMs).toBe(20_000);
  });

  it('serves waiting requests in order (FIFO)', async () => {
    const clock = fakeClock(1_700_000_080_000);
    const rl = limiter(clock);
    await rl.acquire('api', 100);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => rl.acquire('api', 30).then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
  });

  it('background reads use only their share of the budget; the rest stays free for signals', async () => {
    const clock = fakeClock(1_700_000_080_000); // 40 s into a minute
    const rl = limiter(clock, 100, { backgroundShare: 0.6, sleep: neverWakes });
    for (let i = 0; i < 6; i++) await rl.acquire('fapi', 10, 'background');
    // The seventh background read waits for the next window; a signal's read does not.
    let later = false;
    void rl.acquire('fapi', 10, 'background').then(() => (later = true));
    await rl.acquire('fapi', 40, 'signal');
    expect(rl.snapshot().pools['fapi']).toMatchObject({ used: 100, windowStart: 1_700_000_040_000 });
    expect(later).toBe(false);
  });

  it('background reads never take the room a waiting signal read needs, whoever waited first', async () => {
    // Timers that fire in time order when the test moves the clock (concurrent sleeps overlap).
    let now = 1_700_000_080_000;
    const timers: { at: number; fire: () => void }[] = [];
    const sleep = (ms: number) => new Promise<void>((fire) => timers.push({ at: now + ms, fire }));
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const rl = new ExchangeRateLimiter({
      exchangeId: 'binance',
      pools: { fapi: { limit: 100, windowMs: 60_000 } },
      now: () => now,
      sleep,
      headroom: 1,
      backgroundShare: 1,
      maxWaitMs: 120_000,
    });
    await rl.acquire('fapi', 100, 'signal');
    const order: string[] = [];
    const background = rl.acquire('fapi', 60, 'background').then(() => order.push('background'));
    const signal = rl.acquire('fapi', 60, 'signal').then(() => order.push('signal'));
    for (let i = 0; i < 4 && order.length < 2; i += 1) {
      await settle();
      timers.sort((a, b) => a.at - b.at);
      now = timers[0]?.at ?? now;
      for (const timer of timers.filter((t) => t.at <= now)) timer.fire();
      timers.splice(0, timers.filter((t) => t.at <= now).length);
      await settle();
    }
    await Promise.all([background, signal]);
    // The next minute had room for one of them: the signal's; the background read took the one after.
    expect(order).toEqual(['signal', 'background']);
    expect(rl.snapshot().pools['fapi']).toMatchObject({ used: 60, windowStart: 1_700_000_160_000 });
  });

  it('a write (a spot stop) that fits now never waits behind a read queued for the next window', async () => {
    const clock = fakeClock();
    const rl = limiter(clock, 100, { sleep: neverWakes });
    await rl.acquire('api', 95, 'signal');
    void rl.acquire('api', 20, 'signal');
    let placed = false;
    void rl.acquire('api', 1, 'write').then(() => (placed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(placed).toBe(true);
  });

  it('no lane waits past maxWaitMs from asking, however busy the lanes above it stay', async () => {
    const clock = fakeClock();
    const rl = limiter(clock, 100, { backgroundShare: 0.6, maxWaitMs: 60_000 });
    await rl.acquire('api', 100, 'signal');
    const askedAt = clock.now();
    let settledAt = Number.NaN;
    const background = rl.acquire('api', 1, 'background').finally(() => (settledAt = clock.now()));
    background.catch(() => undefined);
    // Signals that each fill a window keep the lane above busy.
    for (let i = 0; i < 5; i++) await rl.acquire('api', 100, 'signal');
    expect(isExchangeError(await rejection(background), 'rate-limited')).toBe(true);
    expect(settledAt - askedAt).toBeLessThanOrEqual(60_000);
  });

  it('a shared clock read started by background work runs in the signal lane: a signal joining it is not held back', async () => {
    const clock = fakeClock();
    const rl = limiter(clock, 100, { sleep: neverWakes });
    const clocks = new ExchangeClocks({
      now: clock.now,
      // As the runtime's keyless instance does: its request goes through the limiter in the caller's lane.
      readServerTime: async () => {
        await rl.acquire('api', 1, currentLane());
        return clock.now();
      },
    });
    const exchangeClock = clocks.for({ exchangeId: 'binance', mode: 'live', marketType: 'spot' });
    // Past the background share (60 of 100): a background read would wait for the next minute.
    await rl.acquire('api', 70, 'signal');
    let synced = false;
    void exchangeClock.sync().then(() => (synced = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(synced).toBe(true);
  });

  it('a request placed is counted once: a lower lane asking in the same tick sees it used, not also waiting', async () => {
    const clock = fakeClock();
    const rl = limiter(clock, 100, { backgroundShare: 0.6 });
    await rl.acquire('fapi', 40, 'background');
    // After the signal's 10, the background read's 5 still fits in its 60.
    await Promise.all([rl.acquire('fapi', 10, 'signal'), rl.acquire('fapi', 5, 'background')]);
    await Promise.all([rl.acquire('fapi', 5, 'write'), rl.acquire('fapi', 40, 'signal')]);
    expect(clock.sleeps).toEqual([]);
    expect(rl.snapshot().pools['fapi']?.used).toBe(100);
  });

  it('refused requests leave nothing waiting: the next ones are placed as if they never came', async () => {
    const clock = fakeClock();
    const rl = limiter(clock, 100, { maxWaitMs: 1_000 });
    await rl.acquire('fapi', 95, 'signal');
    const refused = await Promise.allSettled([rl.acquire('fapi', 10, 'write'), rl.acquire('fapi', 10, 'signal')]);
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // Room for 5 is left, and no refused write is still counted as waiting ahead of this read.
    await rl.acquire('fapi', 5, 'signal');
    expect(clock.sleeps).toEqual([]);
  });

  it('a lane keeps no room for a higher lane that cannot be served in this window anyway', async () => {
    const clock = fakeClock();
    const rl = limiter(clock, 100, { sleep: neverWakes });
    await rl.acquire('fapi', 95, 'signal');
    // The write does not fit (95 + 10 > 100) and waits for the next window; the read of 5 fits now.
    let written = false;
    void rl.acquire('fapi', 10, 'write').then(() => (written = true));
    await rl.acquire('fapi', 5, 'signal');
    expect(written).toBe(false);
    expect(rl.snapshot().pools['fapi']?.used).toBe(100);
  });

  it('a request that costs no weight (a futures order) never waits behind a full budget', async () => {
    const clock = fakeClock(1_700_000_080_000);
    const rl = limiter(clock, 100, { sleep: neverWakes });
    await rl.acquire('fapi', 100, 'signal');
    let waited = false;
    void rl.acquire('fapi', 10, 'signal').then(() => (waited = true));
    await rl.acquire('fapi', 0, 'signal');
    expect(waited).toBe(false);
    // Only a back-off the exchange asked for stops it.
    rl.observe('fapi', 429, headers({ 'retry-after': '5' }));
    expect(isExchangeError(await rejection(rl.acquire('fapi', 0, 'signal')), 'rate-limited')).toBe(true);
  });

  it('/sapi has its own budget, learnt from X-SAPI-USED-IP-WEIGHT-1M', () => {
    const clock = fakeClock();
    const rl = new ExchangeRateLimiter({ exchangeId: 'binance', pools: BINANCE_POOLS, now: clock.now, sleep: clock.sleep });
    rl.observe('sapi', 200, headers({ 'x-sapi-used-ip-weight-1m': '700', 'x-mbx-used-weight-1m': '5' }));
    rl.observe('api', 200, headers({ 'x-mbx-used-weight-1m': '30' }));
    expect(rl.snapshot().pools['sapi']).toMatchObject({ used: 700, limit: 12_000 });
    expect(rl.snapshot().pools['api']).toMatchObject({ used: 30, limit: 6000 });
  });

  it("learns the limit from exchangeInfo.rateLimits", () => {
    expect(
      requestWeightLimit([
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
      ]),
    ).toEqual({ limit: 6000, windowMs: 60_000 });
    expect(requestWeightLimit([{ rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 1 }])).toBeNull();
    expect(requestWeightLimit('nope')).toBeNull();
    const clock = fakeClock();
    const rl = limiter(clock);
    rl.setLimit('fapi', 2400);
    expect(rl.snapshot().pools['fapi']?.limit).toBe(2400);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('12', 0)).toBe(12_000);
    expect(parseRetryAfter(new Date(61_000).toUTCString(), 1000)).toBe(60_000);
    expect(parseRetryAfter(null, 0)).toBeNull();
    expect(parseRetryAfter('soon', 0)).toBeNull();
  });

  it("knows Binance's pools and weights", () => {
    const cost = (method: string, url: string) => binanceRequestCost(method, new URL(url));
    expect(cost('GET', 'https://api.binance.com/api/v3/exchangeInfo')).toEqual({ pool: 'api', weight: 20 });
    expect(cost('GET', 'https://api.binance.com/sapi/v1/account/apiRestrictions')).toEqual({ pool: 'sapi', weight: 1 });
    expect(cost('GET', 'https://api.binance.com/api/v3/openOrders?symbol=BTCUSDT')).toEqual({ pool: 'api', weight: 6 });
    expect(cost('GET', 'https://api.binance.com/api/v3/openOrders')).toEqual({ pool: 'api', weight: 80 });
    expect(cost('GET', 'https://fapi.binance.com/fapi/v1/positionSide/dual')).toEqual({ pool: 'fapi', weight: 30 });
    // Futures orders cost no IP weight on Binance (they count against per-account order limits).
    expect(cost('POST', 'https://fapi.binance.com/fapi/v1/order')).toEqual({ pool: 'fapi', weight: 0 });
    expect(cost('POST', 'https://fapi.binance.com/fapi/v1/algoOrder')).toEqual({ pool: 'fapi', weight: 0 });
    expect(cost('DELETE', 'https://fapi.binance.com/fapi/v1/order')).toEqual({ pool: 'fapi', weight: 1 });
    expect(cost('POST', 'https://api.binance.com/api/v3/order')).toEqual({ pool: 'api', weight: 1 });
  });

  it('the registry has one limiter per exchange, binance and binanceusdm sharing one', () => {
    const registry = new RateLimiterRegistry();
    expect(registry.get('binance')).toBe(registry.get('binanceusdm'));
    expect(registry.get('binance')).toBe(registry.get('binance'));
    expect(registry.get('bybit')).not.toBe(registry.get('binance'));
  });
});
