/**
 * The ccxt gateway signs with the exchange's time: the offset is measured before the first signed
 * request and again at once when Binance answers -1021 (here: the exchange's clock steps 3 s back
 * after the first measurement), before the one immediate repeat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExchangeError } from '../../src/exchange/errors';
import { simWorld } from './harness';
import type { SimWorld } from './harness';

let world: SimWorld;
let shift = 0;
beforeAll(async () => {
  world = await simWorld({ now: () => Date.now() + shift });
  world.sim.setPrices({ SOLUSDT: 100, BTCUSDT: 50_000 });
});
afterAll(async () => {
  await world.close();
});

const timeReads = (family: string) => world.sim.requestLog.filter((e) => e.path === `${family}/time`).length;

describe('ccxt gateway: the exchange clock', () => {
  it('re-reads the offset after -1021 and repeats a read once; an order is refused once and goes on its repeat', async () => {
    shift = 0;
    const { apiKey, row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await gateway.balance();
    const readsBefore = timeReads('/fapi/v1');
    expect(readsBefore).toBe(1);

    // The exchange's clock steps back 3 s: the offset measured before now signs 3 s ahead of it.
    shift = -3_000;
    await expect(gateway.balance()).resolves.toMatchObject({ currency: 'USDT' });
    const mine = world.sim.requestLog.filter((e) => e.apiKey === apiKey || e.path === '/fapi/v1/time');
    const last = mine.slice(-3).map((e) => `${e.path}:${e.code ?? e.status}`);
    expect(last).toEqual(['/fapi/v3/account:-1021', '/fapi/v1/time:200', '/fapi/v3/account:200']);
    const estimate = gateway.exchangeNow();
    const exchange = world.sim.now();
    expect(estimate).toBeLessThanOrEqual(exchange);
    expect(exchange - estimate).toBeLessThan(1_000);

    // Orders are repeated by the order-safety protocol, not the gateway: by then the clock is right.
    shift = -6_000;
    const order = { clientOrderId: 'clockorder1', symbol: 'SOL/USDT:USDT', side: 'buy' as const, type: 'market' as const, quantity: 1, reduceOnly: false };
    const refused = await gateway.placeOrder(order).catch((error: unknown) => error);
    expect(isExchangeError(refused, 'retryable')).toBe(true);
    await expect(gateway.placeOrder(order)).resolves.toMatchObject({ status: 'filled', clientOrderId: 'clockorder1' });
  });
});
