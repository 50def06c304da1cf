import { afterEach, describe, expect, it } from 'vitest';
import { createCopyPositions, createCopyTrading } from '../../src/copy';
import { accountsRepository } from '../../src/db/repositories/accounts';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { botWorld, masterAndFollowerAccounts, type BotWorld } from '../support/bot';
import { createStore } from '../../src/db/store';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('copied positions through Discord', { timeout: 120_000 }, () => {
  it("a copied round trip shows in the follower's /pnl and as 'position closed' in the feed", async () => {
    world = await botWorld();
    const w = world;
    const { admin, alice } = w.people;
    await w.slash(admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
    const { master, aliceKey } = await masterAndFollowerAccounts(w);
    await w.slash(admin, 'copy', 'master', { account: master.id }).reply();
    await w.slash(alice, 'copy', 'follow', { master: master.id, mode: 'mirror' }).reply();

    // Wired as src/app.ts wires it: a cycle step after the engine's executions.
    const positions = createCopyPositions({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log });
    w.engine.addCycleStep('copy-positions', async () => void (await positions.run()));
    const copy = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: createSignalIntake(createStore(w.db.db), w.clock, () => {}), clock: w.clock, log: w.log });
    await copy.poll();
    const masterAccount = (await accountsRepository(w.db.db).byId(master.id))!;
    const trade = async (id: string, side: 'buy' | 'sell', price: number) => {
      w.binance.setPrice('BTCUSDT', price, 'futures');
      await w.gateways.forAccount(masterAccount).placeOrder({ clientOrderId: id, symbol: 'BTC/USDT:USDT', side, type: 'market', quantity: 0.01, reduceOnly: false });
      expect((await copy.poll()).signals).toBe(1);
      await w.runCycle();
    };
    await trade('leadopen1', 'buy', 50_000);
    await trade('leadclose1', 'sell', 52_000);
    expect(w.binance.positions(aliceKey.apiKey)).toEqual([]);

    await w.flushFeed();
    const feed = w.discord.channelMessages(w.channels.feed).map((message) => w.text(message)).join('\n');
    expect(feed).toContain('position closed');

    // 0.01 × (52 000 − 50 000) − taker fees 0.25 + 0.26 = 19.49
    const pnl = w.slash(alice, 'pnl', undefined, { period: 'day' });
    const text = w.text(await pnl.reply(15_000));
    expect(text).toContain('Realised: +19.49 USDT');
    expect(text).toContain('Closed trades: 1 · win rate 100 % · no loss');
    expect(text).toContain('Best +19.49 USDT · worst +19.49 USDT · max drawdown 0.00 USDT');
    expect(w.discord.violations).toEqual([]);
  });
});
