import { oneProcessFollowers } from './followers';
import { randomUUID } from 'node:crypto';
import type { APIEmbed, APIMessage } from 'discord.js';
import type { DatabaseHandle } from '../../src/db/client';
import { paperStateRepository } from '../../src/db/repositories/paperState';
import { startDiscord, type DiscordBot } from '../../src/discord/bot';
import { loadCommands } from '../../src/discord/loader';
import { registerCommands } from '../../src/discord/register';
import { RateLimiterRegistry } from '../../src/exchange/ccxt/rateLimiter';
import { createGatewayFactory, type GatewayFactory } from '../../src/exchange/factory';
import type { Logger } from '../../src/logger';
import { createBotServices, type BotServices } from '../../src/services';
import { defaultEngineSettings, TradingEngine, type EngineSettings } from '../../src/trading/engine';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { serverSymbolListing } from '../../src/trading/symbolListing';
import { generateKeyEntry, openVault, parseKeyring, type Vault } from '../../src/vault';
import { startBinanceSim, type BinanceSim } from '../sim/binance';
import { addTradersGuild } from './tradersGuild';
import { startDiscordSim, type DiscordSim, type DiscordSimOptions, type GuildHandle, type InteractionHandle } from '../sim/discord';
import { acceleratedClock, type TestClock } from './clock';
import { freshDatabase, type DatabaseKind } from './db';
import { capturingLog } from './trading';
import { createStore } from '../../src/db/store';

/** The people of the test server, by role. */
export interface BotPeople {
  owner: string;
  admin: string;
  alice: string;
  bob: string;
  caller: string;
}

export interface BotWorld {
  db: DatabaseHandle;
  binance: BinanceSim;
  discord: DiscordSim;
  guild: GuildHandle;
  people: BotPeople;
  channels: { general: string; feed: string; signals: string };
  callerRoleId: string;
  clock: TestClock;
  vault: Vault;
  gateways: GatewayFactory;
  services: BotServices;
  bot: DiscordBot;
  engine: TradingEngine;
  log: Logger;
  logLines: string[];
  /** Runs one engine cycle (fan-out, executions, summaries). */
  runCycle(): Promise<void>;
  /** Posts everything due in the feed outbox. */
  flushFeed(): Promise<number>;
  /** A slash command from a member in the server's general channel. */
  slash(userId: string, name: string, subcommand: string | undefined, options?: Record<string, string | number | boolean>, extra?: { overridden?: boolean }): InteractionHandle;
  /** Text of everything a message shows (content, embed titles, descriptions, fields, footers). */
  text(message: APIMessage | undefined): string;
  close(): Promise<void>;
}

export function embedText(embeds: readonly APIEmbed[] | undefined): string {
  return (embeds ?? [])
    .map((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text].filter(Boolean).join('\n'))
    .join('\n');
}

/**
 * The whole bot, composed as the composition root does, against the Discord simulator (real
 * discord.js client) and the Binance simulator (real ccxt gateway), on a fresh database.
 */
