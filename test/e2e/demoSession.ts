import { writeFileSync } from 'node:fs';
import type { APIEmbed, APIMessage } from 'discord.js';
import type { BinanceSim } from '../sim/binance';
import type { DiscordSim, GuildHandle, InteractionHandle } from '../sim/discord';

/**
 * The scripted session of `npm run demo`: members add accounts and switch them on, a caller posts a
 * free-text signal in the signal channel, one account skips it with its reason, the price reaches the
 * first target (take-profit hit, stop moved to break-even) and the second (the position closes with
 * its PnL); bob mirrors alice's account and her trade by hand is copied to him, both ways; members ask
 * for /orders and /pnl (its chart saved to a file); prints what each person sees.
 * It drives the Discord simulator only, so it runs against whatever bot is connected to it (the real
 * one in the demo, the test composition in demo.test.ts).
 */
export interface DemoContext {
  discord: DiscordSim;
  binance: BinanceSim;
  /** A guild with members admin (Manage Server), alice, bob, carol (role Caller) and channels general, feed, signals. */
  guild: GuildHandle;
  print: (line: string) => void;
  /**
   * Lets the bot act on what just happened (tests run a cycle, a position sync pass and the feed; the
   * demo's bot does it itself, so it waits for its scheduler and posts the feed). Called repeatedly
   * while the session waits for an outcome.
   */
  settle?: () => Promise<void>;
  /** Where the /pnl chart is saved (printed); none: not saved. */
  chartFile?: string;
  timeoutMs?: number;
}

