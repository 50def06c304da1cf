import ccxt from 'ccxt';
import { afterEach, describe, expect, it } from 'vitest';
import { StrayHostError, startBinanceSim } from './index';
import type { BinanceSim, BinanceSimOptions } from './index';
import { binanceClient, caught, idOf } from './testkit';
import type { Binance } from './testkit';

const SOL = 'SOL/USDT:USDT';
const sims: BinanceSim[] = [];

/** A simulator whose clock the test moves (`offset.ms`), with one funded account and a ccxt client on it. */
const setup = async (opts: BinanceSimOptions = {}) => {
  const offset = { ms: 0 };
  const sim = await startBinanceSim({ now: () => Date.now() + offset.ms, specFile: null, ...opts });
  sims.push(sim);
  sim.addAccount({ apiKey: 'a', secret: 'sa', spot: { USDT: 10_000 }, futures: { USDT: 10_000 } });
  sim.setPrices({ SOLUSDT: 100, BTCUSDT: 50_000 });
  const fx = binanceClient(sim.fetchImplementation, 'a', 'sa', 'swap');
  await fx.loadMarkets();
  /** Moves the simulator clock and lets ccxt learn the new server time, as a real client would. */
  const advance = async (ms: number, ...clients: Binance[]) => {
    offset.ms += ms;
    for (const c of [fx, ...clients]) await c.loadTimeDifference();
  };
  return { sim, fx, advance };
};

afterEach(async () => {
  while (sims.length > 0) await sims.pop()?.close();
});

describe('binance simulator: authentication and clock', () => {
  it('answers a wrong secret with -1022 and an unknown key with -2015 (ccxt AuthenticationError)', async () => {
    const { sim } = await setup();
    const wrong = binanceClient(sim.fetchImplementation, 'a', 'not-the-secret', 'swap');
    const e = await caught(() => wrong.fetchBalance());
    expect(e).toBeInstanceOf(ccxt.AuthenticationError);
    expect(e.message).toContain('{"code":-1022,"msg":"Signature for this request is not valid."}');
    const unknown = await caught(() => binanceClient(sim.fetchImplementation, 'nobody', 'x').fetchBalance());
    expect(unknown).toBeInstanceOf(ccxt.AuthenticationError);
    expect(unknown.message).toContain('-2015');
    expect(sim.requestLog.at(-1)?.status).toBe(401);
  });

  it('checks timestamp and recvWindow against the injected clock (-1021), and serves that clock', async () => {
    const { sim, fx, advance } = await setup();
    await advance(-30_000);
    expect(Math.abs(((await fx.fetchTime()) ?? 0) - sim.now())).toBeLessThan(1000);
    const stale = binanceClient(sim.fetchImplementation, 'a', 'sa', 'swap');
    stale.setMarketsFromExchange(fx);
    const e = await caught(() => stale.fetchBalance());
    expect(e).toBeInstanceOf(ccxt.InvalidNonce);
    expect(e.message).toContain('"code":-1021');
    await stale.loadTimeDifference();
    expect((await stale.fetchBalance()).USDT?.total).toBe(10_000);
  });

  it('routes demo-trading hosts to the simulator too', async () => {
    const { sim, fx } = await setup();
    const demo = binanceClient(sim.fetchImplementation, 'a', 'sa', 'swap');
    demo.enableDemoTrading(true);
    demo.setMarketsFromExchange(fx);
    await demo.createOrder(SOL, 'market', 'buy', 1);
    expect(sim.requestLog.at(-1)).toMatchObject({
      host: 'demo-fapi.binance.com',
      path: '/fapi/v1/order',
      status: 200,
    });
  });

  it('throws for any host that is not Binance, directly and through ccxt', async () => {
    const { sim } = await setup();
    await expect(sim.fetchImplementation('https://example.com/api/v3/time')).rejects.toBeInstanceOf(
      StrayHostError,
    );
    await expect(
      sim.fetchImplementation('https://api.binance.com.evil.example/api/v3/time'),
    ).rejects.toBeInstanceOf(StrayHostError);
    await expect(sim.fetchImplementation('http://api.binance.com/api/v3/time')).rejects.toBeInstanceOf(
      StrayHostError,
    );
    const inverse = new ccxt.binance({
      fetchImplementation: sim.fetchImplementation,
      options: { fetchMarkets: { types: ['inverse'] } },
    });
    const e = await caught(() => inverse.loadMarkets());
    expect(e).toBeInstanceOf(StrayHostError);
    expect(e.message).toContain('dapi.binance.com');
  });
});

