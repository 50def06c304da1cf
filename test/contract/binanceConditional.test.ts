/**
 * Binance USDⓈ-M conditional (algo) orders through the ccxt gateway and the simulator: the per-symbol
 * cap on open conditional orders (MAX_NUM_ALGO_ORDERS, -4045), and what a triggered one reads as while
 * Binance places it (TRIGGERING; TRIGGERED / FINISHED before it names the placed order) or when the
 * matching engine refuses it (REJECTED).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

  it('refuses the 11th open conditional order on a symbol (-4045, conditional-limit in plain words); a cancel frees a slot', async () => {
    const { apiKey, row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await longSol(gateway, 'caplong', 10);
    for (let i = 0; i < 10; i += 1) await gateway.placeOrder(stop(`capstop${i}`, 90 - i));

    const refused = await gateway.placeOrder(stop('capstop10', 80)).catch((error: unknown) => error);
    expect(isExchangeError(refused, 'conditional-limit'), String(refused)).toBe(true);
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
    expect(refusedAgain).toMatchObject({ kind: 'conditional-limit', exchangeCode: '-4045' });
  });
});

describe('triggered Binance algo orders (ccxt gateway on the simulator)', () => {
  afterEach(() => {
    world.sim.setAlgoTriggerDelay({});
    world.sim.setPrice('SOLUSDT', 100);
  });

  it('TRIGGERING (no order placed yet) reads as still working, then as the fill once placed', async () => {
    const { row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await longSol(gateway, 'trglong', 2);
    await gateway.placeOrder({ ...stop('trgstop', 95), quantity: 2 });
    world.sim.setAlgoTriggerDelay({ lookups: 2 });
    world.sim.setPrice('SOLUSDT', 94);

    expect(await gateway.fetchOrder(SOL, 'trgstop')).toMatchObject({ status: 'open', filledQuantity: 0, clientOrderId: 'trgstop' });
    // Still in the algo service: listed as open.
    expect((await gateway.openOrders(SOL)).find((o) => o.clientOrderId === 'trgstop')).toMatchObject({ status: 'open', filledQuantity: 0 });
    expect(await gateway.fetchOrder(SOL, 'trgstop')).toMatchObject({ status: 'open', filledQuantity: 0 });
    // Placed now (the simulator's delay was two lookups): the placed order's fill.
    expect(await gateway.fetchOrder(SOL, 'trgstop')).toMatchObject({ status: 'filled', filledQuantity: 2, averagePrice: 94 });
    expect(await gateway.positions()).toEqual([]);
  });

  it('FINISHED without the placed order named yet reads as still working, never as filled with nothing', async () => {
    const { apiKey, row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await longSol(gateway, 'unlong', 2);
    await gateway.placeOrder({ ...stop('unstop', 95), quantity: 2 });
    world.sim.setAlgoTriggerDelay({ unlinkedLookups: 1 });
    world.sim.setPrice('SOLUSDT', 94);
    // The stop filled on the exchange; its algo order says FINISHED with actualOrderId ''.
    expect(world.sim.orders(apiKey).algo.find((a) => a.clientAlgoId === 'unstop')).toMatchObject({ algoStatus: 'FINISHED' });
    expect(await gateway.fetchOrder(SOL, 'unstop')).toMatchObject({ status: 'open', filledQuantity: 0 });
    expect(await gateway.fetchOrder(SOL, 'unstop')).toMatchObject({ status: 'filled', filledQuantity: 2 });
  });

  it('a stop the matching engine refused when it triggered (nothing left to reduce) reads as rejected', async () => {
    const { apiKey, row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await longSol(gateway, 'rjlong', 1);
    await gateway.placeOrder(stop('rjstop', 95));
    await gateway.placeOrder({ clientOrderId: 'rjclose', symbol: SOL, side: 'sell', type: 'market', quantity: 1, reduceOnly: true });
    world.sim.setPrice('SOLUSDT', 94);
    expect(world.sim.orders(apiKey).algo.find((a) => a.clientAlgoId === 'rjstop')).toMatchObject({ algoStatus: 'REJECTED', actualOrderId: undefined });
    expect(await gateway.fetchOrder(SOL, 'rjstop')).toMatchObject({ status: 'rejected', filledQuantity: 0 });
  });

  it('a stop placed but cut short by the matching engine reads as expired with what it filled', async () => {
    const { row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await longSol(gateway, 'exlong', 1);
    // Reduce-only for 2 with 1 held: the placed market order fills 1 and the rest expires (FINISHED).
    await gateway.placeOrder({ ...stop('exstop', 95), quantity: 2 });
    world.sim.setPrice('SOLUSDT', 94);
    expect(await gateway.fetchOrder(SOL, 'exstop')).toMatchObject({ status: 'expired', filledQuantity: 1 });
  });
});
