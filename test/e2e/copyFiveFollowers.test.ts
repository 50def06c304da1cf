import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createCopyTrading } from '../../src/copy';
import { accountsRepository, type AccountRow } from '../../src/db/repositories/accounts';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { addThroughModal, botWorld, type BotWorld } from '../support/bot';
import { createStore } from '../../src/db/store';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A live futures account of `userId`, added through the modal, switched on; answers its row and simulator key. */
async function futuresAccount(w: BotWorld, userId: string, name: string): Promise<{ row: AccountRow; apiKey: string }> {
  const key = { apiKey: `${name}${randomUUID().replace(/-/g, '')}`, secret: `s${randomUUID().replace(/-/g, '')}` };
  w.binance.addAccount({ ...key, futures: { USDT: 10_000 } });
  await addThroughModal(w, userId, { name, type: 'futures', mode: 'live', ...key });
  const view = (await w.services.accounts.list(userId, w.guild.id)).find((a) => a.name === name)!;
  await w.slash(userId, 'account', 'toggle', { account: view.id }).reply();
  return { row: (await accountsRepository(w.db.db).byId(view.id))!, apiKey: key.apiKey };
}

describe('copy trading end to end: a master and five followers (issue #13)', { timeout: 180_000 }, () => {
  it('every follower is flat when the master is flat, and nobody ever holds more than their own limits allow', async () => {
    world = await botWorld();
    const w = world;
    const { owner, admin, alice, bob, caller: carol } = w.people;
    const dave = w.discord.addMember(w.guild.id, { username: 'dave' }).id;

    const lead = await futuresAccount(w, admin, 'lead');
    const looping = await futuresAccount(w, alice, 'alice-copy');
    const paused = await futuresAccount(w, bob, 'bob-copy');
    const off = await futuresAccount(w, carol, 'carol-copy');
    const tight = await futuresAccount(w, owner, 'owner-copy');
    const asks = await futuresAccount(w, dave, 'dave-copy');
    // The tight follower: 50 USD of margin at 10×, 500 USD of BTC (0.01 at 50,000).
    await w.slash(owner, 'account', 'settings', { account: tight.row.id, max_position: 50, leverage: 10 }).reply();

    expect(w.text(await w.slash(admin, 'copy', 'master', { account: lead.row.id }).reply())).toContain('is a copy-trading master');
    for (const [who, account] of [[alice, looping], [bob, paused], [carol, off], [owner, tight]] as const) {
      expect(w.text(await w.slash(who, 'copy', 'follow', { master: lead.row.id, mode: 'mirror', account: account.row.id }).reply())).toContain('Following');
    }
    await w.slash(dave, 'copy', 'follow', { master: lead.row.id, mode: 'mirror', account: asks.row.id, confirm: true }).reply();

    // The loop attempt: alice's account becomes a master too, and the lead tries to follow it.
    await w.slash(admin, 'setup', 'copy-masters', { allow: 'listed', member: alice }).reply();
    expect(w.text(await w.slash(alice, 'copy', 'master', { account: looping.row.id }).reply())).toContain('is a copy-trading master');
    const loop = w.text(await w.slash(admin, 'copy', 'follow', { master: looping.row.id, mode: 'mirror', account: lead.row.id }).reply());
    expect(loop).toContain('cannot follow this master');

    const copy = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: createSignalIntake(createStore(w.db.db), w.clock, () => {}), clock: w.clock, log: w.log });
    await copy.poll();
    let n = 0;
    const leadTrades = async (side: 'buy' | 'sell', quantity: number) => {
      n += 1;
      await w.gateways.forAccount(lead.row).placeOrder({ clientOrderId: `lead${n}`, symbol: 'BTC/USDT:USDT', side, type: 'market', quantity, reduceOnly: side === 'sell' });
      await copy.poll();
      await w.flushFeed();
    };
    const held = (apiKey: string) => w.binance.positions(apiKey).reduce((sum, p) => sum + Math.abs(p.amt), 0);
    const followers = [looping, paused, off, tight, asks];
    const limitsHold = () => expect(held(tight.apiKey) * 50_000).toBeLessThanOrEqual(50 * 10 + 1e-6);
    const daveSays = async (yes: boolean) => {
      const dm = w.discord.dmMessages(dave).at(-1)!;
      expect(w.text(dm)).toContain('Copy the master');
      await w.discord.button({ userId: dave, customId: yes ? /^copy:ok:/ : /^copy:skip:/, messageId: dm.id }).reply();
    };

    // The lead opens 0.008: everyone follows (dave once he says Copy).
    await leadTrades('buy', 0.008);
    await daveSays(true);
    await w.runCycle();
    expect(followers.map((f) => held(f.apiKey))).toEqual([0.008, 0.008, 0.008, 0.008, 0.008]);
    limitsHold();

    // Bob's account is paused for the day, carol switches hers off.
    await accountsRepository(w.db.db).update(paused.row.id, { pausedUntil: new Date(w.clock.now() + 86_400_000) });
    await w.slash(carol, 'account', 'toggle', { account: off.row.id }).reply();

    // The lead adds 0.008: the tight follower stops at its max position (0.01), paused and off add nothing.
    await leadTrades('buy', 0.008);
    await daveSays(true);
    await w.runCycle();
    expect(followers.map((f) => held(f.apiKey))).toEqual([0.016, 0.008, 0.008, 0.01, 0.016]);
    limitsHold();

    // The lead adds once more; dave skips this one; the tight follower is full.
    await leadTrades('buy', 0.004);
    await daveSays(false);
    await w.runCycle();
    expect(followers.map((f) => held(f.apiKey))).toEqual([0.02, 0.008, 0.008, 0.01, 0.016]);
    limitsHold();

    // The lead goes flat: every follower goes flat, paused, switched off and full ones included.
    await leadTrades('sell', 0.02);
    await w.runCycle();
    expect(held(lead.apiKey)).toBe(0);
    expect(followers.map((f) => held(f.apiKey))).toEqual([0, 0, 0, 0, 0]);
    expect(w.discord.violations).toEqual([]);
  });
});
