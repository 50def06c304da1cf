import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { accountsRepository } from '../../src/db/repositories/accounts';
import { signalsRepository } from '../../src/db/repositories/signals';
import { addThroughModal, botWorld, type BotWorld } from '../support/bot';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const SIGNAL = [
  '🚀 **BTC/USDT LONG**',
  'Entry: market',
  'Stop Loss: 48,000',
  'Targets: 52000 / 54000',
  'Leverage 5x',
].join('\n');

describe('signals posted in the signal channel', { timeout: 120_000 }, () => {
  it("runs a caller's message on subscribers' accounts, ignores a non-caller's identical one, explains an invalid one", async () => {
    world = await botWorld();
    const w = world;
    const { alice, admin, bob, caller } = w.people;

    await w.slash(admin, 'setup', 'signal-channel', { channel: w.channels.signals }).reply();
    await w.slash(admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();

    const key = { apiKey: `alice${randomUUID().replace(/-/g, '')}`, secret: `sec${randomUUID().replace(/-/g, '')}` };
    w.binance.addAccount({ ...key, futures: { USDT: 10_000 } });
    await addThroughModal(w, alice, { name: 'main', type: 'futures', mode: 'live', ...key });
    const [account] = await w.services.accounts.list(alice, w.guild.id);
    await w.slash(alice, 'account', 'toggle', { account: account!.id }).reply();

    // A member without the caller role posts the very same text first: it is never parsed.
    const fromBob = w.discord.postMessage({ userId: bob, guildId: w.guild.id, channelId: w.channels.signals, content: SIGNAL });
    // Chatter from the caller: ignored, no answer.
    const chatter = w.discord.postMessage({ userId: caller, guildId: w.guild.id, channelId: w.channels.signals, content: 'TP1 hit, move SL to entry 🎯' });
    // The caller's signal.
    const fromCaller = w.discord.postMessage({ userId: caller, guildId: w.guild.id, channelId: w.channels.signals, content: SIGNAL });
    await fromCaller.waitForReaction('✅', 20_000);
    const reply = await fromCaller.waitForReply(20_000);
    expect(reply.content).toContain('BTC/USDT LONG');
    expect(reply.content).toContain('Executing on 1 account of 1 member');
    expect(reply.mentions).toEqual([]);

    // An invalid one: the caller learns why.
    const invalid = w.discord.postMessage({
      userId: caller,
      guildId: w.guild.id,
      channelId: w.channels.signals,
      content: 'ETH/USDT long\nEntry 3000\nTP 3100 3200',
    });
    const why = await invalid.waitForReply(20_000);
    expect(why.content).toContain('no stop-loss');
    expect(invalid.reactions()).toEqual([]);

    const signals = signalsRepository(w.db.db);
    expect(await signals.listRecentByAuthor(w.guild.id, bob, 10)).toEqual([]);
    const queued = await signals.listRecentByAuthor(w.guild.id, caller, 10);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ source: 'channel', sourceRef: fromCaller.id, symbol: 'BTC/USDT', side: 'long' });

    await w.runCycle();
    const futures = w.binance.orders(key.apiKey).futures;
    expect(futures.some((o) => o.side === 'BUY' && o.type === 'MARKET' && o.status === 'FILLED')).toBe(true);
    expect(w.binance.positions(key.apiKey)).toHaveLength(1);

    // Nobody answered bob or the chatter.
    expect(fromBob.replies()).toEqual([]);
    expect(fromBob.reactions()).toEqual([]);
    expect(chatter.replies()).toEqual([]);
    expect(chatter.reactions()).toEqual([]);
    expect(w.discord.violations).toEqual([]);
  });
});

