import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBinanceSim } from './index';
import type { BinanceSim } from './index';

const SOL = 'SOL/USDT:USDT';
type ProBinance = InstanceType<typeof ccxt.pro.binance>;

/** ccxt.pro as production builds it, with only the sockets and HTTP transport redirected. */
const proClient = (sim: BinanceSim, apiKey: string, secret: string): ProBinance =>
  new ccxt.pro.binance({
    apiKey,
    secret,
    fetchImplementation: sim.fetchImplementation,
    enableRateLimit: false,
    options: {
      defaultType: 'swap',
      fetchMarkets: { types: ['spot', 'linear'] },
      fetchCurrencies: false,
      fetchMargins: false,
      ws: { options: { agent: sim.socketAgent } },
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
});
