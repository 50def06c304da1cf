import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  Partials,
  PermissionFlagsBits,
  Routes,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import type { Interaction, Message, SendableChannels } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasShared } from '../../support/shared';
import { startDiscordSim } from './index';
import type { DiscordSim, GuildHandle } from './index';

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

const commands = [
  new SlashCommandBuilder()
    .setName('account')
    .setDescription('Your exchange accounts')
    .addSubcommand((s) =>
      s
        .setName('add')
        .setDescription('Add an account')
        .addStringOption((o) => o.setName('exchange').setDescription('Exchange').setRequired(true).setAutocomplete(true))
        .addStringOption((o) => o.setName('type').setDescription('Market').setRequired(true).addChoices({ name: 'Spot', value: 'spot' }, { name: 'Futures', value: 'futures' })),
    )
    .addSubcommand((s) => s.setName('list').setDescription('List your accounts')),
  new SlashCommandBuilder()
    .setName('setup')
    .setDescription('Server settings')
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommandGroup((g) =>
      g
        .setName('feed')
        .setDescription('Trade feed')
        .addSubcommand((s) => s.setName('channel').setDescription('Where the feed goes').addChannelOption((o) => o.setName('channel').setDescription('Channel').setRequired(true).addChannelTypes(ChannelType.GuildText))),
    )
    .addSubcommand((s) => s.setName('caller-role').setDescription('Who may call').addRoleOption((o) => o.setName('role').setDescription('Role').setRequired(true))),
  new SlashCommandBuilder()
    .setName('signal')
    .setDescription('Post a signal')
    .addStringOption((o) => o.setName('symbol').setDescription('Pair').setRequired(true).setMaxLength(20))
    .addNumberOption((o) => o.setName('entry').setDescription('Entry price').setMinValue(0))
    .addIntegerOption((o) => o.setName('leverage').setDescription('Leverage').setMinValue(1).setMaxValue(125))
    .addBooleanOption((o) => o.setName('market').setDescription('At market'))
    .addUserOption((o) => o.setName('for').setDescription('On behalf of')),
].map((c) => c.toJSON());

