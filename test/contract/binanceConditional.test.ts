/**
 * Binance USDⓈ-M conditional (algo) orders through the ccxt gateway and the simulator: the per-symbol
 * cap on open conditional orders (MAX_NUM_ALGO_ORDERS, -4045).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExchangeError } from '../../src/exchange/errors';
import type { ExchangeGateway, OrderIntent } from '../../src/exchange/gateway';
import { simWorld } from './harness';
import type { SimWorld } from './harness';

const SOL = 'SOL/USDT:USDT';

let world: SimWorld;
beforeAll(async () => {
  world = await simWorld();
  world.sim.setPrices({ SOLUSDT: 100, BTCUSDT: 50_000 });
});
afterAll(async () => {
  await world.close();
});

const stop = (clientOrderId: string, triggerPrice: number): OrderIntent => ({
  clientOrderId,
  symbol: SOL,
  side: 'sell',
  type: 'stop-loss',
  triggerPrice,
  quantity: 1,
  reduceOnly: true,
});

async function longSol(gateway: ExchangeGateway, id: string, quantity: number): Promise<void> {
  await gateway.placeOrder({ clientOrderId: id, symbol: SOL, side: 'buy', type: 'market', quantity, reduceOnly: false });
}

describe('Binance MAX_NUM_ALGO_ORDERS (ccxt gateway on the simulator)', () => {
  it('publishes the cap in the market rules: 10 per USDⓈ-M symbol, 5 per spot symbol', async () => {
    const futures = await world.factory.forAccount(world.account({ marketType: 'futures' }).row).markets();
    expect(futures.get(SOL)?.maxConditionalOrders).toBe(10);
    const spot = await world.factory.forAccount(world.account({ marketType: 'spot' }).row).markets();
    expect(spot.get('SOL/USDT')?.maxConditionalOrders).toBe(5);
  });

  it('refuses the 11th open conditional order on a symbol (-4045, invalid-order in plain words); a cancel frees a slot', async () => {
    const { apiKey, row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await longSol(gateway, 'caplong', 10);
    for (let i = 0; i < 10; i += 1) await gateway.placeOrder(stop(`capstop${i}`, 90 - i));

    const refused = await gateway.placeOrder(stop('capstop10', 80)).catch((error: unknown) => error);
    expect(isExchangeError(refused, 'invalid-order'), String(refused)).toBe(true);
    expect(refused).toMatchObject({ exchangeCode: '-4045' });
    expect((refused as Error).message).toMatch(/Reach max stop order limit\..*as many stop-loss and take-profit orders open on this market as the exchange allows/);
    expect(world.sim.orders(apiKey).algo.filter((a) => a.algoStatus === 'NEW')).toHaveLength(10);

    // Another symbol has its own ten.
    await gateway.placeOrder({ clientOrderId: 'capbtclong', symbol: 'BTC/USDT:USDT', side: 'buy', type: 'market', quantity: 0.002, reduceOnly: false });
    await gateway.placeOrder({ ...stop('capbtcstop', 45_000), symbol: 'BTC/USDT:USDT', quantity: 0.002 });

    expect(await gateway.cancelOrder(SOL, 'capstop3')).not.toBeNull();
    expect(world.sim.orders(apiKey).algo.find((a) => a.clientAlgoId === 'capstop3')?.algoStatus).toBe('CANCELED');
    expect(await gateway.placeOrder(stop('capstop10', 80))).toMatchObject({ status: 'open', clientOrderId: 'capstop10' });
    const refusedAgain = await gateway.placeOrder(stop('capstop11', 79)).catch((error: unknown) => error);
    expect(refusedAgain).toMatchObject({ kind: 'invalid-order', exchangeCode: '-4045' });
  });
});