describe('binance simulator: request weight', () => {
  it('counts weight per minute, answers 429 with Retry-After over the limit, and 418 when the caller keeps going', async () => {
    const { sim, fx, advance } = await setup({ weightLimit: { spot: 6000, futures: 20 } });
    const other = binanceClient(sim.fetchImplementation, 'a', 'sa', 'swap');
    other.setMarketsFromExchange(fx);
    await advance(60_000 - (sim.now() % 60_000) + 1_000, other);
    await fx.fetchBalance(); // weight 5 (+1 per time call above)
    expect(Number(fx.last_response_headers?.['X-Mbx-Used-Weight-1m'])).toBe(sim.usedWeight('futures'));
    await fx.fetchBalance();
    await fx.fetchBalance();
    const limited = await caught(() => fx.fetchBalance());
    expect(limited).toBeInstanceOf(ccxt.DDoSProtection);
    expect(limited.message).toContain('429');
    expect(Number(fx.last_response_headers?.['Retry-After'])).toBeGreaterThan(0);
    // Binance limits per IP: another account is limited as well, and ignoring Retry-After gets a ban.
    const again = await caught(() => other.fetchPositions([SOL]));
    expect(again.message).toContain('429');
    const ban = await caught(() => other.fetchBalance());
    expect(ban).toBeInstanceOf(ccxt.DDoSProtection);
    expect(ban.message).toContain('418');
    expect(sim.requestLog.slice(-3).map((e) => e.status)).toEqual([429, 429, 418]);
    // Spot has its own window.
    const spot = binanceClient(sim.fetchImplementation, 'a', 'sa', 'spot');
    spot.setMarketsFromExchange(fx);
    await spot.loadTimeDifference();
    expect((await spot.fetchBalance()).USDT?.total).toBe(10_000);
    // The ban lasts banSeconds (120 s) on the simulator clock.
    await advance(121_000, other);
    expect((await other.fetchBalance()).USDT?.total).toBe(10_000);
  });

  it('answers an injected 429 with Retry-After and keeps answering 429 until it expires', async () => {
    const { sim, fx, advance } = await setup();
    sim.inject({ kind: 'rate-limit', path: '/fapi/v1/order', method: 'POST', count: 1, retryAfterSec: 30 });
    const e = await caught(() => fx.createOrder(SOL, 'market', 'buy', 1));
    expect(e).toBeInstanceOf(ccxt.DDoSProtection);
    expect(fx.last_response_headers?.['Retry-After']).toBe('30');
    expect(sim.orders('a').futures).toHaveLength(0);
    expect((await caught(() => fx.fetchBalance())).message).toContain('429');
    await advance(31_000);
    expect((await fx.fetchBalance()).USDT?.total).toBe(10_000);
  });
});

