import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBinanceSim } from './index';
import type { BinanceSim } from './index';

const SOL = 'SOL/USDT:USDT';
type ProBinance = InstanceType<typeof ccxt.pro.binance>;

/** ccxt.pro as production builds it, with only the sockets and HTTP transport redirected. */
const proClient = (sim: BinanceSim, apiKey: string, secret: string, defaultType: 'swap' | 'spot' = 'swap'): ProBinance =>
  new ccxt.pro.binance({
    apiKey,
    secret,
    fetchImplementation: sim.fetchImplementation,
    enableRateLimit: false,
    options: {
      defaultType,
      fetchMarkets: { types: ['spot', 'linear'] },
      fetchCurrencies: false,
      fetchMargins: false,
      ws: { options: { agent: sim.socketAgent } },
      // As the bot builds its stream instances: no REST snapshots on connect (ccxt's pending snapshot
      // future would be rejected unhandled when the server closes the connection).
      watchPositions: { fetchPositionsSnapshot: false, awaitPositionsSnapshot: false },
      watchBalance: { fetchBalanceSnapshot: false },
    },
  });

describe('binance simulator: the USDⓈ-M user-data stream through ccxt.pro', () => {
  let sim: BinanceSim;
  let fx: ProBinance;

  beforeAll(async () => {
    sim = await startBinanceSim({ fees: { maker: 0.0002, taker: 0.0004 } });
    sim.addAccount({ apiKey: 'fut', secret: 'fut-secret', futures: { USDT: 1_000 } });
    sim.setPrices({ SOLUSDT: 100 });
    fx = proClient(sim, 'fut', 'fut-secret');
    await fx.loadMarkets();
  });
  afterAll(async () => {
    await fx.close();
    await sim.close();
  });

  it('pushes an order, its fill, and a triggered stop as ccxt orders', async () => {
    const first = fx.watchOrders(SOL);
    // The subscription is made once the listenKey is known; give the socket a moment to open.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fx.createOrder(SOL, 'market', 'buy', 2, undefined, { clientOrderId: 'streamEntry' });
    const orders = await first;
    expect(orders.some((o) => o.clientOrderId === 'streamEntry')).toBe(true);
    const listenKeyPosts = sim.requestLog.filter((r) => r.method === 'POST' && r.path === '/fapi/v1/listenKey');
    expect(listenKeyPosts).toHaveLength(1);

    await fx.createOrder(SOL, 'market', 'sell', 2, undefined, { stopLossPrice: 95, reduceOnly: true, clientOrderId: 'streamStop' });
    const next = fx.watchOrders(SOL);
    sim.setPrice('SOLUSDT', 94);
    const triggered = await next;
    expect(triggered.length).toBeGreaterThan(0);
    expect(sim.positions('fut')).toEqual([]);
  });

  it('a dropped connection rejects the watch; a new watch reconnects with the same key', async () => {
    const waiting = fx.watchOrders(SOL);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sim.streamFault('disconnect', { apiKey: 'fut' })).toBe(1);
    await expect(waiting).rejects.toBeInstanceOf(ccxt.NetworkError);
    const again = fx.watchOrders(SOL);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fx.createOrder(SOL, 'market', 'buy', 1, undefined, { clientOrderId: 'afterReconnect' });
    expect((await again).some((o) => o.clientOrderId === 'afterReconnect')).toBe(true);
    expect(sim.userStream.stats.connectsTotal).toBe(2);
  });

  it('an expired listenKey: listenKeyExpired, then the socket stays open and silent (ccxt waits on)', async () => {
    const own = proClient(sim, 'fut', 'fut-secret');
    await own.loadMarkets();
    const messages: unknown[] = [];
    const handle = own.handleMessage.bind(own);
    own.handleMessage = (client: Parameters<typeof handle>[0], message: unknown) => {
      messages.push(message);
      return handle(client, message) as unknown;
    };
    let settled = false;
    const waiting = own.watchOrders(SOL).finally(() => (settled = true));
    waiting.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sim.streamFault('expire', { apiKey: 'fut' })).toBe(1);
    await expect.poll(() => messages).toEqual([expect.objectContaining({ e: 'listenKeyExpired', E: expect.any(String) })]);
    await fx.createOrder(SOL, 'market', 'buy', 1, undefined, { clientOrderId: 'afterExpiry' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    expect(sim.userStream.stats.connections).toBeGreaterThanOrEqual(1);
    await own.close();
  });
});

