import { afterEach, describe, expect, it } from 'vitest';
import { createCopyTrading } from '../../src/copy';
import { accountsRepository } from '../../src/db/repositories/accounts';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { botWorld, masterAndFollowerAccounts, type BotWorld } from '../support/bot';
import { createStore } from '../../src/db/store';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('/copy through Discord', { timeout: 120_000 }, () => {
  it('an admin makes a master, a member follows with a multiplier, a master fill is copied', async () => {
    world = await botWorld();
    const w = world;
    const { admin, alice, bob } = w.people;
    const { master, aliceKey } = await masterAndFollowerAccounts(w);

    // Members may not make masters unless an admin allowed it.
    const refused = w.slash(bob, 'copy', 'master', { account: master.id });
    expect(w.text(await refused.reply())).toContain('Only admins');
    // Once listed by an admin, bob passes the policy (and can only name his own accounts).
    const listed = w.slash(admin, 'setup', 'copy-masters', { allow: 'listed', member: bob });
    expect(w.text(await listed.reply())).toContain('admins and 1 listed member');
    expect(w.text(await w.slash(bob, 'copy', 'master', { account: master.id }).reply())).toContain('Account not found');
    const made = w.slash(admin, 'copy', 'master', { account: master.id });
    expect(w.text(await made.reply())).toContain('lead is a copy-trading master');

    const choices = await w.discord
      .autocomplete({ guildId: w.guild.id, userId: alice, name: 'copy', subcommand: 'follow', options: { master: 'le', mode: 'mirror' }, focused: 'master' })
      .choices();
    expect(choices.map((c) => c.value)).toEqual([master.id]);
    const follow = w.slash(alice, 'copy', 'follow', { master: master.id, mode: 'multiplier', value: 2, block: 'DOGE' });
    const followText = w.text(await follow.reply());
    expect(follow.ephemeral).toBe(true);
    expect(followText).toContain('follow ← lead');
    expect(followText).toContain('× 2');

    const copy = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: createSignalIntake(createStore(w.db.db), w.clock, () => {}), clock: w.clock, log: w.log });
    await copy.poll();
    const masterRow = (await w.services.accounts.list(admin, w.guild.id))[0]!;
    const masterAccount = (await accountsRepository(w.db.db).byId(masterRow.id))!;
    await w.gateways.forAccount(masterAccount).placeOrder({ clientOrderId: 'leadopen1', symbol: 'BTC/USDT:USDT', side: 'buy', type: 'market', quantity: 0.01, reduceOnly: false });
    expect((await copy.poll()).signals).toBe(1);
    await w.runCycle();
    expect(w.binance.positions(aliceKey.apiKey).map((p) => [p.symbol, p.amt])).toEqual([['BTCUSDT', 0.02]]);

    const list = w.text(await w.slash(alice, 'copy', 'list', undefined).reply());
    expect(list).toContain('Copied 1 · skipped 0 · failed 0 · success 100 %');
    const stop = w.text(await w.slash(alice, 'copy', 'stop', undefined).reply());
    expect(stop).toContain('Stopped 1 follow link');
    expect(w.discord.violations).toEqual([]);
  });

  it('a follower who confirms each copy gets a DM: Copy trades, Skip does not, a late answer is a skip', async () => {
    world = await botWorld();
    const w = world;
    const { admin, alice } = w.people;
    const { master, aliceKey } = await masterAndFollowerAccounts(w);
    await w.slash(admin, 'copy', 'master', { account: master.id }).reply();
    await w.slash(alice, 'copy', 'follow', { master: master.id, mode: 'mirror', confirm: true }).reply();

    const copy = createCopyTrading({
      store: createStore(w.db.db),
      gateways: w.gateways,
      intake: createSignalIntake(createStore(w.db.db), w.clock, () => {}),
      clock: w.clock,
      log: w.log,
      confirmWindowMs: 120_000,
    });
    await copy.poll();
    const masterAccount = (await accountsRepository(w.db.db).byId(master.id))!;
    let n = 0;
    const fill = async () => {
      n += 1;
      await w.gateways.forAccount(masterAccount).placeOrder({ clientOrderId: `leadbuy${n}`, symbol: 'BTC/USDT:USDT', side: 'buy', type: 'market', quantity: 0.01, reduceOnly: false });
      await copy.poll();
      await w.flushFeed();
      const dm = w.discord.dmMessages(alice).at(-1)!;
      expect(w.text(dm)).toContain('Copy the master');
      return dm;
    };

    // Copy: traded.
    const first = await fill();
    expect(w.text(first)).toContain('Open long BTC/USDT: 0.01 at market');
    const yes = w.discord.button({ userId: alice, customId: /^copy:ok:/, messageId: first.id });
    expect(w.text(await yes.reply())).toContain('Copied');
    await w.runCycle();
    expect(w.binance.positions(aliceKey.apiKey).map((p) => p.amt)).toEqual([0.01]);

    // Skip: nothing.
    const second = await fill();
    const no = w.discord.button({ userId: alice, customId: /^copy:skip:/, messageId: second.id });
    expect(w.text(await no.reply())).toContain('Skipped');
    await w.runCycle();

    // No answer within the window: a late Copy is a skip.
    const third = await fill();
    w.clock.advance(5 * 60_000);
    const late = w.discord.button({ userId: alice, customId: /^copy:ok:/, messageId: third.id });
    expect(w.text(await late.reply())).toContain('Too late');
    await w.runCycle();
    expect(w.binance.positions(aliceKey.apiKey).map((p) => p.amt)).toEqual([0.01]);
    const listed = w.text(await w.slash(alice, 'copy', 'list', undefined).reply());
    expect(listed).toContain('Copied 1 · skipped 2 · failed 0 · success 100 %');
    expect(listed).toContain('Skipped: your filters or answer ×2');
    expect(w.discord.violations).toEqual([]);
  });

  it('a DM sent but not marked as sent (the database failed just then) is not sent twice: Discord answers the same message', async () => {
    world = await botWorld();
    const w = world;
    const { admin, alice } = w.people;
    const { master } = await masterAndFollowerAccounts(w);
    await w.slash(admin, 'copy', 'master', { account: master.id }).reply();
    await w.slash(alice, 'copy', 'follow', { master: master.id, mode: 'mirror', confirm: true }).reply();
    const copy = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: createSignalIntake(createStore(w.db.db), w.clock, () => {}), clock: w.clock, log: w.log, confirmWindowMs: 120_000 });
    await copy.poll();
    const masterAccount = (await accountsRepository(w.db.db).byId(master.id))!;
    await w.gateways.forAccount(masterAccount).placeOrder({ clientOrderId: 'leadonce1', symbol: 'BTC/USDT:USDT', side: 'buy', type: 'market', quantity: 0.01, reduceOnly: false });
    await copy.poll();
    const service = w.services.copy;
    const mark = service.markConfirmationSent;
    let failures = 1;
    service.markConfirmationSent = async (id, messageId) => {
      if (failures-- > 0) throw new Error('database unavailable');
      return mark(id, messageId);
    };
    await w.flushFeed().catch(() => 0);
    w.clock.advance(6_000); // past the 5 s retry wait
    await w.flushFeed();
    expect(w.discord.dmMessages(alice).filter((m) => w.text(m).includes('Copy the master'))).toHaveLength(1);
    expect(await service.pendingConfirmations()).toEqual([]);
  });
});