describe('discord simulator with the real discord.js client', () => {
  let sim: DiscordSim;
  let guild: GuildHandle;
  let client: Client;
  let onInteraction: (i: Interaction) => Promise<unknown> = async () => undefined;
  let onMessage: (m: Message) => Promise<unknown> = async () => undefined;
  const handlerErrors: unknown[] = [];
  const ids = { admin: '', alice: '', bob: '', general: '', feed: '', signals: '', caller: '' };

  const channel = async (id: string): Promise<SendableChannels> => {
    const c = await client.channels.fetch(id);
    if (!c?.isSendable()) throw new Error('not sendable');
    return c;
  };

  beforeAll(async () => {
    sim = await startDiscordSim({
      heartbeatIntervalMs: 500,
      privilegedIntents: { messageContent: true },
      // Fast windows keep the file short; the shape (5 messages per window per channel) is Discord's.
      rateLimits: { routes: [{ method: 'POST', route: '/channels/{channel_id}/messages', limit: 5, windowMs: 1000 }] },
    });
    guild = sim.addGuild({
      name: 'Traders',
      ownerId: 'owner',
      roles: [{ name: 'Admin', permissions: PermissionFlagsBits.ManageGuild }, { name: 'Caller' }],
      channels: [{ name: 'general' }, { name: 'feed' }, { name: 'signals' }],
      members: [
        { username: 'owner' },
        { username: 'admin', roles: ['Admin'] },
        { username: 'alice', roles: ['Caller'] },
        { username: 'bob', dmsOpen: false },
      ],
    });
    Object.assign(ids, {
      admin: guild.members['admin'],
      alice: guild.members['alice'],
      bob: guild.members['bob'],
      general: guild.channels['general'],
      feed: guild.channels['feed'],
      signals: guild.channels['signals'],
      caller: guild.roles['Caller'],
    });
    client = new Client({
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.MessageContent,
        GatewayIntentBits.GuildMessageReactions,
        GatewayIntentBits.DirectMessages,
      ],
      partials: [Partials.Channel],
      rest: { api: sim.restApiUrl },
    });
    client.on(Events.InteractionCreate, (i) => void onInteraction(i).catch((e: unknown) => handlerErrors.push(e)));
    client.on(Events.MessageCreate, (m) => void onMessage(m).catch((e: unknown) => handlerErrors.push(e)));
    const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
    await client.login(sim.token);
    await ready;
  });

  afterEach(() => {
    onInteraction = async () => undefined;
    onMessage = async () => undefined;
    expect(handlerErrors).toEqual([]);
    expect(sim.violations).toEqual([]);
  });

  afterAll(async () => {
    await client?.destroy();
    await sim?.close();
  });

  it('logs in: READY then GUILD_CREATE with channels, roles and members; heartbeats are acknowledged', async () => {
    expect(client.user?.id).toBe(sim.applicationId);
    expect(client.application?.id).toBe(sim.applicationId);
    const g = client.guilds.cache.get(guild.id);
    expect(g?.name).toBe('Traders');
    expect(g?.channels.cache.map((c) => c.name).sort()).toEqual(['feed', 'general', 'signals']);
    expect(g?.roles.cache.find((r) => r.name === 'Admin')?.permissions.has(PermissionFlagsBits.ManageGuild)).toBe(true);
    expect(g?.members.cache.has(sim.applicationId)).toBe(true);
    expect(g?.members.me?.permissions.has(PermissionFlagsBits.SendMessages)).toBe(true);
    expect(sim.dispatches.slice(0, 2).map((d) => d.t)).toEqual(['READY', 'GUILD_CREATE']);
    await sim.waitFor(() => (sim.stats.heartbeats >= 1 && client.ws.ping >= 0 ? true : undefined), 3000, 'a heartbeat');
    expect(sim.calls[0]).toMatchObject({ method: 'GET', path: '/gateway/bot', status: 200 });
  });

  it('a guild added while connected arrives as GUILD_CREATE', async () => {
    const joined = new Promise<string>((resolve) => client.once(Events.GuildCreate, (g) => resolve(g.name)));
    const later = sim.addGuild({ name: 'Later', ownerId: 'zoe', channels: [{ name: 'lobby' }] });
    expect(await joined).toBe('Later');
    expect(client.guilds.cache.get(later.id)?.channels.cache.map((c) => c.name)).toEqual(['lobby']);
  });

  it('registers global and guild commands over REST; ids are stable across re-registration', async () => {
    const first = await client.application?.commands.set(commands);
    await client.application?.commands.set(commands, guild.id);
    expect(sim.commands().map((c) => c['name'])).toEqual(['account', 'setup', 'signal']);
    expect(sim.commands(guild.id)).toHaveLength(3);
    expect(sim.commands().find((c) => c['name'] === 'setup')?.['default_member_permissions']).toBe('32');
    const again = await client.application?.commands.set(commands);
    expect(again?.map((c) => c.id).sort()).toEqual(first?.map((c) => c.id).sort());
    expect(sim.callsTo('/applications/{application_id}/commands', 'PUT')).toHaveLength(2);
  });

  it('delivers a slash command with typed, resolved options; an ephemeral reply carries flag 64', async () => {
    let seen: Record<string, unknown> = {};
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      seen = {
        command: i.commandName,
        group: i.options.getSubcommandGroup(),
        sub: i.options.getSubcommand(),
        channel: i.options.getChannel('channel', true).id,
        admin: i.memberPermissions?.has(PermissionFlagsBits.ManageGuild),
        guild: i.guildId,
      };
      await i.reply({ content: 'Feed channel set.', flags: MessageFlags.Ephemeral });
    };
    const h = sim.slash({ guildId: guild.id, channelId: ids.general, userId: ids.admin, name: 'setup', group: 'feed', subcommand: 'channel', options: { channel: ids.feed } });
    const reply = await h.reply();
    expect(seen).toEqual({ command: 'setup', group: 'feed', sub: 'channel', channel: ids.feed, admin: true, guild: guild.id });
    expect(reply.content).toBe('Feed channel set.');
    expect(reply.flags).toBe(64);
    expect(h.ephemeral).toBe(true);
    expect(h.callback?.type).toBe(4);
    expect(sim.channelMessages(ids.general)).toEqual([]);

    const typed = sim.slash({ guildId: guild.id, channelId: ids.general, userId: ids.alice, name: 'signal', options: { symbol: 'BTC/USDT', entry: 64250.5, leverage: 10, market: false, for: ids.bob } });
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      const o = i.options;
      await i.reply({ content: [o.getString('symbol'), o.getNumber('entry'), o.getInteger('leverage'), o.getBoolean('market'), o.getUser('for')?.username, o.getMember('for') ? 'member' : 'none'].join(' ') });
    };
    expect((await typed.reply()).content).toBe('BTC/USDT 64250.5 10 false bob member');
    expect(typed.ephemeral).toBe(false);
    expect(sim.channelMessages(ids.general).map((m) => m.interaction_metadata?.id)).toEqual([typed.id]);
  });

  it('refuses to inject what the Discord client would never send', () => {
    expect(() => sim.slash({ guildId: guild.id, userId: ids.bob, name: 'setup', subcommand: 'caller-role', options: { role: ids.caller } })).toThrow(/needs permissions/);
    expect(() => sim.slash({ guildId: guild.id, userId: ids.alice, name: 'account', subcommand: 'add', options: { exchange: 'binance', type: 'options' } })).toThrow(/not one of the choices/);
    expect(() => sim.slash({ guildId: guild.id, userId: ids.alice, name: 'signal', options: { symbol: 'BTC', leverage: 500 } })).toThrow(/above 125/);
    expect(() => sim.slash({ guildId: guild.id, userId: ids.alice, name: 'account', subcommand: 'nope' })).toThrow(/no subcommand/);
    // A server override lets a non-admin call it; the member's permissions still say what they are.
    const h = sim.slash({ guildId: guild.id, userId: ids.bob, name: 'setup', subcommand: 'caller-role', options: { role: ids.caller }, overridden: true });
    expect((h.payload['member'] as { permissions: string }).permissions).toBe(String(BigInt(client.guilds.cache.get(guild.id)?.roles.everyone.permissions.bitfield ?? 0n)));
  });

  it('deferReply then editReply keeps the ephemeral flag and clears the loading state; followUp adds a message', async () => {
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      await new Promise((r) => setTimeout(r, 20));
      await i.editReply({ content: 'Your accounts', embeds: [{ title: 'Binance', fields: [{ name: 'Key', value: 'abcd…wxyz' }] }] });
      await i.followUp({ content: 'Also this', flags: MessageFlags.Ephemeral });
    };
    const h = sim.slash({ guildId: guild.id, userId: ids.alice, name: 'account', subcommand: 'list' });
    const events = await h.responses();
    expect(events.map((e) => e.kind)).toEqual(['callback', 'edit', 'followup']);
    expect(h.callback?.type).toBe(5);
    const reply = await h.reply();
    expect(reply).toMatchObject({ content: 'Your accounts', flags: 64 });
    expect(reply.embeds[0]?.fields?.[0]?.value).toBe('abcd…wxyz');
    expect(h.followUps().map((m) => [m.content, m.flags])).toEqual([['Also this', 64]]);
    expect(h.messages().every((m) => (m.flags ?? 0) & 64)).toBe(true);
  });

  it('showModal, then the modal submit reaches the bot with its text input values', async () => {
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) {
        const input = (id: string, label: string, required = true) =>
          new ActionRowBuilder<TextInputBuilder>().addComponents(new TextInputBuilder().setCustomId(id).setLabel(label).setStyle(TextInputStyle.Short).setRequired(required));
        await i.showModal(new ModalBuilder().setCustomId('account-add:binance:spot').setTitle('Add a Binance account').addComponents(input('name', 'Account name'), input('key', 'API key'), input('secret', 'API secret'), input('passphrase', 'Passphrase', false)));
      } else if (i.isModalSubmit()) {
        await i.deferReply({ flags: MessageFlags.Ephemeral });
        await i.editReply(`Added ${i.fields.getTextInputValue('name')} (${i.fields.getTextInputValue('key').slice(0, 4)}…)`);
      }
    };
    const command = sim.slash({ guildId: guild.id, userId: ids.alice, name: 'account', subcommand: 'add', options: { exchange: 'binance', type: 'spot' } });
    const modal = await command.modal();
    expect(modal['title']).toBe('Add a Binance account');
    expect(modal['components']).toHaveLength(4);
    expect(() => sim.modalSubmit({ guildId: guild.id, userId: ids.alice, customId: 'account-add:binance:spot', fields: { name: 'main' } })).toThrow(/requires field key/);
    const submit = sim.modalSubmit({ guildId: guild.id, userId: ids.alice, customId: 'account-add:binance:spot', fields: { name: 'main', key: 'KEY123', secret: 'SECRET' } });
    expect(await submit.reply()).toMatchObject({ content: 'Added main (KEY1…)', flags: 64 });
  });

  it('answers autocomplete with choices', async () => {
    onInteraction = async (i) => {
      if (!i.isAutocomplete()) return;
      const typed = i.options.getFocused();
      await i.respond(['binance', 'binanceusdm', 'bybit', 'okx'].filter((e) => e.startsWith(typed)).map((e) => ({ name: e, value: e })));
    };
    const h = sim.autocomplete({ guildId: guild.id, userId: ids.alice, name: 'account', subcommand: 'add', options: { exchange: 'bin' }, focused: 'exchange' });
    expect(await h.choices()).toEqual([
      { name: 'binance', value: 'binance' },
      { name: 'binanceusdm', value: 'binanceusdm' },
    ]);
  });

  it('presses a button on an ephemeral reply and the update replaces that message', async () => {
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) {
        const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('account:toggle:7').setLabel('Disable').setStyle(ButtonStyle.Secondary),
          new ButtonBuilder().setCustomId('account:remove:7').setLabel('Remove').setStyle(ButtonStyle.Danger),
        );
        await i.reply({ content: 'main — enabled', components: [row], flags: MessageFlags.Ephemeral });
      } else if (i.isButton()) {
        await i.update({ content: `main — disabled (${i.customId})`, components: [] });
      }
    };
    const list = sim.slash({ guildId: guild.id, userId: ids.alice, name: 'account', subcommand: 'list' });
    const shown = await list.reply();
    // Bob cannot see Alice's ephemeral message, so he has no button to press.
    expect(() => sim.button({ userId: ids.bob, customId: 'account:toggle:7' })).toThrow(/no visible message/);
    const press = sim.button({ userId: ids.alice, customId: /^account:toggle:/ });
    const updated = await press.reply();
    expect(press.callback?.type).toBe(7);
    expect(updated.id).toBe(shown.id);
    expect(updated).toMatchObject({ content: 'main — disabled (account:toggle:7)', components: [], flags: 64 });
    expect(list.original()?.content).toBe('main — disabled (account:toggle:7)');
  });

  it('channel.send with embeds, and the same nonce with enforceNonce twice, yields one message', async () => {
    const feed = await channel(ids.feed);
    const body = { embeds: [{ title: 'BTC/USDT long', color: 0x2ecc71, fields: [{ name: 'Fill', value: '64,250', inline: true }] }], nonce: 'outbox-42', enforceNonce: true, allowedMentions: { parse: [] } };
    const a = await feed.send({ ...body, content: `<@${ids.alice}> filled` });
    const b = await feed.send({ ...body, content: `<@${ids.alice}> filled` });
    expect(b.id).toBe(a.id);
    const shown = sim.channelMessages(ids.feed);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({ nonce: 'outbox-42', mentions: [] });
    expect(shown[0]?.embeds[0]).toMatchObject({ type: 'rich', title: 'BTC/USDT long' });
    const c = await feed.send({ content: 'no enforce', nonce: 'outbox-43' });
    const d = await feed.send({ content: 'no enforce', nonce: 'outbox-43' });
    expect(c.id).not.toBe(d.id);
  });

  it('rejects embeds over Discord limits with 50035 and records the violation', async () => {
    const feed = await channel(ids.feed);
    const attempts = [
      { embeds: [{ description: 'x'.repeat(4097) }] },
      { embeds: Array.from({ length: 11 }, (_, i) => ({ title: `e${i}` })) },
      { embeds: [{ description: 'x'.repeat(4000) }, { description: 'y'.repeat(2001) }] },
      { embeds: [{ title: 't', fields: Array.from({ length: 26 }, (_, i) => ({ name: `f${i}`, value: 'v' })) }] },
      { content: 'c'.repeat(2001) },
    ];
    for (const attempt of attempts) {
      const error = await feed.send(attempt).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DiscordAPIError);
      expect((error as DiscordAPIError).code).toBe(50035);
    }
    // Lengths the spec states are schema violations; the rest are Discord's documented limits.
    expect(sim.takeViolations().map((v) => [v.kind, v.issues[0]?.path.join('.'), v.issues[0]?.code])).toEqual([
      [hasShared ? 'schema' : 'limit', 'embeds.0.description', 'BASE_TYPE_MAX_LENGTH'],
      [hasShared ? 'schema' : 'limit', 'embeds', 'BASE_TYPE_MAX_LENGTH'],
      ['limit', 'embeds', 'MAX_EMBED_SIZE_EXCEEDED'],
      [hasShared ? 'schema' : 'limit', 'embeds.0.fields', 'BASE_TYPE_MAX_LENGTH'],
      ['limit', 'content', 'BASE_TYPE_MAX_LENGTH'],
    ]);
    expect(sim.callsTo('/channels/{channel_id}/messages', 'POST').slice(-5).map((c) => c.status)).toEqual([400, 400, 400, 400, 400]);
  });

  it.skipIf(!hasShared)('rejects a body that violates the OpenAPI spec (wrong types, a missing required field)', async () => {
    const wrongType = await client.rest.post(Routes.channelMessages(ids.feed), { body: { content: 'x', embeds: [{ title: 5 }] } }).catch((e: unknown) => e);
    expect((wrongType as DiscordAPIError).status).toBe(400);
    expect(((wrongType as DiscordAPIError).rawError as { errors: unknown }).errors).toEqual({ embeds: { '0': { title: { _errors: [expect.objectContaining({ code: 'BASE_TYPE_BAD_TYPE' })] } } } });
    const notArray = await client.rest.post(Routes.channelMessages(ids.feed), { body: { content: 'x', allowed_mentions: { parse: 'users' } } }).catch((e: unknown) => e);
    expect((notArray as DiscordAPIError).status).toBe(400);
    const callback = await client.rest.put(Routes.applicationCommands(sim.applicationId), { body: [{ description: 'no name' }] }).catch((e: unknown) => e);
    expect((callback as DiscordAPIError).code).toBe(50035);
    expect(sim.takeViolations().map((v) => [v.kind, v.issues[0]?.path.join('.'), v.issues[0]?.code])).toEqual([
      ['schema', 'embeds.0.title', 'BASE_TYPE_BAD_TYPE'],
      ['schema', 'allowed_mentions.parse', 'LIST_TYPE_CONVERT'],
      ['schema', '0.name', 'BASE_TYPE_REQUIRED'],
    ]);
  });

  it('an unknown route answers 404 in Discord’s shape and is recorded', async () => {
    const error = await client.rest.get('/channels/1/frobnicate' as `/${string}`).catch((e: unknown) => e);
    expect((error as DiscordAPIError).status).toBe(404);
    expect(sim.takeViolations().map((v) => v.kind)).toEqual(['unknown-route']);
    expect(sim.calls.at(-1)).toMatchObject({ route: null, status: 404, response: { message: '404: Not Found', code: 0 } });
  });

  it('30 messages to one channel through discord.js all arrive, in order, with zero 429s', async () => {
    const general = await channel(ids.general);
    const before = sim.channelMessages(ids.general).length;
    const sent = await Promise.all(Array.from({ length: 30 }, (_, i) => general.send(`order ${i}`)));
    expect(sent).toHaveLength(30);
    expect(sim.channelMessages(ids.general).slice(before).map((m) => m.content)).toEqual(Array.from({ length: 30 }, (_, i) => `order ${i}`));
    expect(sim.stats.rateLimited).toBe(0);
    const last = sim.callsTo('/channels/{channel_id}/messages', 'POST').at(-1);
    expect(last?.status).toBe(200);
  });

  it('stores uploaded attachments (channel message and interaction reply)', async () => {
    const feed = await channel(ids.feed);
    const sent = await feed.send({ content: 'chart', files: [{ attachment: PNG, name: 'pnl.png', description: 'PnL' }] });
    const stored = sim.channelMessages(ids.feed).find((m) => m.id === sent.id);
    expect(stored?.attachments[0]).toMatchObject({ filename: 'pnl.png', content_type: 'image/png', size: PNG.length, width: 1, height: 1, description: 'PnL' });
    const file = sim.attachment(stored?.attachments[0]?.id ?? '');
    expect(file?.data.equals(PNG)).toBe(true);
    expect(Buffer.from(await (await fetch(stored?.attachments[0]?.url ?? '')).arrayBuffer()).equals(PNG)).toBe(true);
    expect(sim.calls.find((c) => c.files.length > 0)?.files[0]).toMatchObject({ field: 'files[0]', filename: 'pnl.png' });

    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.reply({ content: 'Your PnL', files: [{ attachment: PNG, name: 'chart.png' }], flags: MessageFlags.Ephemeral });
    };
    const h = sim.slash({ guildId: guild.id, userId: ids.alice, name: 'account', subcommand: 'list' });
    const reply = await h.reply();
    expect(reply.attachments.map((a) => a.filename)).toEqual(['chart.png']);
    expect(h.callback?.files[0]?.data.equals(PNG)).toBe(true);
  });

  it('a member’s message reaches messageCreate; the bot reacts and replies to it', async () => {
    onMessage = async (m) => {
      if (m.author.bot || !m.content.startsWith('LONG')) return;
      await m.react('✅');
      await m.reply({ content: 'Queued for 2 accounts', allowedMentions: { repliedUser: false } });
    };
    const posted = sim.postMessage({ guildId: guild.id, channelId: ids.signals, userId: ids.alice, content: 'LONG BTC entry 64000 sl 62000' });
    expect(await posted.waitForReaction('✅')).toBe('✅');
    const reply = await posted.waitForReply();
    expect(reply).toMatchObject({ content: 'Queued for 2 accounts', type: 19, mentions: [], message_reference: { message_id: posted.id } });
    expect(posted.message.reactions?.[0]).toMatchObject({ count: 1, me: true, emoji: { name: '✅' } });
    expect(sim.dispatches.some((d) => d.t === 'MESSAGE_REACTION_ADD')).toBe(true);
  });

  it('sends a direct message, and a closed DM answers 50007', async () => {
    const alice = await client.users.fetch(ids.alice);
    await alice.send('Your account main was paused: daily loss limit reached.');
    expect(sim.dmMessages(ids.alice).map((m) => m.content)).toEqual(['Your account main was paused: daily loss limit reached.']);
    const bob = await client.users.fetch(ids.bob);
    const error = await bob.send('hi').catch((e: unknown) => e);
    expect((error as DiscordAPIError).code).toBe(50007);
    expect(sim.dmMessages(ids.bob)).toEqual([]);
  });

  it('forced reconnects resume the session and replay what was missed; an invalid session re-identifies', async () => {
    const seen: string[] = [];
    onMessage = async (m) => {
      seen.push(m.content);
    };
    const resumes = sim.stats.resumes;
    const outcome = await sim.forceReconnect({
      via: 'reconnect',
      duringOutage: () => sim.postMessage({ guildId: guild.id, channelId: ids.general, userId: ids.alice, content: 'while you were away' }),
    });
    expect(outcome).toBe('resumed');
    await sim.waitFor(() => (seen.includes('while you were away') ? true : undefined));
    expect(await sim.forceReconnect({ via: 'drop' })).toBe('resumed');
    expect(sim.stats.resumes).toBe(resumes + 2);

    const identifies = sim.stats.identifies;
    expect(await sim.forceReconnect({ via: 'invalid-session' })).toBe('identified');
    expect(sim.stats.identifies).toBe(identifies + 1);
    // Still fully working afterwards.
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) await i.reply({ content: 'pong', flags: MessageFlags.Ephemeral });
    };
    expect((await sim.slash({ guildId: guild.id, userId: ids.alice, name: 'account', subcommand: 'list' }).reply()).content).toBe('pong');
  });
});