describe('binance simulator: spot user data over the WebSocket API through ccxt.pro', () => {
  let sim: BinanceSim;
  let fx: ProBinance;

  beforeAll(async () => {
    sim = await startBinanceSim();
    sim.addAccount({ apiKey: 'spot', secret: 'spot-secret', spot: { USDT: 10_000 } });
    sim.setPrices({ SOLUSDT: 100 });
    fx = proClient(sim, 'spot', 'spot-secret', 'spot');
    await fx.loadMarkets();
  });
  afterAll(async () => {
    await fx.close();
    await sim.close();
  });

  it('subscribes with a signed request and pushes execution reports and balances', async () => {
    const orders = fx.watchOrders('SOL/USDT');
    await expect.poll(() => sim.userStream.stats.connections, { timeout: 5_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fx.createOrder('SOL/USDT', 'limit', 'buy', 1, 90, { clientOrderId: 'spotResting' });
    expect((await orders).some((o) => o.clientOrderId === 'spotResting' && o.status === 'open')).toBe(true);
    const balance = fx.watchBalance();
    const filled = fx.watchOrders('SOL/USDT');
    sim.setPrice('SOLUSDT', 89);
    const update = await filled;
    expect(update.some((o) => o.clientOrderId === 'spotResting' && o.status === 'closed' && o.filled === 1)).toBe(true);
    expect((await balance)['SOL']?.free).toBeCloseTo(0.999, 6);
  });

  it('a dropped connection rejects the watch; the next one subscribes again', async () => {
    const waiting = fx.watchOrders('SOL/USDT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sim.streamFault('disconnect', { apiKey: 'spot' })).toBe(1);
    await expect(waiting).rejects.toBeInstanceOf(ccxt.NetworkError);
    const again = fx.watchOrders('SOL/USDT');
    await expect.poll(() => sim.userStream.stats.connections, { timeout: 5_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fx.createOrder('SOL/USDT', 'market', 'sell', 0.5, undefined, { clientOrderId: 'spotAfter' });
    expect((await again).some((o) => o.clientOrderId === 'spotAfter')).toBe(true);
  });
});

describe('binance simulator: the 24-hour connection life', () => {
  let sim: BinanceSim;

  beforeAll(async () => {
    sim = await startBinanceSim({ manualClock: Date.now() });
    sim.addAccount({ apiKey: 'fut', secret: 'fut-secret', futures: { USDT: 1_000 } });
    sim.addAccount({ apiKey: 'spot', secret: 'spot-secret', spot: { USDT: 1_000 } });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('closes futures and spot connections at the 24 hour mark of the simulator clock, not before', async () => {
    const futures = proClient(sim, 'fut', 'fut-secret');
    const spot = proClient(sim, 'spot', 'spot-secret', 'spot');
    await Promise.all([futures.loadMarkets(), spot.loadMarkets()]);
    const watches = [futures.watchOrders(SOL), spot.watchOrders('SOL/USDT')];
    const outcomes = watches.map((watch) => watch.then(() => 'answered', (error: unknown) => error));
    await expect.poll(() => sim.userStream.stats.connections, { timeout: 5_000 }).toBe(2);

    sim.advanceClock(24 * 3_600_000 - 60_000);
    // The check runs every second of real time.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(sim.userStream.stats.connections).toBe(2);

    sim.advanceClock(60_000);
    for (const outcome of await Promise.all(outcomes)) expect(outcome).toBeInstanceOf(ccxt.NetworkError);
    await expect.poll(() => sim.userStream.stats.connections, { timeout: 5_000 }).toBe(0);
    await Promise.all([futures.close(), spot.close()]);
  });
});
