import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { addThroughModal, botWorld, embedText, type BotWorld } from '../support/bot';
import { databaseKinds } from '../support/db';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe.each(databaseKinds)('a member trades through Discord (%s)', (kind) => {
  it('adds two accounts through the modal, lists and enables them; a caller signals; feed, /orders and /pnl answer', async () => {
    world = await botWorld({ kind });
    const w = world;
    const { alice, admin, caller } = w.people;

    // Admin points the feed at #feed and names the caller role.
    const feedSetup = w.slash(admin, 'setup', 'feed-channel', { channel: w.channels.feed });
    expect(w.text(await feedSetup.reply())).toContain(`<#${w.channels.feed}>`);
    expect(feedSetup.ephemeral).toBe(true);
    await w.slash(admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();

    // Autocomplete offers ccxt's exchanges.
    const choices = await w.discord
      .autocomplete({ guildId: w.guild.id, userId: alice, name: 'account', subcommand: 'add', options: { exchange: 'binan' }, focused: 'exchange' })
      .choices();
    expect(choices.map((c) => c.value)).toContain('binance');

    // Two futures accounts with keys the exchange knows.
    const keys = [1, 2].map((n) => ({
      apiKey: `alice${n}${randomUUID().replace(/-/g, '')}`,
      secret: `sec${n}${randomUUID().replace(/-/g, '')}`,
    }));
    for (const key of keys) w.binance.addAccount({ ...key, futures: { USDT: 10_000 } });
    for (const [i, key] of keys.entries()) {
      const { submit, reply } = await addThroughModal(w, alice, { name: `main-${i + 1}`, type: 'futures', mode: 'live', ...key });
      expect(submit.ephemeral).toBe(true);
      const text = w.text(reply);
      expect(text).toContain('Account added');
      expect(text).toContain(`${key.apiKey.slice(0, 4)}…${key.apiKey.slice(-4)}`);
      expect(text).toContain('10,000.00 USDT');
    }

    // The list shows both with masked keys, only to alice.
    const list = w.slash(alice, 'account', 'list', undefined);
    const listText = w.text(await list.reply());
    expect(list.ephemeral).toBe(true);
    for (const [i, key] of keys.entries()) {
      expect(listText).toContain(`main-${i + 1}`);
      expect(listText).toContain(`${key.apiKey.slice(0, 4)}…${key.apiKey.slice(-4)}`);
      expect(listText).not.toContain(key.apiKey);
    }

    // Enable the first with its list button, the second with /account toggle.
    const enable = w.discord.button({ userId: alice, customId: /^account:toggle:/, messageId: (await list.reply()).id });
    expect(w.text(await enable.reply())).toContain('✅ enabled');
    const [, second] = await w.services.accounts.list(alice, w.guild.id);
    const toggled = w.slash(alice, 'account', 'toggle', { account: second!.id });
    expect(w.text(await toggled.reply())).toContain('Enabled');
    expect((await w.services.accounts.list(alice, w.guild.id)).map((a) => a.enabled)).toEqual([true, true]);

    // A caller publishes a signal.
    const posted = w.slash(caller, 'signal', 'post', { symbol: 'BTC/USDT', side: 'long', stop: 48_000, take_profits: '52000, 54000', leverage: 5 });
    const postedText = w.text(await posted.reply());
    expect(postedText).toContain('Executing on **2** accounts of **1** member');

    await w.runCycle();
    expect(await w.flushFeed()).toBeGreaterThanOrEqual(3);
    const feed = w.discord.channelMessages(w.channels.feed);
    const feedText = feed.map((m) => embedText(m.embeds)).join('\n');
    expect(feedText).toContain('main-1');
    expect(feedText).toContain('main-2');
    expect(feedText).toMatch(/BTC\/USDT.*LONG · filled/);
    expect(feedText).toContain('filled 2 of 2');
    for (const message of feed) expect(message.mentions).toEqual([]);

    // /orders: both accounts' orders, newest first; /pnl answers.
    const orders = w.slash(alice, 'orders', undefined, { limit: 25 });
    const ordersText = w.text(await orders.reply());
    expect(orders.ephemeral).toBe(true);
    expect(ordersText).toContain('main-1');
    expect(ordersText).toContain('main-2');
    expect(ordersText).toContain('BTC/USDT');
    const pnl = w.slash(alice, 'pnl', undefined, { period: 'all' });
    const pnlText = w.text(await pnl.reply(15_000));
    expect(pnl.ephemeral).toBe(true);
    expect(pnlText).toContain('Your PnL');
    expect(pnlText).toContain('Open positions: 1');

    expect(w.discord.violations).toEqual([]);
    expect(w.discord.stats.rateLimited).toBe(0);
  });
});
