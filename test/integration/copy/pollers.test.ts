import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createCopyTrading } from '../../../src/copy';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { signals } from '../../../src/db/schema';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { BTC, copyRig, positionOf } from './support';
import { createStore } from '../../../src/db/store';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('two pollers on one master (a lease taken over while the first stalled)', { timeout: 120_000 }, () => {
  it('the stalled one writes nothing once the other moved on: no fill is copied twice', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { copy: fresh, engine } = await copyRig(w, master, [follower]);
    // The stalled poller: its trade read returns, then it waits until released.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let readDone!: () => void;
    const read = new Promise<void>((resolve) => (readDone = resolve));
    const stalled = createCopyTrading({
      store: createStore(w.db.db),
      intake: w.intake,
      clock: w.clock,
      log: w.log,
      gateways: {
        forAccount: (account: AccountRow): ExchangeGateway => {
          const real = w.gateways.forAccount(account);
          return Object.assign(Object.create(real) as ExchangeGateway, {
            tradesSince: async (...args: Parameters<ExchangeGateway['tradesSince']>) => {
              const trades = await real.tradesSince(...args);
              readDone();
              await released;
              return trades;
            },
          });
        },
      },
    });
    // A resting limit buy fills half now (the stalled poller reads that), the rest later.
    w.sim.inject({ kind: 'partial-fill', path: '/fapi/v1/order', method: 'POST', apiKey: w.apiKeyOf(master), ratio: 0.5, count: 1 });
    w.sim.setPrices({ BTCUSDT: 49_990 }, 'futures');
    await w.gateways.forAccount(master).placeOrder({ clientOrderId: 'rest1', symbol: BTC, side: 'buy', type: 'limit', quantity: 0.02, price: 50_000, reduceOnly: false });
    const first = stalled.poll();
    await read;
    w.sim.setPrices({ BTCUSDT: 50_100 }, 'futures');
    w.sim.setPrices({ BTCUSDT: 49_950 }, 'futures');
    expect(await positionOf(w, master)).toBeCloseTo(0.02, 9);
    // The other poller copies the whole order (both fills) and moves the cursor on.
    await fresh.poll();
    release();
    await first;
    await fresh.poll();
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBeCloseTo(0.02, 9);
    const copies = await w.db.db.select().from(signals).where(eq(signals.source, 'copy'));
    expect(copies.map((row) => (row.copy as { masterQuantity: number }).masterQuantity)).toEqual([0.02]);
  });
});
