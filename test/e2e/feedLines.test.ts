import { afterEach, describe, expect, it } from 'vitest';
import { accountsRepository } from '../../src/db/repositories/accounts';
import { createPositionSync } from '../../src/trading/positionSync';
import { addThroughModal, botWorld, type BotWorld } from '../support/bot';
import { createStore } from '../../src/db/store';

/**
 * What a trader reads in the feed (issue #17), through the real discord.js client against the Discord
 * simulator: every line says the mode and market and the pair in one form, a paper line never reads
 * as live money, a line links back to its signal and shares its short id with the summary, and the
 * position's lines carry their numbers (take-profit hit, stop moved, close).
 */
let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('feed lines a trader can read', () => {
  it('a paper futures account from /signal to take-profit, break-even and /panic', { timeout: 180_000 }, async () => {
    world = await botWorld();
    const w = world;
    const { alice, caller } = w.people;
    await w.slash(w.people.admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
    await w.slash(w.people.admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
    await addThroughModal(w, alice, { name: 'paper', type: 'futures', mode: 'paper' });
    const [account] = await w.services.accounts.list(alice, w.guild.id);
    await accountsRepository(w.db.db).update(account!.id, { shareAmounts: true });
    await w.slash(alice, 'account', 'toggle', { account: account!.id }).reply();

    await w.slash(caller, 'signal', 'post', { symbol: 'BTC', side: 'long', stop: 45_000, take_profits: '55000 60000' }).reply();
    await w.runCycle();
    await w.flushFeed();
    const feed = () => w.discord.channelMessages(w.channels.feed).flatMap((message) => message.embeds);
    const order = feed().find((embed) => embed.title?.includes('filled') && !embed.title.includes(' of '))!;
    expect(order.title).toMatch(/^\[PAPER\] 🟢 BTC\/USDT · perp 📈 LONG · filled$/);
    expect(order.description).toContain('📝 Paper · Futures · binance');
    expect(order.description).toContain(`From a /signal by <@${caller}>`);
    expect(order.footer?.text).toMatch(/^signal [0-9a-f]{8} · Paper: simulated by the bot, no real money$/);
    expect(order.fields?.map((field) => field.name)).not.toContain('Status');
    expect(JSON.stringify(order.fields)).not.toContain('—');
    const signalTag = order.footer!.text.slice(0, 'signal '.length + 8);
    const summary = feed().find((embed) => embed.title?.includes('filled 1 of 1'))!;
    expect(summary.title).toBe('📊 BTC/USDT 📈 LONG · filled 1 of 1');
    expect(summary.footer?.text).toBe(`Final summary · ${signalTag}`);
    expect(summary.description).toContain(`From a /signal by <@${caller}>`);
    // The summary links to the signal's first per-order line in the channel.
    const orderMessage = w.discord.channelMessages(w.channels.feed).find((message) => message.embeds.includes(order))!;
    expect(summary.description).toContain(`[Each account's line](https://discord.com/channels/${w.guild.id}/${w.channels.feed}/${orderMessage.id})`);

    // The first target trades: the position sync books it and moves the stop to the entry.
    const sync = createPositionSync({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log });
    w.binance.setPrice('BTCUSDT', 55_100, 'both');
    for (let pass = 0; pass < 4 && !feed().some((embed) => embed.title?.includes('break-even')); pass++) {
      await sync.run();
      await w.flushFeed();
    }
    const hit = feed().find((embed) => embed.title?.includes('take-profit 1 hit'))!;
    expect(hit.title).toMatch(/^\[PAPER\] 🎯 BTC\/USDT · perp 📈 LONG · take-profit 1 hit$/);
    expect(hit.description).toMatch(/TP1 at 55,000 · filled at [\d,.]+/);
    expect(hit.description).toMatch(/Closed: [\d.]+/);
    expect(hit.description).toMatch(/Gain on this part: \+[\d,.]+ USDT \(before fees\)/);
    expect(hit.footer?.text).toContain(signalTag);
    const moved = feed().find((embed) => embed.title?.includes('stop moved to break-even'))!;
    expect(moved.description).toMatch(/New stop: [\d,.]+ \(the entry price\)/);

    // /panic closes the rest: the close says why, at what price, the return and how long it was held.
    await w.services.panic.run(alice, w.guild.id, null);
    await w.flushFeed();
    const closed = feed().find((embed) => embed.title?.includes('position closed'))!;
    expect(closed.title).toMatch(/^\[PAPER\] 🏁 BTC\/USDT · perp 📈 LONG · position closed$/);
    for (const line of [/Cause: \/panic/, /Exit price: [\d,.]+/, /Return on margin: [+-][\d.]+ %/, /PnL: [+-]?[\d,.]+ USDT/, /Time in trade: \d+ (s|min|h|d)/])
      expect(closed.description).toMatch(line);
    expect(w.discord.violations).toEqual([]);
  });
});
