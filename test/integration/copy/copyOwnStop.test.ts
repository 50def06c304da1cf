import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { signals } from '../../../src/db/schema';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, copyRig, positionOf } from './support';

/**
 * A master account that also takes the bot's signals: when the bot's own stop triggers there, its
 * trades name the order the algo order placed (actualOrderId), an id the book may not know yet. It is
 * still the bot's order, never a master's trade to copy: followers keep what they copied of the
 * master's own trades. (Found by an independent review: followers were reduced by the master's
 * bot-made stop.)
 */
let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe("the bot's own triggered stop on a master account", { timeout: 180_000 }, () => {
  it('is not copied to followers', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { copy, engine } = await copyRig(w, master, [follower]);
    const copySignals = async () => (await w.db.db.select().from(signals).where(eq(signals.source, 'copy'))).length;

    // The master's own trade, copied.
    await byHand(w, master, 'buy', 0.004);
    await copy.poll();
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBeCloseTo(0.004, 9);
    const copiedBefore = await copySignals();

    // A bot signal on the master (this rig follows no positions: the stop's fill stays unread in the book).
    await w.submit({ symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 45_000, takeProfits: [55_000], leverage: 5 }, 'own-stop');
    for (let i = 0; i < 3; i += 1) await engine.runCycle();
    await copy.poll();
    w.sim.setPrices({ BTCUSDT: 44_000 }, 'futures');
    await copy.poll();
    for (let i = 0; i < 3; i += 1) await engine.runCycle();

    expect(await positionOf(w, master)).toBeCloseTo(0.004, 9);
    expect(await copySignals()).toBe(copiedBefore);
    expect(await positionOf(w, follower)).toBeCloseTo(0.004, 9);
  });
});
