/**
 * The steady-state run (issue #14): one bot process (the real startBot) on PostgreSQL, the Binance
 * simulator in a child process with Binance's real IP limits (2,400 futures and 6,000 spot weight a
 * minute) and 50 ms added to every request, and N futures + M spot accounts that each hold a position
 * with a stop and two take-profits. Positions are opened the way members open them, by signals, in
 * waves of 100 accounts (a whole server at once would be the fan-out benchmark's subject, not this
 * one's). Then, in steady state, the weight the bot spends is counted while it follows them, and two
 * probes measure what members feel:
 * - fill to book: a take-profit fills on each of 20 probe accounts at a random moment (each on its own
 *   market, moved past the target); the time until the bot has booked the fill and the break-even stop
 *   rests on the exchange;
 * - signal acknowledgement: a signal to 20 other accounts; the time from intake until each entry is
 *   acknowledged by the exchange and written.
 */
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../../src/db/client';
import { executeRows } from '../../src/db/executeRows';
import { guildsRepository } from '../../src/db/repositories/guilds';
import type { TradeSignal } from '../../src/domain/signal';
import { createLogger } from '../../src/logger';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { signalWakes } from '../../src/trading/signalWake';
import { generateKeyEntry, openVault, parseKeyring } from '../../src/vault';
import { spawnBinanceSim, type SpawnedBinanceSim } from '../../test/sim/binance/client';
import { seededRandom } from '../../test/sim/binance/faults';
import { startDiscordSim } from '../../test/sim/discord';
import { sharedClock, type SharedClockSpec } from '../../test/support/sharedClock';
import { addTradersGuild } from '../../test/support/tradersGuild';
import { BotFleet, type BotEnv } from '../chaos/fleet';
import { seedAccount, type SeededAccount } from '../support/accounts';
import { openBenchDatabase, type BenchDatabaseSpec } from '../support/database';
import { createStore } from '../../src/db/store';

export interface SteadyOptions {
  futuresAccounts: number;
  spotAccounts: number;
  /** Accounts whose take-profit fills during the window (each its own market). */
  fillProbes: number;
  /** Accounts that get the window's new signal. */
  signalProbes: number;
  /** The measured steady window (the probes run in it after six cycles). */
  windowMs: number;
  /** Between the last stream opening and the window (balances read once more after their stream opened). */
  settleMs: number;
  /** The bot's CYCLE_INTERVAL_SECONDS (its default: 10). */
  cycleSeconds: number;
  latencyMs: number;
  seed: number;
  database: BenchDatabaseSpec;
  userStreams: boolean;
  log: (line: string) => void;
  logFile?: string;
  logLevel?: string;
}

export interface SteadyResult {
  futures: number;
  spot: number;
  protectedPositions: number;
  /** Seed executions skipped, by reason (a benchmark whose seeding skipped accounts measures fewer). */
  seedSkipped: Record<string, number>;
  seedSeconds: number;
  /** How long after seeding every position's stream was open. */
  streamsSeconds: number;
  windowMinutes: number;
  weightPerMinFutures: number;
  weightPerMinSpot: number;
  peakMinuteFutures: number;
  peakMinuteSpot: number;
  weightPerMinByRoute: [string, number][];
  fillToBookMs: number[];
  fillsNotBooked: number;
  signalAckMs: number[];
  signalsNotAcked: number;
  tooOld: number;
  http429: number;
  http418: number;
}

const SEED_WAVE = 100;
const SEED_SYMBOL = { pair: 'ETH/USDT', id: 'ETHUSDT', price: 3_000 };
const SIGNAL_SYMBOL = { pair: 'BTC/USDT', id: 'BTCUSDT', price: 50_000 };
/** The simulator's synthetic markets (listed on spot and futures), one per fill probe. */
const probeMarket = (i: number) => {
  const index = i + 1;
  const base = `SYN${String(index).padStart(4, '0')}`;
  return { pair: `${base}/USDT`, id: `${base}USDT`, price: 1 + (index % 97) };
};
const guildId = (kind: number, index: number) => `${kind}${String(index).padStart(17, '0')}`;

const longSignal = (symbol: string, price: number, tick: number): TradeSignal => {
  const at = (x: number) => Number((Math.round(x / tick) * tick).toFixed(6));
  return {
    symbol,
    side: 'long',
    entryType: 'market',
    entries: [],
    stopLoss: at(price * 0.97),
    takeProfits: [at(price * 1.02), at(price * 1.04)],
    leverage: 5,
  };
};