describe('what cannot be traded as written is refused in words, and nothing is queued', { timeout: 120_000 }, () => {
  it('an unlisted pair, prices far from the market, a percentage stop and a breakout entry get their reasons; a results post gets nothing', async () => {
    world = await botWorld();
    const w = world;
    const { admin, caller } = w.people;
    await w.slash(admin, 'setup', 'signal-channel', { channel: w.channels.signals }).reply();
    await w.slash(admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
    const post = (content: string) =>
      w.discord.postMessage({ userId: caller, guildId: w.guild.id, channelId: w.channels.signals, content });

    // The simulated Binance lists no PEPE: refused at intake, after the parser read it.
    const unlisted = post('#PEPE/USDT LONG\nEntry 0.0000120\nSL 0.0000110\nTP 0.0000130');
    expect((await unlisted.waitForReply(20_000)).content).toContain('pair not listed on the exchanges');
    const percent = post('ETH/USDT LONG\nEntry 1770\nSL - 25-30%\nTP 1850');
    expect((await percent.waitForReply(20_000)).content).toContain('stop given as a percentage');
    const breakout = post('Enter above 3100\n#ETH/USDT\nSL 2900\nTP 3300');
    expect((await breakout.waitForReply(20_000)).content).toContain('entry on a breakout');
    // ETH trades at 3,000 on the simulator: "30" is a number written short.
    const short = post('#ETH/USDT LONG\nEntry 30\nSL 28\nTP 32');
    expect((await short.waitForReply(20_000)).content).toContain("prices far from the market's");
    const results = post('#ETH/USDT\nTarget 1: 3100 \u2705\nTarget 2: 3200 \u2705\n38% profit');
    // A listed pair from the same caller afterwards is queued: the refusals above held nothing up.
    const listed = post('#SOL/USDT LONG\nEntry 150\nSL 140\nTP 160');
    await listed.waitForReaction('\u2705', 20_000);

    expect(results.replies()).toEqual([]);
    for (const refused of [unlisted, percent, breakout, short]) expect(refused.reactions()).toEqual([]);
    const queued = await signalsRepository(w.db.db).listRecentByAuthor(w.guild.id, caller, 10);
    expect(queued.map((s) => s.symbol)).toEqual(['SOL/USDT']);
    expect(w.discord.violations).toEqual([]);
  });

  it('/signal with a pair the exchange does not list is refused', async () => {
    world = await botWorld();
    const w = world;
    const { admin } = w.people;
    await w.slash(admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
    const answer = w.slash(w.people.caller, 'signal', 'post', { symbol: 'NOTACOIN/USDT', side: 'long', stop: 10, entry: '11', take_profits: '12' });
    expect(w.text(await answer.reply())).toContain('pair not listed on the exchanges');
    expect(await signalsRepository(w.db.db).listRecentByAuthor(w.guild.id, w.people.caller, 10)).toEqual([]);
  });
});

describe('/setup strategy and the per-account opt-in', () => {
  it('an admin turns the example strategy on with a watchlist; a member opts an account in', async () => {
    world = await botWorld();
    const w = world;
    const { alice, admin } = w.people;
    const on = w.slash(admin, 'setup', 'strategy', { state: 'on', watchlist: 'btcusdt, #ETH', timeframe: '4h' });
    const text = w.text(await on.reply());
    expect(on.ephemeral).toBe(true);
    expect(text).toContain('BTC/USDT, ETH/USDT · 4h');
    expect(text).toContain('not advice');
    const settings = await w.services.guilds.get(w.guild.id);
    expect(settings).toMatchObject({ strategyEnabled: true, strategyWatchlist: ['BTC/USDT', 'ETH/USDT'], strategyTimeframe: '4h' });

    // Not for members.
    const refused = w.slash(alice, 'setup', 'strategy', { state: 'on' }, { overridden: true });
    expect(w.text(await refused.reply())).toContain('Only server admins');

    await addThroughModal(w, alice, { name: 'paper-1', type: 'futures', mode: 'paper' });
    const [account] = await w.services.accounts.list(alice, w.guild.id);
    await w.slash(alice, 'account', 'settings', { account: account!.id, strategy: true }).reply();
    expect((await accountsRepository(w.db.db).byId(account!.id))?.strategyOptIn).toBe(true);

    await w.slash(admin, 'setup', 'strategy', { state: 'off' }).reply();
    expect((await w.services.guilds.get(w.guild.id))?.strategyEnabled).toBe(false);
    expect(w.discord.violations).toEqual([]);
  });
});
