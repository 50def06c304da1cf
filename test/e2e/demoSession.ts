import type { APIEmbed, APIMessage } from 'discord.js';
import type { BinanceSim } from '../sim/binance';
import type { DiscordSim, GuildHandle, InteractionHandle } from '../sim/discord';

/**
 * The scripted session of `npm run demo`: members add accounts, a caller posts a signal, the feed
 * fills, members ask for /orders and /pnl; prints what each person sees. It drives the Discord
 * simulator only, so it runs against whatever bot is connected to it (the real one in the demo,
 * the test composition in demo.test.ts).
 */
export interface DemoContext {
  discord: DiscordSim;
  binance: BinanceSim;
  /** A guild with members admin (Manage Server), alice, bob, carol (role Caller) and channels general, feed. */
  guild: GuildHandle;
  print: (line: string) => void;
  /** Called after the signal is posted (tests run a cycle and flush the feed; the demo's scheduler does it itself). */
  afterSignal?: () => Promise<void>;
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

export async function playDemoSession(ctx: DemoContext): Promise<{ feedMessages: number }> {
  const { discord, binance, guild, print } = ctx;
  const timeout = ctx.timeoutMs ?? 20_000;
  const id = (name: string): string => {
    const found = guild.members[name];
    if (!found) throw new Error(`demo: no member ${name}`);
    return found;
  };
  const feed = guild.channels['feed'];
  const general = guild.channels['general'];
  const callerRole = guild.roles['Caller'];
  if (!feed || !general || !callerRole) throw new Error('demo: the guild needs channels general and feed and a Caller role');
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

  print('=== Demo: the trading bot against local Discord and Binance simulators ===');
  await show('admin', 'runs /setup feed-channel #feed', slash('admin', 'setup', 'feed-channel', { channel: feed }));
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
  // Alice enables both accounts with the buttons under her list.
  for (;;) {
    const current = discord.message(list.id);
    const buttons = ((current?.components ?? []) as { components?: { label?: string; custom_id?: string }[] }[]).flatMap((r) => r.components ?? []);
    const enable = buttons.find((c) => c.custom_id?.startsWith('account:toggle:') && c.label?.startsWith('Enable'));
    if (!enable?.custom_id) break;
    await discord.button({ userId: id('alice'), customId: enable.custom_id, messageId: list.id }).reply(timeout);
    print(`\nalice presses [${enable.label}]`);
  }
  print(describeMessage(discord.message(list.id), names));
  const bobList = await show('bob', 'runs /account list', slash('bob', 'account', 'list', undefined));
  const bobToggle = discord.button({ userId: id('bob'), customId: /^account:toggle:/, messageId: bobList.id });
  await bobToggle.reply(timeout);
  print('\nbob presses [Enable · bob-paper]');

  await show('carol', 'runs /signal post symbol:BTC/USDT side:long stop:48000 take_profits:52000,54000 leverage:5', slash('carol', 'signal', 'post', { symbol: 'BTC/USDT', side: 'long', stop: 48_000, take_profits: '52000, 54000', leverage: 5 }));
  await ctx.afterSignal?.();
  await discord.waitFor(() => discord.channelMessages(feed).find((m) => m.embeds.some((e) => e.title?.includes('filled') && e.title.includes(' of '))), timeout, 'the signal summary in #feed');
  const messages = discord.channelMessages(feed);
  print('\n#feed (everybody sees this):');
  for (const message of messages) print(describeMessage(message, names));

  await show('alice', 'runs /orders', slash('alice', 'orders', undefined, { limit: 5 }));
  binance.setPrice('BTCUSDT', 50_500, 'both');
  print('\n(the BTC price moves to 50,500)');
  await show('alice', 'runs /pnl period:day', slash('alice', 'pnl', undefined, { period: 'day' }));
  await show('bob', 'runs /pnl', slash('bob', 'pnl', undefined, {}));
  print('\n=== End of the demo ===');
  return { feedMessages: messages.length };
}