describe('binance simulator: order rate limits (per account)', () => {
  it("counts each account's orders in aligned windows and answers -1015 over the limit, without Retry-After or an IP back-off", async () => {
    const { sim, fx, advance } = await setup();
    sim.addAccount({ apiKey: 'b', secret: 'sb', futures: { USDT: 10_000 } });
    const other = binanceClient(sim.fetchImplementation, 'b', 'sb', 'swap');
    await other.loadMarkets();
    // Early in a 10 s window, so the whole test stays in it.
    await advance(10_000 - (Date.now() % 10_000) + 200, other);
    await fx.createOrder(SOL, 'limit', 'buy', 1, 96);
    expect(fx.last_response_headers?.['X-Mbx-Order-Count-10s']).toBe('1');
    expect(fx.last_response_headers?.['X-Mbx-Order-Count-1m']).toBe('1');
    // Another client of account a spends its 10-second order count.
    sim.inject({ kind: 'order-rate-limit', path: '/fapi/v1/order', method: 'POST', apiKey: 'a', count: 1 });
    const refused = await caught(() => fx.createOrder(SOL, 'limit', 'buy', 1, 96));
    // ccxt's binance raises DDoSProtection for every 429, whatever the code behind it.
    expect(refused).toBeInstanceOf(ccxt.DDoSProtection);
    expect(refused.message).toContain('"code":-1015');
    expect(refused.message).toContain('300 orders per 10 SECOND');
    expect(fx.last_response_headers?.['Retry-After']).toBeUndefined();
    // Still refused in the same window, not only once.
    expect((await caught(() => fx.createOrder(SOL, 'limit', 'buy', 1, 96))).message).toContain(
      '"code":-1015',
    );
    // The account's reads and the other account's orders are not affected.
    expect((await fx.fetchBalance()).USDT?.total).toBe(10_000);
    await other.createOrder(SOL, 'limit', 'buy', 1, 96);
    expect(other.last_response_headers?.['X-Mbx-Order-Count-10s']).toBe('1');
    // The next window opens again.
    await advance(10_000, other);
    await fx.createOrder(SOL, 'limit', 'buy', 1, 96);
    expect(sim.orders('a').futures).toHaveLength(2);
  });

  it('a burst spends one window of each account it hits, not the next windows of the same account', async () => {
    const { sim, fx, advance } = await setup();
    sim.addAccount({ apiKey: 'b', secret: 'sb', futures: { USDT: 10_000 } });
    const other = binanceClient(sim.fetchImplementation, 'b', 'sb', 'swap');
    await other.loadMarkets();
    await advance(10_000 - (Date.now() % 10_000) + 200, other);
    sim.inject({ kind: 'order-rate-limit', path: '/fapi/v1/order', method: 'POST', count: 3 });
    expect((await caught(() => fx.createOrder(SOL, 'limit', 'buy', 1, 96))).message).toContain('"code":-1015');
    // The next window of account a is its own again, though the burst has firings left.
    await advance(10_000, other);
    await fx.createOrder(SOL, 'limit', 'buy', 1, 96);
    expect(sim.orders('a').futures).toHaveLength(1);
    // Another account is hit by the same burst.
    expect((await caught(() => other.createOrder(SOL, 'limit', 'buy', 1, 96))).message).toContain('"code":-1015');
    expect(sim.faults[0]?.fired).toBe(2);
  });
});

