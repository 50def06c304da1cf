import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { signals } from '../../../src/db/schema';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { BTC, copyRig, mirrorLink, positionOf } from './support';
import { copyRepository } from '../../../src/db/repositories/copy';
import { binanceClient } from '../../sim/binance/testkit';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

let seq = 0;
/** An order the master places by hand (not through the bot). */
async function masterOrder(w: TradingWorld, master: AccountRow, order: { side: 'buy' | 'sell'; type: 'market' | 'limit'; quantity: number; price?: number; triggerPrice?: number }): Promise<void> {
  seq += 1;
  await w.gateways.forAccount(master).placeOrder({ clientOrderId: `hand${seq}x${Date.now()}`, symbol: BTC, reduceOnly: false, ...order });
}

const copySignals = (w: TradingWorld) => w.db.db.select().from(signals).where(eq(signals.source, 'copy'));

describe('copies follow master orders, not their trades (issue #13 items 7 and 10)', { timeout: 120_000 }, () => {
  it('one market order filled in three trades is one copy: fixed gets its quantity once, small shares add up instead of flooring to nothing', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const mirror = await w.addAccount({ funds: 10_000 });
    const fixed = await w.addAccount({ funds: 10_000 });
    const quarter = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [mirror]);
    const copies = copyRepository(w.db.db);
    const [link] = await copies.activeLinksOf(master.id);
    await copies.upsertLink({ ...link!, id: crypto.randomUUID(), followerAccountId: fixed.id, followerOwnerId: fixed.ownerId, mode: 'fixed', value: 0.005 });
    // 0.25 of each 0.004 trade is 0.001 BTC = 50 USD, under Binance's 100 USD minimum; of 0.012, 150 USD.
    await copies.upsertLink({ ...link!, id: crypto.randomUUID(), followerAccountId: quarter.id, followerOwnerId: quarter.ownerId, mode: 'multiplier', value: 0.25 });

    w.sim.setMarketSweep(3);
    await masterOrder(w, master, { side: 'buy', type: 'market', quantity: 0.012 });
    expect(w.sim.trades(w.apiKeyOf(master)).futures.filter((t) => t.symbol === 'BTCUSDT')).toHaveLength(3);
    w.sim.setMarketSweep(1);
    await step();
    expect(await copySignals(w)).toHaveLength(1);
    expect(await positionOf(w, mirror)).toBeCloseTo(0.012, 9);
    expect(await positionOf(w, fixed)).toBeCloseTo(0.005, 9);
    expect(await positionOf(w, quarter)).toBeCloseTo(0.003, 9);
    const [copy] = await copySignals(w);
    // Priced at the order's average fill: 50,000, 50,000.1 and 50,000.2.
    expect((copy!.copy as { price: number }).price).toBeCloseTo(50_000.1, 6);
  });

  it('a limit order filled over two polls: the rest is an add for scaled followers, nothing more for a fixed one', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const mirror = await w.addAccount({ funds: 10_000 });
    const fixed = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [mirror]);
    const copies = copyRepository(w.db.db);
    const [link] = await copies.activeLinksOf(master.id);
    await copies.upsertLink({ ...link!, id: crypto.randomUUID(), followerAccountId: fixed.id, followerOwnerId: fixed.ownerId, mode: 'fixed', value: 0.005 });
    // Half fills at once (it crosses), the rest rests at 50,000 until the price comes back.
    w.sim.inject({ kind: 'partial-fill', path: '/fapi/v1/order', method: 'POST', apiKey: w.apiKeyOf(master), ratio: 0.5, count: 1 });
    w.sim.setPrices({ BTCUSDT: 49_990 }, 'futures');
    await masterOrder(w, master, { side: 'buy', type: 'limit', quantity: 0.02, price: 50_000 });
    await step();
    expect(await positionOf(w, mirror)).toBeCloseTo(0.01, 9);
    expect(await positionOf(w, fixed)).toBeCloseTo(0.005, 9);
    w.sim.setPrices({ BTCUSDT: 50_100 }, 'futures');
    w.sim.setPrices({ BTCUSDT: 49_950 }, 'futures');
    expect(await positionOf(w, master)).toBeCloseTo(0.02, 9);
    await step();
    expect(await positionOf(w, mirror)).toBeCloseTo(0.02, 9);
    expect(await positionOf(w, fixed)).toBeCloseTo(0.005, 9);
    // The master closes at once: both followers go flat.
    await masterOrder(w, master, { side: 'sell', type: 'market', quantity: 0.02 });
    await step();
    expect([await positionOf(w, mirror), await positionOf(w, fixed)]).toEqual([0, 0]);
  });

  it("order types come from the master's order itself: market, limit, and a triggered stop copied as a stop", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const marketOnly = await w.addAccount({ funds: 10_000 });
    const limitOnly = await w.addAccount({ funds: 10_000 });
    const stopOnly = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, []);
    const copies = copyRepository(w.db.db);
    await copies.upsertLink(mirrorLink(master, marketOnly, { orderTypes: ['market'] }));
    await copies.upsertLink(mirrorLink(master, limitOnly, { orderTypes: ['limit'] }));
    await copies.upsertLink(mirrorLink(master, stopOnly, { orderTypes: ['stop'] }));

    await masterOrder(w, master, { side: 'buy', type: 'market', quantity: 0.002 });
    await step();
    await masterOrder(w, master, { side: 'buy', type: 'limit', quantity: 0.003, price: 50_100 }); // crosses: fills at once
    await step();
    // A stop that opens more when the price rises through 50,500, placed in the master's own app
    // (the bot's gateway only places protective, reduce-only stops).
    const secret = w.vault.decrypt(master.secretEnc!, { accountId: master.id, ownerId: master.ownerId, field: 'secret' }).reveal();
    const app = binanceClient(w.sim.fetchImplementation, w.apiKeyOf(master), secret, 'swap', { milliseconds: () => w.clock.now() });
    await app.createOrder(BTC, 'STOP_MARKET', 'buy', 0.004, undefined, { stopPrice: 50_500 });
    w.sim.setPrices({ BTCUSDT: 50_600 }, 'futures');
    await step();
    expect(await positionOf(w, master)).toBeCloseTo(0.009, 9);
    expect(await positionOf(w, marketOnly)).toBeCloseTo(0.002, 9);
    expect(await positionOf(w, limitOnly)).toBeCloseTo(0.003, 9);
    expect(await positionOf(w, stopOnly)).toBeCloseTo(0.004, 9);
    // The way out is never filtered: a market close takes every follower out.
    await masterOrder(w, master, { side: 'sell', type: 'market', quantity: 0.009 });
    await step();
    expect([await positionOf(w, marketOnly), await positionOf(w, limitOnly), await positionOf(w, stopOnly)]).toEqual([0, 0, 0]);
  });

  it('an order that flips the master over two polls: a fixed follower gets its quantity on the new side', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const mirror = await w.addAccount({ funds: 10_000 });
    const fixed = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [mirror]);
    const copies = copyRepository(w.db.db);
    const [link] = await copies.activeLinksOf(master.id);
    await copies.upsertLink({ ...link!, id: crypto.randomUUID(), followerAccountId: fixed.id, followerOwnerId: fixed.ownerId, mode: 'fixed', value: 0.005 });
    await masterOrder(w, master, { side: 'buy', type: 'market', quantity: 0.01 });
    await step();
    expect([await positionOf(w, mirror), await positionOf(w, fixed)]).toEqual([0.01, 0.005]);
    // A limit sell of 0.03: a tenth fills at once (a reduce), the rest later (close, then short 0.02).
    w.sim.inject({ kind: 'partial-fill', path: '/fapi/v1/order', method: 'POST', apiKey: w.apiKeyOf(master), ratio: 0.1, count: 1 });
    w.sim.setPrices({ BTCUSDT: 50_010 }, 'futures');
    await masterOrder(w, master, { side: 'sell', type: 'limit', quantity: 0.03, price: 50_000 });
    await step();
    w.sim.setPrices({ BTCUSDT: 49_900 }, 'futures');
    w.sim.setPrices({ BTCUSDT: 50_050 }, 'futures');
    expect(await positionOf(w, master)).toBeCloseTo(-0.02, 9);
    await step();
    expect(await positionOf(w, mirror)).toBeCloseTo(-0.02, 9);
    expect(await positionOf(w, fixed)).toBeCloseTo(-0.005, 9);
  });

  it("a master order the exchange cannot look up: followers filtering by type copy no open of it, the others do, and exits still go", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const everything = await w.addAccount({ funds: 10_000 });
    const marketOnly = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [everything]);
    await copyRepository(w.db.db).upsertLink(mirrorLink(master, marketOnly, { orderTypes: ['market'] }));
    w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/order', method: 'GET', apiKey: w.apiKeyOf(master), status: 503 });
    await masterOrder(w, master, { side: 'buy', type: 'limit', quantity: 0.004, price: 50_100 });
    await step();
    expect([await positionOf(w, everything), await positionOf(w, marketOnly)]).toEqual([0.004, 0]);
    w.sim.clearFaults();
    await masterOrder(w, master, { side: 'buy', type: 'market', quantity: 0.002 });
    await step();
    expect([await positionOf(w, everything), await positionOf(w, marketOnly)]).toEqual([0.006, 0.002]);
    w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/order', method: 'GET', apiKey: w.apiKeyOf(master), status: 503 });
    await masterOrder(w, master, { side: 'sell', type: 'market', quantity: 0.006 });
    await step();
    expect([await positionOf(w, everything), await positionOf(w, marketOnly)]).toEqual([0, 0]);
  });
});
