import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { orders, signals } from '../../../src/db/schema';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, copyRig } from './support';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Copy signals queued so far: the master quantity each carries. */
async function copied(w: TradingWorld): Promise<number[]> {
  const rows = await w.db.db.select().from(signals).where(eq(signals.source, 'copy'));
  return rows.map((row) => (row.copy as { masterQuantity: number }).masterQuantity).sort();
}

describe("the bot's own order on a master whose answer was lost is never copied (issue #13 item 1)", { timeout: 120_000 }, () => {
  it('the exchange says whose each order is: the master\'s own fill is copied at once, the bot\'s never; while it cannot say, nothing is copied', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { copy, engine } = await copyRig(w, master, [follower]);
    const key = w.apiKeyOf(master);

    // A signal the bot executes on the master's account; the entry fills but its answer is lost, and
    // the exchange then cannot find fresh orders for a while: the bot's order has no exchange id.
    w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', apiKey: key, count: 1 });
    w.sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', apiKey: key, ms: 10 * 60_000 });
    await w.submit({ symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 45_000, takeProfits: [55_000], leverage: 5 }, 'lost-answer');
    await engine.runCycle();
    const [entry] = await w.db.db.select().from(orders).where(eq(orders.accountId, master.id));
    expect(entry).toMatchObject({ status: 'unknown', exchangeOrderId: null });
    const botFill = w.sim.trades(key).futures.at(-1)!;

    // The master trades by hand too. Nobody can tell yet which fill is the bot's: nothing is copied.
    await byHand(w, master, 'buy', 0.004);
    await copy.poll();
    expect(await copied(w)).toEqual([]);

    // The exchange finds orders again: each fill's order names its client id. The master's own is
    // copied; the bot's (its deterministic id) is not, even though the book still lacks its exchange id.
    w.sim.clearFaults();
    await copy.poll();
    expect(await copied(w)).toEqual([0.004]);
    expect(botFill.qty).toBeGreaterThan(0);
    await copy.poll();
    expect(await copied(w)).toEqual([0.004]);
  });
});
