import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { accountsRepository } from '../../src/db/repositories/accounts';
import { orders, positions } from '../../src/db/schema';
import { addThroughModal, botWorld, type BotWorld } from '../support/bot';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const LIVE = ['intent', 'unknown', 'open', 'partially-filled'];

describe('/panic end to end', () => {
  it("asks first, then closes the caller's bot positions and cancels their orders, and nobody else's", { timeout: 120_000 }, async () => {
    world = await botWorld();
    const w = world;
    await w.slash(w.people.admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
    await w.slash(w.people.admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
    const { alice, bob, caller } = w.people;
    for (const member of [alice, bob]) {
      await addThroughModal(w, member, { name: 'paper', type: 'futures', mode: 'paper' });
      const [account] = await w.services.accounts.list(member, w.guild.id);
      await w.slash(member, 'account', 'toggle', { account: account!.id }).reply();
    }
    await w.slash(caller, 'signal', 'post', { symbol: 'BTC', side: 'long', stop: 45_000, take_profits: '55000' }).reply();
    await w.runCycle();
    const [aliceAccount] = await w.services.accounts.list(alice, w.guild.id);
    const [bobAccount] = await w.services.accounts.list(bob, w.guild.id);
    const openOf = async (accountId: string) => ({
      positions: (await w.db.db.select().from(positions).where(eq(positions.accountId, accountId))).filter((p) => p.status === 'open').length,
      orders: (await w.db.db.select().from(orders).where(eq(orders.accountId, accountId))).filter((o) => LIVE.includes(o.status)).length,
    });
    expect(await openOf(aliceAccount!.id)).toEqual({ positions: 1, orders: 2 });
    expect(await openOf(bobAccount!.id)).toEqual({ positions: 1, orders: 2 });

    const panic = w.slash(alice, 'panic', undefined, {});
    const prompt = w.text(await panic.reply());
    expect(prompt).toContain('Panic');
    expect(prompt).toContain('1 open position');
    expect(panic.ephemeral).toBe(true);
    // Nothing happens before the button.
    expect(await openOf(aliceAccount!.id)).toEqual({ positions: 1, orders: 2 });

    const yes = w.discord.button({ userId: alice, customId: /^panic:yes:/, messageId: panic.original()!.id });
    const done = w.text(await yes.reply(30_000));
    expect(done).toContain('Panic done');
    expect(done).toContain('1 position closed');
    expect(await openOf(aliceAccount!.id)).toEqual({ positions: 0, orders: 0 });
    const rows = accountsRepository(w.db.db);
    // The (paper) exchange agrees: alice holds nothing, bob still holds his position.
    expect(await w.gateways.forAccount((await rows.byId(aliceAccount!.id))!).positions()).toEqual([]);
    expect(await w.gateways.forAccount((await rows.byId(bobAccount!.id))!).positions()).toHaveLength(1);
    expect(await openOf(bobAccount!.id)).toEqual({ positions: 1, orders: 2 });
    expect(w.discord.violations).toEqual([]);
  });
});
