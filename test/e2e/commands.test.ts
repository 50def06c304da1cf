import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { executions, signals } from '../../src/db/schema';
import { loadCommands } from '../../src/discord/loader';
import { registerCommands } from '../../src/discord/register';
import { addThroughModal, botWorld, type BotWorld } from '../support/bot';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function setUp(w: BotWorld): Promise<void> {
  await w.slash(w.people.admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
  await w.slash(w.people.admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
}

describe('commands as members use them', () => {
  it('/help, registration over REST (guild and global), and /setup show', async () => {
    world = await botWorld();
    const w = world;
    const help = w.slash(w.people.bob, 'help', undefined);
    expect(w.text(await help.reply())).toContain('/account add');
    expect(help.ephemeral).toBe(true);
    // Every file under commands/ is registered (others add commands: compare with the loader).
    const loaded = [...(await loadCommands()).keys()].sort();
    expect(loaded).toEqual(expect.arrayContaining(['account', 'help', 'orders', 'panic', 'pnl', 'setup', 'signal']));
    expect(w.discord.commands(w.guild.id).map((c) => c['name']).sort()).toEqual(loaded);
    const global = await registerCommands((await loadCommands()).values(), { token: w.discord.token, applicationId: w.discord.applicationId, restApi: w.discord.restApiUrl });
    expect(global).toMatchObject({ scope: 'global', count: loaded.length });
    expect(w.discord.commands().map((c) => c['name']).sort()).toEqual(loaded);
    await setUp(w);
    const show = w.slash(w.people.admin, 'setup', 'show', {});
    const text = w.text(await show.reply());
    expect(text).toContain(`<#${w.channels.feed}>`);
    expect(text).toContain(`<@&${w.callerRoleId}>`);
    expect(w.discord.violations).toEqual([]);
  });

  it('/signal: callers only; /signal cancel withdraws the author\'s own pending signal', async () => {
    world = await botWorld();
    const w = world;
    await setUp(w);
    await addThroughModal(w, w.people.alice, { name: 'paper', type: 'futures', mode: 'paper' });
    const [account] = await w.services.accounts.list(w.people.alice, w.guild.id);
    await w.slash(w.people.alice, 'account', 'toggle', { account: account!.id }).reply();

    const notCaller = w.slash(w.people.bob, 'signal', 'post', { symbol: 'BTC', side: 'long', stop: 45_000 });
    expect(w.text(await notCaller.reply())).toContain('Only members with the caller role');
    const invalid = w.slash(w.people.caller, 'signal', 'post', { symbol: 'BTC', side: 'long', stop: 55_000, entry: '50000' });
    expect(w.text(await invalid.reply())).toContain('stop on the wrong side of the entry');

    const posted = w.slash(w.people.caller, 'signal', 'post', { symbol: 'BTC', side: 'long', entry: '30000', stop: 29_000, take_profits: '40000' });
    expect(w.text(await posted.reply())).toContain('Executing on **1** account of **1** member');
    const choices = await w.discord
      .autocomplete({ guildId: w.guild.id, userId: w.people.caller, name: 'signal', subcommand: 'cancel', options: { signal: 'btc' }, focused: 'signal' })
      .choices();
    expect(choices).toHaveLength(1);
    expect(choices[0]?.name).toContain('BTC/USDT long · limit · pending');
    const bobChoices = await w.discord
      .autocomplete({ guildId: w.guild.id, userId: w.people.bob, name: 'signal', subcommand: 'cancel', options: { signal: '' }, focused: 'signal' })
      .choices();
    expect(bobChoices).toEqual([]);
    const signalId = String(choices[0]!.value);
    const stranger = w.slash(w.people.bob, 'signal', 'cancel', { signal: signalId });
    expect(w.text(await stranger.reply())).toContain('not found');
    const cancelled = w.slash(w.people.caller, 'signal', 'cancel', { signal: signalId });
    expect(w.text(await cancelled.reply())).toContain('BTC/USDT signal withdrawn');
    expect(cancelled.ephemeral).toBe(true);
    const [row] = await w.db.db.select().from(signals).where(eq(signals.id, signalId));
    expect(row?.status).toBe('cancelled');
    await w.runCycle();
    expect(await w.db.db.select().from(executions).where(eq(executions.signalId, signalId))).toEqual([]);
    expect(w.discord.violations).toEqual([]);
  });

  it('/orders pages with buttons; /account remove asks first and is refused while positions are open', async () => {
    world = await botWorld();
    const w = world;
    await setUp(w);
    const { alice, caller } = w.people;
    await addThroughModal(w, alice, { name: 'paper', type: 'futures', mode: 'paper' });
    const [account] = await w.services.accounts.list(alice, w.guild.id);
    await w.slash(alice, 'account', 'settings', { account: account!.id, max_daily_trades: 10 }).reply();
    const outOfRange = w.slash(alice, 'account', 'settings', { account: account!.id, max_daily_loss: 25 });
    expect(w.text(await outOfRange.reply())).toContain('Max daily loss must be between 1 and 20 %');
    await w.slash(alice, 'account', 'toggle', { account: account!.id }).reply();
    for (const symbol of ['BTC', 'ETH']) {
      const stop = symbol === 'BTC' ? 45_000 : 2_700;
      await w.slash(caller, 'signal', 'post', { symbol, side: 'long', stop, take_profits: symbol === 'BTC' ? '55000' : '3300' }).reply();
      await w.runCycle();
    }
    const first = w.slash(alice, 'orders', undefined, { limit: 2 });
    const firstText = w.text(await first.reply());
    expect(firstText).toMatch(/Page 1 of \d+/);
    expect(firstText).toContain('ETH/USDT');
    const older = w.discord.button({ userId: alice, customId: /^orders:page:1:/, messageId: first.original()!.id });
    expect(w.text(await older.reply())).toContain('Page 2 of');
    const filtered = w.slash(alice, 'orders', undefined, { account: account!.id, status: 'filled' });
    expect(w.text(await filtered.reply())).toContain('status filled');

    // Remove: confirmation first, then refused while the bot holds open positions.
    const remove = w.slash(alice, 'account', 'remove', { account: account!.id });
    expect(w.text(await remove.reply())).toContain('Remove paper?');
    const yes = w.discord.button({ userId: alice, customId: /^account:remove-yes:/, messageId: remove.original()!.id });
    const refused = w.text(await yes.reply());
    expect(refused).toContain('/panic');
    expect(yes.ephemeral).toBe(true);
    expect(await w.services.accounts.list(alice, w.guild.id)).toHaveLength(1);
    expect(w.discord.violations).toEqual([]);
  });

  it('an account trades the signals of its own server only', async () => {
    world = await botWorld();
    const w = world;
    await setUp(w);
    await addThroughModal(w, w.people.alice, { name: 'home', type: 'futures', mode: 'paper' });
    const [account] = await w.services.accounts.list(w.people.alice, w.guild.id);
    await w.slash(w.people.alice, 'account', 'toggle', { account: account!.id }).reply();

    const other = w.discord.addGuild({
      name: 'Elsewhere',
      ownerId: 'boss',
      channels: [{ name: 'general' }],
      members: [{ username: 'boss' }, { id: w.people.alice, username: 'alice' }],
    });
    await registerCommands((await loadCommands()).values(), { token: w.discord.token, applicationId: w.discord.applicationId, guildId: other.id, restApi: w.discord.restApiUrl });
    const posted = w.discord.slash({ guildId: other.id, userId: other.ownerId, name: 'signal', subcommand: 'post', options: { symbol: 'BTC', side: 'long', stop: 45_000 } });
    expect(w.text(await posted.reply())).toContain('Executing on **0** accounts of **0** members');
    const list = w.discord.slash({ guildId: other.id, userId: w.people.alice, name: 'account', subcommand: 'list' });
    expect(w.text(await list.reply())).toContain('no accounts');
    await w.runCycle();
    expect(await w.db.db.select().from(executions)).toEqual([]);
    expect(w.discord.violations).toEqual([]);
  });
});