describe('binance simulator: fault injection', () => {
  it('accepts the order and drops the response: ccxt throws a network error, the order exists', async () => {
    const { sim, fx } = await setup();
    sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', apiKey: 'a', count: 1 });
    const e = await caught(() =>
      fx.createOrder(SOL, 'market', 'buy', 1, undefined, { clientOrderId: 'dropped1' }),
    );
    expect(e).toBeInstanceOf(ccxt.NetworkError);
    expect(sim.orders('a').futures.map((o) => [o.clientOrderId, o.status])).toEqual([['dropped1', 'FILLED']]);
    expect(sim.requestLog.at(-1)).toMatchObject({ status: 0, fault: 'drop-response' });
    expect(await fx.fetchOrder('', SOL, { clientOrderId: 'dropped1' })).toMatchObject({
      status: 'closed',
      filled: 1,
    });
  });

  it('accepts the order and never answers: ccxt times out, the order exists', async () => {
    const { sim, fx } = await setup();
    fx.timeout = 300;
    sim.inject({ kind: 'timeout', path: '/fapi/v1/algoOrder', count: 1 });
    await fx.createOrder(SOL, 'market', 'buy', 1);
    const e = await caught(() =>
      fx.createOrder(SOL, 'market', 'sell', 1, undefined, {
        stopLossPrice: 90,
        reduceOnly: true,
        clientOrderId: 'slow1',
      }),
    );
    expect(e).toBeInstanceOf(ccxt.RequestTimeout);
    expect(sim.orders('a').algo.map((a) => [a.clientAlgoId, a.algoStatus])).toEqual([['slow1', 'NEW']]);
  });

  it('answers 5xx before matching: nothing is placed and ccxt reports the exchange unavailable', async () => {
    const { sim, fx } = await setup();
    sim.inject({ kind: 'http-5xx', path: '/fapi/v1/order', status: 503, count: 1 });
    const e = await caught(() =>
      fx.createOrder(SOL, 'market', 'buy', 1, undefined, { clientOrderId: 'fivexx' }),
    );
    expect(e).toBeInstanceOf(ccxt.ExchangeNotAvailable);
    expect(e.message).toContain('503');
    expect(sim.orders('a').futures).toHaveLength(0);
  });

  it('answers -1021 before matching (ccxt InvalidNonce); a resend with the same client id is placed once', async () => {
    const { sim, fx } = await setup();
    sim.inject({ kind: 'timestamp', path: '/fapi/v1/order', count: 1 });
    expect(
      await caught(() => fx.createOrder(SOL, 'market', 'buy', 1, undefined, { clientOrderId: 'ts1' })),
    ).toBeInstanceOf(ccxt.InvalidNonce);
    await fx.createOrder(SOL, 'market', 'buy', 1, undefined, { clientOrderId: 'ts1' });
    expect(sim.orders('a').futures.map((o) => o.clientOrderId)).toEqual(['ts1']);
  });

  it('answers "order does not exist" for lookups within the window after creation', async () => {
    const { sim, fx, advance } = await setup();
    sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 30_000 });
    const o = await fx.createOrder(SOL, 'market', 'buy', 1, undefined, { clientOrderId: 'late1' });
    expect(await caught(() => fx.fetchOrder('', SOL, { clientOrderId: 'late1' }))).toBeInstanceOf(
      ccxt.OrderNotFound,
    );
    await advance(31_000);
    expect((await fx.fetchOrder(idOf(o), SOL)).status).toBe('closed');
  });

  it('adds latency, honours count, and scopes faults to one API key', async () => {
    const { sim, fx } = await setup();
    sim.addAccount({ apiKey: 'b', secret: 'sb', futures: { USDT: 1_000 } });
    const bx = binanceClient(sim.fetchImplementation, 'b', 'sb', 'swap');
    bx.setMarketsFromExchange(fx);
    sim.inject({ kind: 'latency', path: '/fapi/v3/account', ms: 150, count: 1 });
    sim.inject({ kind: 'http-5xx', path: '*', apiKey: 'b', count: 2 });
    const t = performance.now();
    await fx.fetchBalance();
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
    expect(await caught(() => bx.fetchBalance())).toBeInstanceOf(ccxt.ExchangeNotAvailable);
    expect(await caught(() => bx.fetchBalance())).toBeInstanceOf(ccxt.ExchangeNotAvailable);
    expect((await bx.fetchBalance()).USDT?.total).toBe(1_000);
    expect(sim.faults.map((f) => f.fired)).toEqual([1, 2]);
  });

  it('draws probabilistic faults from a seeded RNG: same seed, same requests fail; exclusive shares', async () => {
    const run = async (seed: number) => {
      const sim = await startBinanceSim({ seed, specFile: null });
      sims.push(sim);
      sim.inject({ kind: 'http-5xx', path: '/api/v3/time', probability: 0.2 });
      sim.inject({ kind: 'timestamp', path: '/api/v3/time', probability: 0.1 });
      const out: number[] = [];
      for (let i = 0; i < 120; i++)
        out.push((await sim.fetchImplementation('https://api.binance.com/api/v3/time')).status);
      return out;
    };
    const a = await run(42);
    const b = await run(42);
    expect(a).toEqual(b);
    const share = (status: number) => a.filter((s) => s === status).length / a.length;
    expect(share(503)).toBeGreaterThan(0.1);
    expect(share(503)).toBeLessThan(0.3);
    expect(share(400)).toBeGreaterThan(0.03);
    expect(share(400)).toBeLessThan(0.18);
    expect(await run(43)).not.toEqual(a);
  });

  it('applies the configured slippage to market fills', async () => {
    const { fx } = await setup({ slippage: 0.001 });
    expect(await fx.createOrder(SOL, 'market', 'buy', 1)).toMatchObject({ average: 100.1 });
    expect(await fx.createOrder(SOL, 'market', 'sell', 1)).toMatchObject({ average: 99.9 });
  });

  it('fills only part of an order when a partial-fill fault fires', async () => {
    const { sim, fx } = await setup();
    sim.inject({ kind: 'partial-fill', path: '/fapi/v1/order', ratio: 0.5, count: 2 });
    const m = await fx.createOrder(SOL, 'market', 'buy', 4);
    expect(m).toMatchObject({ status: 'expired', filled: 2 });
    const l = await fx.createOrder(SOL, 'limit', 'sell', 2, 100);
    expect(l).toMatchObject({ status: 'open', filled: 1 });
    sim.setPrice('SOLUSDT', 100.5);
    expect(await fx.fetchOrder(idOf(l), SOL)).toMatchObject({ status: 'closed', filled: 2 });
    expect(sim.positions('a')).toEqual([]);
  });
});