describe('discord simulator, raw HTTP', () => {
  let sim: DiscordSim;
  let channelId = '';
  let guildId = '';
  let ownerId = '';
  const post = (body: unknown, path = `/channels/${channelId}/messages`) =>
    fetch(`${sim.restApiUrl}/v10${path}`, { method: 'POST', headers: { Authorization: `Bot ${sim.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    sim = await startDiscordSim({ ackTimeoutMs: 200 });
    const g = sim.addGuild({ name: 'G', ownerId: 'o', members: [{ username: 'o' }] });
    channelId = g.channels['general'] ?? '';
    guildId = g.id;
    ownerId = g.ownerId;
  });
  afterAll(() => sim.close());

  it('rate-limits a client that ignores the headers: 5 per 5 s per channel, then 429 with retry_after', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await post({ content: `m${i}` }));
    expect(answers.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[0]?.headers.get('x-ratelimit-limit')).toBe('5');
    expect(answers[4]?.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(answers[4]?.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(4);
    expect(answers[4]?.headers.get('x-ratelimit-bucket')).toMatch(/^[0-9a-f]{32}$/);
    const limited = answers[5];
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get('retry-after'))).toBe(5);
    const body = (await limited?.json()) as { retry_after: number; global: boolean; message: string };
    expect(body.global).toBe(false);
    expect(body.retry_after).toBeGreaterThan(4);
    expect(sim.stats.rateLimited).toBe(1);
    expect(sim.channelMessages(channelId)).toHaveLength(5);
  });

  it('refuses a wrong token (401), an interaction acknowledged twice (40060) or after 3 s (10062)', async () => {
    const unauthorized = await fetch(`${sim.restApiUrl}/v10/users/@me`, { headers: { Authorization: 'Bot nope' } });
    expect(unauthorized.status).toBe(401);
    const callback = (h: { id: string; token: string }, body: unknown) =>
      fetch(`${sim.restApiUrl}/v10/interactions/${h.id}/${h.token}/callback`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const h = sim.slash({ guildId, userId: ownerId, name: 'ping' });
    expect((await callback(h, { type: 4, data: { content: 'pong' } })).status).toBe(204);
    const twice = await callback(h, { type: 4, data: { content: 'again' } });
    expect([twice.status, ((await twice.json()) as { code: number }).code]).toEqual([400, 40060]);
    const late = sim.slash({ guildId, userId: ownerId, name: 'ping' });
    await new Promise((r) => setTimeout(r, 250));
    const answer = await callback(late, { type: 5 });
    expect([answer.status, ((await answer.json()) as { code: number }).code]).toEqual([404, 10062]);
    const ignored = sim.slash({ guildId, userId: ownerId, name: 'ping' });
    expect(sim.unacknowledgedInteractions()).not.toContain(ignored.id);
    await new Promise((r) => setTimeout(r, 250));
    expect(sim.unacknowledgedInteractions()).toContain(ignored.id);
    expect(sim.takeViolations().map((v) => v.kind)).toEqual(['auth', 'interaction', 'interaction']);
  });
});

describe('discord simulator: intents', () => {
  it('withholds message content without the Message Content intent, unless the bot is mentioned', async () => {
    const sim = await startDiscordSim();
    const g = sim.addGuild({ name: 'G', ownerId: 'o' });
    const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], rest: { api: sim.restApiUrl } });
    const seen: string[] = [];
    client.on(Events.MessageCreate, (m) => void seen.push(m.content));
    try {
      await client.login(sim.token);
      await sim.waitFor(() => (client.isReady() ? true : undefined));
      sim.postMessage({ guildId: g.id, userId: g.ownerId, content: 'LONG BTC 64000' });
      sim.postMessage({ guildId: g.id, userId: g.ownerId, content: `<@${sim.applicationId}> status` });
      await sim.waitFor(() => (seen.length === 2 ? true : undefined));
      expect(seen).toEqual(['', `<@${sim.applicationId}> status`]);
    } finally {
      await client.destroy();
      await sim.close();
    }
  });

  it('closes the gateway with 4014 when the application may not use a privileged intent (off until enabled, as on Discord)', async () => {
    const sim = await startDiscordSim();
    const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.MessageContent], rest: { api: sim.restApiUrl } });
    try {
      await expect(client.login(sim.token)).rejects.toThrow(/disallowed intents/i);
    } finally {
      await client.destroy();
      await sim.close();
    }
  });
});