export async function runSteady(options: SteadyOptions): Promise<SteadyResult> {
  const { log } = options;
  const random = seededRandom(options.seed);
  const clockSpec: SharedClockSpec = { epoch: Date.now(), realStart: Date.now(), factor: 1 };
  const clock = sharedClock(clockSpec);
  const sim = await spawnBinanceSim({ sharedClock: clockSpec, seed: options.seed, markets: 2_500 });
  await sim.inject({ kind: 'latency', path: '*', ms: options.latencyMs });
  const discord = await startDiscordSim({ heartbeatIntervalMs: 5_000, specPath: null, privilegedIntents: { messageContent: true } });
  const guild = addTradersGuild(discord);
  const database = await openBenchDatabase(options.database, 'steady');
  const keyEntry = generateKeyEntry(1);
  const vault = await openVault(parseKeyring(keyEntry));
  const feedChannelId = guild.channels['feed']!;
  const guilds = guildsRepository(database.handle.db);

  // Seed waves of 100 (futures first, then spot), one guild each; fill probes one guild each; the signal probes share one.
  const total = options.futuresAccounts + options.spotAccounts;
  const waves: { guildId: string; accounts: SeededAccount[] }[] = [];
  for (let i = 0; i < total; i += 1) {
    const wave = Math.floor(i / SEED_WAVE);
    if (!waves[wave]) {
      waves[wave] = { guildId: guildId(1, wave), accounts: [] };
      await guilds.update(waves[wave].guildId, { feedChannelId });
    }
    const account = await seedAccount(database.handle, vault, sim, {
      name: `steady-${i}`,
      guildId: waves[wave].guildId,
      ownerId: `4000000000${String(Math.floor(i / 2)).padStart(8, '0')}`,
      marketType: i < options.futuresAccounts ? 'futures' : 'spot',
    });
    waves[wave].accounts.push(account);
  }
  const fillProbes: { guildId: string; account: SeededAccount; market: ReturnType<typeof probeMarket> }[] = [];
  for (let i = 0; i < options.fillProbes; i += 1) {
    const probeGuild = guildId(2, i);
    await guilds.update(probeGuild, { feedChannelId });
    const account = await seedAccount(database.handle, vault, sim, {
      name: `fill-probe-${i}`,
      guildId: probeGuild,
      ownerId: `5000000000${String(i).padStart(8, '0')}`,
      marketType: 'futures',
    });
    fillProbes.push({ guildId: probeGuild, account, market: probeMarket(i) });
  }
  const signalGuild = guildId(3, 0);
  await guilds.update(signalGuild, { feedChannelId });
  const signalProbes: SeededAccount[] = [];
  for (let i = 0; i < options.signalProbes; i += 1)
    signalProbes.push(
      await seedAccount(database.handle, vault, sim, {
        name: `signal-probe-${i}`,
        guildId: signalGuild,
        ownerId: `6000000000${String(i).padStart(8, '0')}`,
        marketType: 'futures',
      }),
    );
  log(`steady: ${total} accounts seeded in ${waves.length} waves, ${fillProbes.length} fill probes, ${signalProbes.length} signal probes`);

  const env: BotEnv = {
    DISCORD_TOKEN: discord.token,
    VAULT_KEYS: keyEntry,
    CYCLE_INTERVAL_SECONDS: String(options.cycleSeconds),
    HEALTH_PORT: '0',
    LOG_LEVEL: options.logLevel ?? 'warn',
    USER_STREAMS: String(options.userStreams),
  };
  const fleet = new BotFleet({
    count: 1,
    database: database.handle,
    databaseUrl: database.url,
    env,
    simUrl: sim.url,
    discordRestApi: discord.restApiUrl,
    clock: clockSpec,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    log,
  });
  // The bot hears a signal queued here as it would one queued by another of its processes.
  const wakes = signalWakes(database.handle.peers, createLogger({ level: 'silent' }));
  const intake = createSignalIntake(createStore(database.handle.db), clock, () => wakes.announce());
  const submit = async (toGuild: string, signal: TradeSignal): Promise<string> => {
    const queued = await intake.submit({ guildId: toGuild, source: 'command', sourceRef: `steady-${toGuild}-${clock.now()}`, authorId: guild.members['carol']!, channelId: null, signal });
    if (queued.kind !== 'queued') throw new Error(`steady: a seed signal was refused: ${JSON.stringify(queued)}`);
    return queued.signalId;
  };

  try {
    await fleet.startAll();
    const seedStarted = Date.now();
    for (const probe of fillProbes) await submit(probe.guildId, longSignal(probe.market.pair, probe.market.price, 0.0001));
    for (const [index, wave] of waves.entries()) {
      const signalId = await submit(wave.guildId, longSignal(SEED_SYMBOL.pair, SEED_SYMBOL.price, 0.01));
      await waitFor(() => signalDone(database.handle, signalId), 15 * 60_000, `seed wave ${index}`);
      log(`steady: wave ${index + 1}/${waves.length} executed after ${Math.round((Date.now() - seedStarted) / 1000)} s`);
    }
    // The accounts a position was opened on (the others were skipped, with their reasons reported).
    const opened = new Set(
      ((await executeRows(database.handle.db, sql`select account_id from executions where status = 'placed'`)) as { account_id: string }[]).map((r) => r.account_id),
    );
    const holders = [...waves.flatMap((w) => w.accounts), ...fillProbes.map((p) => p.account)].filter((a) => opened.has(a.row.id));
    const skipped = (await executeRows(database.handle.db, sql`select reason, count(*)::int as n from executions where status = 'skipped' group by reason`)) as { reason: string; n: number }[];
    if (skipped.length > 0) log(`steady: seed executions skipped: ${JSON.stringify(skipped)}`);
    let protectedPositions = 0;
    await waitFor(
      async () => {
        protectedPositions = await countProtected(sim, holders);
        return protectedPositions >= holders.length;
      },
      10 * 60_000,
      'every seeded position protected',
    ).catch((error: unknown) => log(`steady: ${String(error)} (${protectedPositions} of ${holders.length})`));
    const seedSeconds = Math.round((Date.now() - seedStarted) / 1000);
    log(`steady: ${protectedPositions} of ${holders.length} positions hold a stop and two take-profits after ${seedSeconds} s`);
    // Steady state: every position's user-data stream open (connects are paced at 50 a minute, as
    // Binance's 300 per 5 minutes asks), so what follows is what a running bot spends, not its start.
    const spotHolders = holders.filter((a) => a.row.marketType === 'spot').length;
    let lastReport = 0;
    await waitFor(
      async () => {
        const stats = await sim.streamStats();
        if (Date.now() - lastReport >= 60_000) {
          lastReport = Date.now();
          log(`steady: ${stats.connections} of ${holders.length} streams open`);
        }
        return stats.connections >= holders.length && stats.spotSubscriptions >= spotHolders;
      },
      60 * 60_000,
      'every position\'s stream open',
    ).catch((error: unknown) => log(`steady: ${String(error)}`));
    const streamsSeconds = Math.round((Date.now() - seedStarted) / 1000) - seedSeconds;
    log(`steady: streams open ${streamsSeconds} s later`);
    // A balance read before its account's stream opened is read once more (the stream vouches only for
    // what it heard): a one-time cost after a start, spent within half the balance age limit (150 s).
    // The window begins after it, and what it cost is reported apart.
    if (options.settleMs > 0) {
      const settleFrom = await sim.usedWeight();
      const settleStart = clock.now();
      await new Promise((resolve) => setTimeout(resolve, options.settleMs));
      const settled = await sim.usedWeight();
      const minutes = (clock.now() - settleStart) / 60_000;
      log(
        `steady: settling ${Math.round(options.settleMs / 1000)} s after the streams opened: futures ${Math.round((settled.totals.futures - settleFrom.totals.futures) / minutes)} and spot ${Math.round((settled.totals.spot - settleFrom.totals.spot) / minutes)} weight a minute`,
      );
    }
    log('steady: the window starts');

    // The window: weight sampled every 5 s (the peak minute), probes after six cycles.
    const windowStart = clock.now();
    const before = await sim.usedWeight();
    const samples: { at: number; futures: number; spot: number }[] = [{ at: windowStart, ...before.totals }];
    const probesFrom = windowStart + 6 * options.cycleSeconds * 1_000;
    const probeSpan = Math.max(1_000, options.windowMs - 6 * options.cycleSeconds * 1_000 - 60_000);
    const fillAt = fillProbes.map(() => probesFrom + random() * probeSpan);
    const signalAt = probesFrom + random() * probeSpan;
    const entryPrices = new Map<string, number>();
    for (const probe of fillProbes) entryPrices.set(probe.account.row.id, (await sim.positions(probe.account.apiKey)).find((p) => p.symbol === probe.market.id)?.entryPrice ?? probe.market.price);

    const filledAt = new Map<string, number>();
    const fillToBookMs: number[] = [];
    const booked = new Set<string>();
    let signalSubmittedAt: number | null = null;
    let signalId: string | null = null;
    const acked = new Map<string, number>();
    let nextSample = windowStart + 5_000;
    while (clock.now() < windowStart + options.windowMs) {
      const now = clock.now();
      for (const [i, probe] of fillProbes.entries()) {
        if (filledAt.has(probe.account.row.id) || now < fillAt[i]!) continue;
        // Past the first target, short of the second: the first take-profit triggers and fills.
        await sim.setPrices({ [probe.market.id]: Number((probe.market.price * 1.03).toFixed(4)) }, 'futures');
        filledAt.set(probe.account.row.id, clock.now());
      }
      if (signalId === null && now >= signalAt) {
        signalSubmittedAt = clock.now();
        signalId = await submit(signalGuild, longSignal(SIGNAL_SYMBOL.pair, SIGNAL_SYMBOL.price, 0.1));
      }
      for (const probe of fillProbes) {
        const id = probe.account.row.id;
        const at = filledAt.get(id);
        if (at === undefined || booked.has(id)) continue;
        if (await fillBooked(database.handle, sim, probe.account, probe.market.id, entryPrices.get(id)!)) {
          booked.add(id);
          fillToBookMs.push(clock.now() - at);
        }
      }
      if (signalId !== null && acked.size < signalProbes.length) {
        for (const accountId of await entriesAcknowledged(database.handle, signalId)) if (!acked.has(accountId)) acked.set(accountId, clock.now() - signalSubmittedAt!);
      }
      if (now >= nextSample) {
        nextSample += 5_000;
        samples.push({ at: clock.now(), ...(await sim.usedWeight()).totals });
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    for (const probe of fillProbes.filter((p) => filledAt.has(p.account.row.id) && !booked.has(p.account.row.id)).slice(0, 3)) {
      const rows = await executeRows(database.handle.db, sql`select leg, type, status, trigger_price, filled_quantity from orders where account_id = ${probe.account.row.id} order by created_at`);
      const { algo } = await sim.orders(probe.account.apiKey);
      const requests = (await sim.requestLog()).filter((r) => r.apiKey === probe.account.apiKey).slice(-12).map((r) => `${r.time - filledAt.get(probe.account.row.id)!} ${r.method} ${r.path} ${r.status}`);
      log(`steady: requests ${JSON.stringify(requests)}`);
      log(`steady: not booked ${probe.market.id}: book ${JSON.stringify(rows)}; exchange ${JSON.stringify(algo.map((a) => [a.orderType, a.algoStatus, a.triggerPrice]))}; position ${JSON.stringify(await sim.positions(probe.account.apiKey))}`);
    }
    // One seeded account of each market type: what a quiet account costs in the window.
    const seeded = waves.flatMap((w) => w.accounts);
    for (const sample of [seeded.find((a) => a.row.marketType === 'futures'), seeded.find((a) => a.row.marketType === 'spot')]) {
      if (!sample) continue;
      const requests = (await sim.requestLog()).filter((r) => r.apiKey === sample.apiKey && r.time >= windowStart).map((r) => `${Math.round((r.time - windowStart) / 1000)} ${r.method} ${r.path}`);
      log(`steady: one seeded ${sample.row.marketType} account's requests in the window: ${JSON.stringify(requests)}`);
    }
    log(`steady: streams ${JSON.stringify(await sim.streamStats())}`);
    const after = await sim.usedWeight();
    samples.push({ at: clock.now(), ...after.totals });
    const minutes = (clock.now() - windowStart) / 60_000;
    const tooOld = await countTooOld(database.handle);
    return {
      futures: options.futuresAccounts,
      spot: options.spotAccounts,
      protectedPositions,
      seedSkipped: Object.fromEntries(skipped.map((s) => [s.reason, s.n])),
      seedSeconds,
      streamsSeconds,
      windowMinutes: Number(minutes.toFixed(2)),
      weightPerMinFutures: Math.round((after.totals.futures - before.totals.futures) / minutes),
      weightPerMinSpot: Math.round((after.totals.spot - before.totals.spot) / minutes),
      peakMinuteFutures: peakMinute(samples, 'futures'),
      peakMinuteSpot: peakMinute(samples, 'spot'),
      weightPerMinByRoute: Object.entries(after.byRoute)
        .map(([route, weight]): [string, number] => [route, Math.round((weight - (before.byRoute[route] ?? 0)) / minutes)])
        .filter(([, perMin]) => perMin > 0)
        .sort((a, b) => b[1] - a[1]),
      fillToBookMs,
      fillsNotBooked: filledAt.size - booked.size,
      signalAckMs: [...acked.values()],
      signalsNotAcked: signalProbes.length - acked.size,
      tooOld,
      http429: after.rateLimited.http429,
      http418: after.rateLimited.http418,
    };
  } finally {
    await fleet.stopAll();
    await sim.close();
    await discord.close();
    await database.close();
  }
}

async function waitFor(done: () => Promise<boolean>, maxMs: number, what: string): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`steady: gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function signalDone(handle: DatabaseHandle, signalId: string): Promise<boolean> {
  const [row] = (await executeRows(
    handle.db,
    sql`select (select status from signals where id = ${signalId}) as status,
               (select count(*) from executions where signal_id = ${signalId} and status in ('pending', 'in-flight'))::int as busy`,
  )) as { status: string; busy: number }[];
  return row !== undefined && row.status !== 'pending' && row.status !== 'executing' && row.busy === 0;
}

/** Accounts whose position is protected on the exchange as the bot protects it. */
async function countProtected(sim: SpawnedBinanceSim, accounts: SeededAccount[]): Promise<number> {
  const wanted = new Set(accounts.map((a) => a.apiKey));
  let count = 0;
  for (const book of await sim.books()) {
    if (!wanted.has(book.apiKey)) continue;
    // Futures: the stop and both targets rest as conditional orders; spot: both targets rest as limit
    // sells (they lock the coin, so the bot watches the stop itself).
    const conditional = book.orders.algo.filter((a) => a.algoStatus === 'NEW').length;
    const spotSells = book.orders.spot.filter((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED').length;
    if (conditional >= 3 || spotSells >= 2) count += 1;
  }
  return count;
}

/** The probe's take-profit is booked as filled and its stop rests at break-even (above the entry, not the original stop). */
async function fillBooked(handle: DatabaseHandle, sim: SpawnedBinanceSim, account: SeededAccount, symbolId: string, entryPrice: number): Promise<boolean> {
  const [row] = (await executeRows(
    handle.db,
    sql`select count(*)::int as filled from orders where account_id = ${account.row.id} and type = 'take-profit' and status = 'filled'`,
  )) as { filled: number }[];
  if ((row?.filled ?? 0) === 0) return false;
  const { algo } = await sim.orders(account.apiKey);
  return algo.some((a) => a.symbol === symbolId && a.algoStatus === 'NEW' && (a.orderType === 'STOP_MARKET' || a.orderType === 'STOP') && a.triggerPrice >= entryPrice);
}

/** Accounts whose entry of the signal the exchange has acknowledged (an exchange order id written). */
async function entriesAcknowledged(handle: DatabaseHandle, signalId: string): Promise<string[]> {
  const rows = (await executeRows(
    handle.db,
    sql`select distinct account_id from orders where signal_id = ${signalId} and reduce_only = false
          and type in ('market', 'limit') and exchange_order_id is not null`,
  )) as { account_id: string }[];
  return rows.map((r) => r.account_id);
}

async function countTooOld(handle: DatabaseHandle): Promise<number> {
  const [row] = (await executeRows(handle.db, sql`select count(*)::int as n from executions where reason = 'signal-too-old'`)) as { n: number }[];
  return row?.n ?? 0;
}

/** The most weight spent in any 60 s between samples (5 s apart). */
function peakMinute(samples: { at: number; futures: number; spot: number }[], family: 'futures' | 'spot'): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i += 1) {
    let j = i;
    while (j + 1 < samples.length && samples[j + 1]!.at - samples[i]!.at <= 60_000) j += 1;
    if (j > i) peak = Math.max(peak, samples[j]![family] - samples[i]![family]);
  }
  return peak;
}