const plain = (text: string): string => text.replace(/\\([*_~`|>[\]\\])/g, '$1').replace(/\*\*/g, '').replace(/@\u200b/g, '@');

/** A message as a reader sees it: content, then each embed's title, text and fields, indented. */
export function describeMessage(message: APIMessage | undefined, names: ReadonlyMap<string, string> = new Map()): string {
  if (!message) return '   (nothing)';
  const named = (text: string) => plain(text).replace(/<@!?(\d+)>/g, (_, id: string) => `@${names.get(id) ?? id}`).replace(/<#(\d+)>/g, (_, id: string) => `#${names.get(id) ?? id}`).replace(/<@&(\d+)>/g, (_, id: string) => `@${names.get(id) ?? 'role'}`);
  const lines: string[] = [];
  if (message.content) lines.push(named(message.content));
  for (const embed of message.embeds as APIEmbed[]) {
    if (embed.title) lines.push(`┌ ${named(embed.title)}`);
    if (embed.description) for (const line of embed.description.split('\n')) lines.push(`│ ${named(line)}`);
    for (const field of embed.fields ?? []) {
      lines.push(`│ ${named(field.name)}: ${named(field.value).split('\n').join(' · ')}`);
    }
    if (embed.footer?.text) lines.push(`└ ${named(embed.footer.text)}`);
  }
  const components = (message.components ?? []) as { components?: { label?: string }[] }[];
  const buttons = components.flatMap((row) => (row.components ?? []).map((c) => c.label).filter(Boolean));
  if (buttons.length > 0) lines.push(`[${buttons.join('] [')}]`);
  return lines.map((line) => `   ${line}`).join('\n');
}

export interface DemoResult {
  feedMessages: number;
  /** Titles of every embed posted in #feed, in order. */
  feedTitles: string[];
  chartSaved: boolean;
}

export async function playDemoSession(ctx: DemoContext): Promise<DemoResult> {
  const { discord, binance, guild, print } = ctx;
  const timeout = ctx.timeoutMs ?? 20_000;
  const id = (name: string): string => {
    const found = guild.members[name];
    if (!found) throw new Error(`demo: no member ${name}`);
    return found;
  };
  const feed = guild.channels['feed'];
  const general = guild.channels['general'];
  const signals = guild.channels['signals'];
  const callerRole = guild.roles['Caller'];
  if (!feed || !general || !signals || !callerRole) throw new Error('demo: the guild needs channels general, feed and signals and a Caller role');
  const names = new Map<string, string>([
    ...Object.entries(guild.members).map(([name, userId]) => [userId, name] as [string, string]),
    ...Object.entries(guild.channels).map(([name, channelId]) => [channelId, name] as [string, string]),
    [callerRole, 'Caller'],
  ]);
  const show = async (who: string, what: string, handle: InteractionHandle) => {
    const reply = await handle.reply(timeout);
    print(`\n${who} ${what}${handle.ephemeral ? '   (only ' + who + ' sees this)' : ''}`);
    print(describeMessage(reply, names));
    return reply;
  };
  const slash = (user: string, name: string, subcommand: string | undefined, options: Record<string, string | number | boolean> = {}) =>
    discord.slash({ guildId: guild.id, channelId: general, userId: id(user), name, ...(subcommand ? { subcommand } : {}), options });
  const titles = () => discord.channelMessages(feed).flatMap((m) => m.embeds.map((e) => e.title ?? ''));
  // The feed so far, printed once: each step shows what it added.
  const printed = new Set<string>();
  const printFeed = (heading: string) => {
    const fresh = discord.channelMessages(feed).filter((m) => !printed.has(`${m.id}:${m.edited_timestamp ?? ''}`));
    if (fresh.length === 0) return;
    print(`\n${heading}`);
    for (const message of fresh) {
      printed.add(`${message.id}:${message.edited_timestamp ?? ''}`);
      print(describeMessage(message, names));
    }
  };
  /** Lets the bot act until `done` holds (or the timeout says what never came). */
  const until = async (what: string, done: () => boolean) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      await ctx.settle?.();
      if (done()) return;
      if (Date.now() > deadline) throw new Error(`demo: ${what} did not come within ${timeout} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  print('=== Demo: the trading bot against local Discord and Binance simulators ===');
  await show('admin', 'runs /setup feed-channel #feed', slash('admin', 'setup', 'feed-channel', { channel: feed }));
  await show('admin', 'runs /setup signal-channel #signals', slash('admin', 'setup', 'signal-channel', { channel: signals }));
  await show('admin', 'runs /setup caller-role @Caller', slash('admin', 'setup', 'caller-role', { role: callerRole }));

  const addAccount = async (user: string, name: string, mode: 'live' | 'paper', key?: { apiKey: string; secret: string }) => {
    const form = slash(user, 'account', 'add', { exchange: 'binance', type: 'futures', mode });
    const modal = await form.modal(timeout);
    print(`\n${user} runs /account add exchange:binance type:futures mode:${mode} → a private form "${String(modal['title'])}" opens`);
    const fields: Record<string, string> = { name, ...(key ? { api_key: key.apiKey, secret: key.secret } : {}) };
    const submit = discord.modalSubmit({ userId: id(user), customId: String(modal['custom_id']), fields });
    await show(user, `submits the form (${key ? 'API key and secret' : 'paper: no key'})`, submit);
  };
  const aliceKey = { apiKey: 'demoAliceKey0000000000000000000000000001', secret: 'demoAliceSecret000000000000000000000001' };
  binance.addAccount({ ...aliceKey, futures: { USDT: 5_000 } });
  await addAccount('alice', 'alice-main', 'live', aliceKey);
  await addAccount('alice', 'alice-practice', 'paper');
  await addAccount('bob', 'bob-paper', 'paper');

  const list = await show('alice', 'runs /account list', slash('alice', 'account', 'list', undefined));
  // Alice enables both accounts with the buttons under her list; each press answers her.
  for (;;) {
    const current = discord.message(list.id);
    const buttons = ((current?.components ?? []) as { components?: { label?: string; custom_id?: string }[] }[]).flatMap((r) => r.components ?? []);
    const enable = buttons.find((c) => c.custom_id?.startsWith('account:toggle:') && c.label?.startsWith('Enable'));
    if (!enable?.custom_id) break;
    await show('alice', `presses [${enable.label}]`, discord.button({ userId: id('alice'), customId: enable.custom_id, messageId: list.id }));
  }
  const bobList = await show('bob', 'runs /account list', slash('bob', 'account', 'list', undefined));
  await show('bob', 'presses [Enable · bob-paper]', discord.button({ userId: id('bob'), customId: /^account:toggle:/, messageId: bobList.id }));
  // Members pick an account by name in the option's suggestions; the value sent is its id.
  const accountId = async (user: string, subcommand: string, typed: string) =>
    (await discord.autocomplete({ guildId: guild.id, userId: id(user), name: 'account', subcommand, options: { account: typed }, focused: 'account' }).choices())[0]?.value;
  const bobAccount = await accountId('bob', 'settings', 'bob-paper');
  if (bobAccount) await show('bob', 'runs /account settings account:bob-paper block:BTC (he trades no BTC)', slash('bob', 'account', 'settings', { account: String(bobAccount), block: 'BTC' }));
  const aliceMain = await accountId('alice', 'settings', 'alice-main');
  if (aliceMain) await show('alice', 'runs /account settings account:alice-main share_amounts:true (her quantities and PnL in the feed)', slash('alice', 'account', 'settings', { account: String(aliceMain), share_amounts: true }));

  const signalText = 'LONG #BTCUSDT at market\nSL 48000\nTP 52000 54000\nlev 5';
  print(`\ncarol writes in #signals:\n   ${signalText.split('\n').join('\n   ')}`);
  discord.postMessage({ userId: id('carol'), guildId: guild.id, channelId: signals, content: signalText });
  await until('the signal summary in #feed', () => titles().some((t) => t.includes('filled') && t.includes(' of ')));
  printFeed('#feed (everybody sees this):');

  await show('alice', 'runs /orders', slash('alice', 'orders', undefined, { limit: 5 }));
  binance.setPrice('BTCUSDT', 52_100, 'both');
  print('\n(the BTC price reaches 52,100: the first target)');
  await until('the first target and the stop at break-even in #feed', () => titles().some((t) => t.includes('break-even')));
  printFeed('#feed:');
  binance.setPrice('BTCUSDT', 54_100, 'both');
  print('\n(the BTC price reaches 54,100: the second target)');
  await until('the closes in #feed', () => titles().filter((t) => t.includes('position closed')).length >= 2);
  printFeed('#feed:');

  // Copy trading: alice's live account becomes a master, bob mirrors it, alice trades ETH by hand.
  await show('admin', 'runs /setup copy-masters allow:all', slash('admin', 'setup', 'copy-masters', { allow: 'all' }));
  if (aliceMain) await show('alice', 'runs /copy master account:alice-main', slash('alice', 'copy', 'master', { account: String(aliceMain) }));
  const master = (
    await discord.autocomplete({ guildId: guild.id, userId: id('bob'), name: 'copy', subcommand: 'follow', options: { master: 'alice', mode: 'mirror' }, focused: 'master' }).choices()
  )[0]?.value;
  if (master) await show('bob', 'runs /copy follow master:alice-main mode:mirror', slash('bob', 'copy', 'follow', { master: String(master), mode: 'mirror' }));
  // The bot notes what the master holds before copying starts (nothing is copied from before).
  await ctx.settle?.();
  await ctx.settle?.();
  const before = titles().length;
  binance.engine.placeFutures(binance.engine.account(aliceKey.apiKey), { symbol: 'ETHUSDT', side: 'BUY', type: 'MARKET', quantity: 0.2, newClientOrderId: 'by-hand-eth-open' });
  print('\n(alice buys 0.2 ETH by hand on Binance, outside the bot)');
  await until("bob's copy of alice's ETH buy in #feed", () => titles().slice(before).some((t) => t.includes('ETH') && t.includes(' of ')));
  printFeed('#feed:');
  const opened = titles().length;
  binance.closePositionExternally(aliceKey.apiKey, 'ETHUSDT');
  print('\n(alice sells her ETH by hand)');
  await until("bob's copy of alice's ETH sale in #feed", () => titles().slice(opened).some((t) => t.includes('ETH')));
  printFeed('#feed:');
  await show('bob', 'runs /copy list', slash('bob', 'copy', 'list', undefined));

  const pnl = await show('alice', 'runs /pnl', slash('alice', 'pnl', undefined, {}));
  let chartSaved = false;
  const chart = pnl.attachments[0] ? discord.attachment(pnl.attachments[0].id) : undefined;
  if (chart && ctx.chartFile) {
    writeFileSync(ctx.chartFile, chart.data);
    chartSaved = true;
    print(`   (the chart attached to it is saved to ${ctx.chartFile})`);
  }
  await show('bob', 'runs /pnl', slash('bob', 'pnl', undefined, {}));
  print('\n=== End of the demo ===');
  return { feedMessages: discord.channelMessages(feed).length, feedTitles: titles(), chartSaved };
}
