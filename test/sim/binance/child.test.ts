import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBinanceSim } from './client';
import type { SpawnedBinanceSim } from './client';
import { binanceClient } from './testkit';

describe('binance simulator in a child process, driven over /__sim/', () => {
  let sim: SpawnedBinanceSim;

  beforeAll(async () => {
    sim = await spawnBinanceSim({ markets: 2_500, manualClock: Date.now(), specFile: null });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('serves 2,500 spot + linear markets that one ccxt client loads', async () => {
    const ex = binanceClient(sim.fetchImplementation, 'none', 'none');
    await ex.loadMarkets();
    const all = Object.values(ex.markets ?? {});
    expect(all.length).toBeGreaterThanOrEqual(2_500);
    expect(all.filter((m) => m?.spot).length).toBeGreaterThan(1_200);
    expect(all.filter((m) => m?.linear).length).toBeGreaterThan(1_200);
    expect(ex.market('SYN0001/USDT:USDT').precision.amount).toBe(0.1);
  });

  it('takes accounts, prices and faults over HTTP and reports orders, positions and the log', async () => {
    await sim.addAccount({ apiKey: 'child', secret: 'child-secret', futures: { USDT: 1_000 } });
    await sim.setPrice('SOLUSDT', 100);
    const fx = binanceClient(sim.fetchImplementation, 'child', 'child-secret', 'swap');
    await fx.loadMarkets();
    await fx.loadTimeDifference();
    await fx.createOrder('SOL/USDT:USDT', 'market', 'buy', 2, undefined, { clientOrderId: 'kid1' });
    expect((await sim.orders('child')).futures.map((o) => o.clientOrderId)).toEqual(['kid1']);
    expect(await sim.positions('child')).toMatchObject([{ symbol: 'SOLUSDT', amt: 2, entryPrice: 100 }]);
    const id = await sim.inject({ kind: 'http-5xx', path: '/fapi/v3/account', count: 1 });
    expect(id).toBeGreaterThan(0);
    await expect(fx.fetchBalance()).rejects.toThrow('503');
    expect((await sim.faults())[0]).toMatchObject({ fired: 1, remaining: 0 });
    await sim.closePositionExternally('child', 'SOLUSDT');
    expect(await sim.positions('child')).toEqual([]);
    const log = await sim.requestLog();
    expect(log.some((e) => e.path === '/fapi/v1/order' && e.apiKey === 'child' && e.status === 200)).toBe(true);
    expect((await sim.balances('child')).futures.USDT?.wallet).toBeLessThan(1_000);
    const before = await sim.now();
    expect(await sim.advanceClock(60_000)).toBe(before + 60_000);
  });
});