export async function botWorld(options: {
  kind?: DatabaseKind;
  compactThreshold?: number;
  discord?: DiscordSimOptions;
  engine?: Partial<EngineSettings>;
  logLevel?: string;
} = {}): Promise<BotWorld> {
  // Starts at the real time: outbox rows are stamped by the database (now()), the poster compares with this clock.
  const clock = acceleratedClock(10, Date.now());
  const db = await freshDatabase(options.kind ?? 'pglite');
  const binance = await startBinanceSim({ now: () => clock.now() });
  binance.setPrices({ BTCUSDT: 50_000, ETHUSDT: 3_000 }, 'both');
  const vault = await openVault(parseKeyring(generateKeyEntry(1)));
  const { log, lines } = capturingLog(options.logLevel ?? 'debug');
  const gateways = createGatewayFactory({
    vault,
    fetchImplementation: binance.fetchImplementation,
    paperStore: paperStateRepository(db.db),
    now: () => clock.now(),
    log,
    paperSlippageBps: 0,
    paperStartingBalanceUsd: 10_000,
    rateLimiters: new RateLimiterRegistry(clock),
    // On an accelerated clock a busy machine's real delays are multiplied: allow Binance's maximum.
    recvWindowMs: 60_000,
  });
  // The world's one store, as the app builds one per process.
  const store = createStore(db.db);
  const engine = new TradingEngine(store, gateways, clock, log, {
    ...defaultEngineSettings('e2e-instance'),
    maxSignalLagMs: 60 * 60_000,
    // 30 s of real time on the 10x clock (a busy machine's stalls must not look like a lapse).
    takeoverAfterMs: 300_000,
    ...options.engine,
  });
  await engine.start();
  const intake = createSignalIntake(store, clock, () => {}, { symbols: serverSymbolListing(store, gateways, log) });
  const services = createBotServices({
    store,
    vault,
    gateways,
    intake,
    clock,
    log,
    positions: oneProcessFollowers({ store, gateways, clock, log }),
  });

  // The bot reads callers' messages: Message Content is enabled in its (simulated) developer portal.
  const discord = await startDiscordSim({ heartbeatIntervalMs: 1000, privilegedIntents: { messageContent: true }, ...options.discord });
  const guild = addTradersGuild(discord);
  const people: BotPeople = {
    owner: guild.ownerId,
    admin: guild.members['admin']!,
    alice: guild.members['alice']!,
    bob: guild.members['bob']!,
    caller: guild.members['carol']!,
  };
  const channels = { general: guild.channels['general']!, feed: guild.channels['feed']!, signals: guild.channels['signals']! };

  const commands = await loadCommands();
  await registerCommands(commands.values(), {
    token: discord.token,
    applicationId: discord.applicationId,
    guildId: guild.id,
    restApi: discord.restApiUrl,
  });
  const bot = await startDiscord({
    token: discord.token,
    restApi: discord.restApiUrl,
    services,
    log,
    clock,
    commands,
    feed: { compactThreshold: options.compactThreshold ?? 20, autoStart: false },
    isLeader: async () => true,
  });

  return {
    db,
    binance,
    discord,
    guild,
    people,
    channels,
    callerRoleId: guild.roles['Caller']!,
    clock,
    vault,
    gateways,
    services,
    bot,
    engine,
    log,
    logLines: lines,
    async runCycle() {
      await engine.runCycle();
    },
    flushFeed: () => bot.feedPoster.flush(),
    slash(userId, name, subcommand, opts = {}, extra = {}) {
      return discord.slash({
        guildId: guild.id,
        channelId: channels.general,
        userId,
        name,
        ...(subcommand ? { subcommand } : {}),
        options: opts,
        ...extra,
      });
    },
    text(message) {
      return message ? [message.content, embedText(message.embeds)].filter(Boolean).join('\n') : '';
    },
    async close() {
      await engine.instance.stop();
      await bot.stop();
      await discord.close();
      gateways.close();
      await binance.close();
      await db.close();
    },
  };
}

/**
 * Copy trading's cast: the admin's live futures account (the future master) and alice's (the future
 * follower), each funded with 10,000 USDT on the simulator, added through the modal and enabled.
 */
export async function masterAndFollowerAccounts(w: BotWorld) {
  const { admin, alice } = w.people;
  const key = (who: string) => ({ apiKey: `${who}${randomUUID().replace(/-/g, '')}`, secret: `s${randomUUID().replace(/-/g, '')}` });
  const masterKey = key('admin');
  const aliceKey = key('alice');
  w.binance.addAccount({ ...masterKey, futures: { USDT: 10_000 } });
  w.binance.addAccount({ ...aliceKey, futures: { USDT: 10_000 } });
  await addThroughModal(w, admin, { name: 'lead', type: 'futures', mode: 'live', ...masterKey });
  await addThroughModal(w, alice, { name: 'follow', type: 'futures', mode: 'live', ...aliceKey });
  const [master] = await w.services.accounts.list(admin, w.guild.id);
  const [mine] = await w.services.accounts.list(alice, w.guild.id);
  await w.slash(admin, 'account', 'toggle', { account: master!.id }).reply();
  await w.slash(alice, 'account', 'toggle', { account: mine!.id }).reply();
  return { master: master!, aliceKey };
}

/** Adds an account through /account add and its modal, as a member would. */
export async function addThroughModal(
  w: BotWorld,
  userId: string,
  input: { name: string; type: 'spot' | 'futures'; mode: 'live' | 'demo' | 'paper'; apiKey?: string; secret?: string },
) {
  const slash = w.slash(userId, 'account', 'add', { exchange: 'binance', type: input.type, mode: input.mode });
  const modal = await slash.modal();
  const fields: Record<string, string> = { name: input.name };
  if (input.apiKey) fields['api_key'] = input.apiKey;
  if (input.secret) fields['secret'] = input.secret;
  const submit = w.discord.modalSubmit({ userId, customId: String(modal['custom_id']), fields });
  const reply = await submit.reply(15_000);
  return { slash, modal, submit, reply };
}
