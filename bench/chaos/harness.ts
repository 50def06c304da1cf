/**
 * The chaos run (issue #11): bot processes (the real startBot) on one database, the Binance simulator
 * in a child process, a stream of signals (market and limit, several targets, some withdrawn), price
 * paths that hit targets, stops and break-even, injected faults (dropped answers, 5xx, -1021, 429
 * bursts on order and algo endpoints, lookups that fail) and processes SIGKILLed at random (never
 * the last one alive) and restarted or not. After the run settles the simulator's books are checked against the database
 * (invariants.ts). Everyone reads one accelerated clock (test/support/sharedClock.ts).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../../src/db/client';
import { executeRows } from '../../src/db/executeRows';
import type { AccountRow } from '../../src/db/repositories/accounts';
import { guildsRepository } from '../../src/db/repositories/guilds';
import type { TradeSignal } from '../../src/domain/signal';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { generateKeyEntry, openVault, parseKeyring, type Vault } from '../../src/vault';
import { spawnBinanceSim, type SpawnedBinanceSim } from '../../test/sim/binance/client';
import type { FaultSpec } from '../../test/sim/binance/faults';
import { startDiscordSim } from '../../test/sim/discord';
import { sharedClock, type SharedClockSpec } from '../../test/support/sharedClock';
import { addTradersGuild } from '../../test/support/tradersGuild';
import { seededRandom } from '../../test/sim/binance/faults';
import { seedAccount, type SeededAccount } from '../support/accounts';
import { openBenchDatabase, type BenchDatabaseSpec } from '../support/database';
import { BotFleet, type BotEnv } from './fleet';
import { checkInvariants, type Invariants } from './invariants';
import { createStore } from '../../src/db/store';

export interface ChaosOptions {
  processes: number;
  futuresAccounts: number;
  spotAccounts: number;
  /** Simulated length of the signal stream. */
  durationMs: number;
  /** One signal every this long (simulated), on average. */
  signalEveryMs: number;
  /** How much faster than the wall clock the shared clock runs. */
  factor: number;
  seed: number;
  faults: boolean;
  /** SIGKILL a random bot process about this often (simulated); 0: never. */
  killEveryMs: number;
  database: BenchDatabaseSpec;
  /** Simulated time the bots get after the stream to settle, at most. */
  settleMs: number;
  /** Takeover threshold of a dead process's work (TAKEOVER_AFTER_SECONDS). */
  takeoverAfterSeconds: number;
  log: (line: string) => void;
  /** Bot processes append their log lines here (none when unset), at `logLevel` (default warn). */
  logFile?: string;
  logLevel?: string;
  /** The bots' USER_STREAMS (default true). */
  userStreams?: boolean;
  /** Called with the database once it is open (diagnostics). */
  onDatabase?: (handle: DatabaseHandle) => void;
  /** Called with the simulator before it stops (diagnostics). */
  inspect?: (
    sim: SpawnedBinanceSim,
    result: Invariants,
    accounts: { row: AccountRow; apiKey: string }[],
  ) => Promise<void>;
}

export interface ChaosResult extends Invariants {
  /** IP weight per minute of the simulator's clock while signals streamed in (futures, spot). */
  weightPerMin: { futures: number; spot: number };
  /** The same per "METHOD /path", heaviest first (where the weight goes). */
  weightPerMinByRoute: [string, number][];
  processes: number;
  accounts: number;
  signals: number;
  withdrawn: number;
  kills: number;
  faults: number;
  realSeconds: number;
}

const SYMBOLS = [
  { pair: 'BTC/USDT', id: 'BTCUSDT', price: 50_000, spot: true },
  { pair: 'ETH/USDT', id: 'ETHUSDT', price: 3_000, spot: true },
  { pair: 'BNB/USDT', id: 'BNBUSDT', price: 600, spot: false },
  { pair: 'LINK/USDT', id: 'LINKUSDT', price: 15, spot: true },
] as const;

const ROUND = (x: number, step: number) => Math.round(x / step) * step;
const tickOf = (price: number) => (price >= 1_000 ? 0.1 : price >= 100 ? 0.01 : 0.001);

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const realStarted = Date.now();
  const random = seededRandom(options.seed);
  const clockSpec: SharedClockSpec = {
    epoch: Date.UTC(2026, 0, 5, 12, 0, 0),
    realStart: Date.now(),
    factor: options.factor,
  };
  const clock = sharedClock(clockSpec);
  const { log } = options;

  const sim = await spawnBinanceSim({
    sharedClock: clockSpec,
    watchProtection: true,
    seed: options.seed,
    // Per-IP weight is issue #14's subject; here the money paths under faults are: a roomy budget.
    weightLimit: 1_000_000,
    // Requests in flight when a 429 is answered are not a failure to back off: a second of wall time.
    banGraceMs: 1_000 * options.factor,
    futuresFees: { maker: 0.0002, taker: 0.0004 },
    spotFees: { maker: 0.001, taker: 0.001 },
  });
  const prices = new Map<string, number>(SYMBOLS.map((s) => [s.id, s.price]));
  await sim.setPrices(Object.fromEntries(prices));
  const discord = await startDiscordSim({ heartbeatIntervalMs: 5_000, specPath: null, privilegedIntents: { messageContent: true } });
  const guild = addTradersGuild(discord);
  const database = await openBenchDatabase(options.database, 'chaos');
  options.onDatabase?.(database.handle);
  const keyEntry = generateKeyEntry(1);
  const vault = await openVault(parseKeyring(keyEntry));
  await guildsRepository(database.handle.db).update(guild.id, { feedChannelId: guild.channels['feed']! });
  const accounts = await seedAccounts(database.handle, vault, sim, guild.id, options);
  log(
    `chaos: ${accounts.length} accounts seeded, ${options.processes} bot process(es), clock ×${options.factor} from ${clockSpec.epoch} at wall ${clockSpec.realStart}`,
  );

  const env: BotEnv = {
    DISCORD_TOKEN: discord.token,
    VAULT_KEYS: keyEntry,
    CYCLE_INTERVAL_SECONDS: '1',
    TAKEOVER_AFTER_SECONDS: String(options.takeoverAfterSeconds),
    SIGNAL_MAX_LAG_SECONDS: '600',
    BALANCE_MAX_AGE_SECONDS: '600',
    ENGINE_CONCURRENCY: '16',
    HEALTH_PORT: '0',
    LOG_LEVEL: options.logLevel ?? 'warn',
    FEED_COMPACT_THRESHOLD: '5',
    USER_STREAMS: String(options.userStreams ?? true),
  };
  const fleet = new BotFleet({
    count: options.processes,
    database: database.handle,
    databaseUrl: database.url,
    env,
    simUrl: sim.url,
    discordRestApi: discord.restApiUrl,
    clock: clockSpec,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    log,
  });
  let withdrawn = 0;
  let signals = 0;
  let streamFaults = 0;
  try {
    await fleet.startAll();
    if (options.faults) for (const fault of standingFaults()) await sim.inject(fault);
    const intake = createSignalIntake(createStore(database.handle.db), clock, () => {});
    const streamEnd = clock.now() + options.durationMs;
    const weightAtStart = { at: clock.now(), ...(await sim.usedWeight()) };
    let nextSignalAt = clock.now() + options.signalEveryMs * random();
    let nextKillAt =
      options.killEveryMs > 0
        ? clock.now() + options.killEveryMs * (0.5 + random())
        : Number.POSITIVE_INFINITY;
    let nextBurstAt = clock.now() + 20_000 * random();
    const withdrawals: { at: number; signalId: string }[] = [];
    const restarts: { at: number; index: number }[] = [];

    while (clock.now() < streamEnd) {
      const now = clock.now();
      await movePrices(sim, prices, random);
      if (now >= nextSignalAt) {
        nextSignalAt = now + options.signalEveryMs * (0.5 + random());
        const signal = makeSignal(random, prices);
        const queued = await intake.submit({
          guildId: guild.id,
          source: 'command',
          sourceRef: `chaos-${randomUUID()}`,
          authorId: guild.members['carol']!,
          channelId: null,
          signal,
        });
        if (queued.kind === 'queued') {
          signals += 1;
          // Some limit signals are withdrawn by their caller a little later.
          if (signal.entryType === 'limit' && random() < 0.3)
            withdrawals.push({ at: now + 5_000 + 20_000 * random(), signalId: queued.signalId });
        }
      }
      for (const due of withdrawals.filter((w) => w.at <= now)) {
        withdrawals.splice(withdrawals.indexOf(due), 1);
        if (await intake.cancel(due.signalId, guild.members['carol']!)) withdrawn += 1;
      }
      if (options.faults && now >= nextBurstAt) {
        nextBurstAt = now + 15_000 + 30_000 * random();
        // 429s as Binance gives them. On the order and algo endpoints: -1015, an account's own order
        // count spent (by another client of the account, say) until its 10 s window ends; futures
        // orders cost no IP weight, so they are not where an IP's 429 comes from. The IP's 429
        // (-1003, with Retry-After, every account backs off) comes on weighted reads.
        const path = random() < 0.5 ? '/fapi/v1/algoOrder' : '/fapi/v1/order';
        await sim.inject({
          kind: 'order-rate-limit',
          path,
          method: 'POST',
          count: 3 + Math.floor(random() * 5),
        });
        const read = random() < 0.5 ? '/fapi/v1/openOrders' : '/fapi/v1/openAlgoOrders';
        await sim.inject({
          kind: 'rate-limit',
          path: read,
          method: 'GET',
          count: 1,
          retryAfterSec: 1 + Math.floor(random() * 3),
        });
        // User-data streams that drop (a few accounts' connections, no close frame) and events that never arrive.
        for (let i = 0; i < 5; i += 1) {
          const victim = accounts[Math.floor(random() * accounts.length)]!;
          streamFaults += await sim.streamFault('disconnect', { apiKey: victim.apiKey });
        }
        streamFaults += await sim.streamFault('drop', { count: 20 });
      }
      if (now >= nextKillAt) {
        nextKillAt = now + options.killEveryMs * (0.5 + random());
        // Never the last live process: with none running nothing follows positions (only the stops
        // resting on the exchange protect them), which is an outage, not the faults this run measures.
        const index = fleet.aliveCount() > 1 ? fleet.randomAlive(random) : null;
        if (index !== null) {
          await fleet.kill(index);
          // Most come back after a while; some stay down (the others take their work over).
          if (random() < 0.75 || fleet.aliveCount() === 0) {
            const at = now + 20_000 * random();
            restarts.push({ at, index });
            log(`chaos: bot-${index + 1} restarts in ${Math.round((at - now) / 1000)} s`);
          } else log(`chaos: bot-${index + 1} stays down`);
        }
      }
      for (const due of restarts.filter((r) => r.at <= now)) {
        restarts.splice(restarts.indexOf(due), 1);
        await fleet.start(due.index);
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }

    log(`chaos: stream over (${signals} signals, ${withdrawn} withdrawn, ${fleet.kills} kills); settling`);
    const { totals, byRoute } = await sim.usedWeight();
    const minutes = (clock.now() - weightAtStart.at) / 60_000;
    const weightPerMinByRoute = Object.entries(byRoute)
      .map(([route, total]): [string, number] => [
        route,
        Math.round((total - (weightAtStart.byRoute[route] ?? 0)) / minutes),
      ])
      .filter(([, perMin]) => perMin > 0)
      .sort((a, b) => b[1] - a[1]);
    const weightPerMin = {
      futures: Math.round((totals.futures - weightAtStart.totals.futures) / minutes),
      spot: Math.round((totals.spot - weightAtStart.totals.spot) / minutes),
    };
    const faultsFired = await firedFaults(sim);
    await sim.clearFaults();
    for (const pending of withdrawals)
      if (await intake.cancel(pending.signalId, guild.members['carol']!)) withdrawn += 1;
    await fleet.startAllDead();
    const check = () =>
      checkInvariants({
        db: database.handle,
        sim,
        accounts,
        sharedTimeOf: (wallMs) => clockSpec.epoch + (wallMs - clockSpec.realStart) * clockSpec.factor,
      });
    // Settled: nothing pending for a while, and the books agree with the exchange, or the deadline
    // passed (a book that never catches up is then reported as it stands).
    const settleStarted = clock.now();
    await settle(database.handle, clock, options.settleMs, async () => (await check()).details.mismatches.length === 0);
    log(`chaos: settled in ${Math.round((clock.now() - settleStarted) / 1000)} s of the shared clock`);
    const invariants = await check();
    await options.inspect?.(sim, invariants, accounts);
    return {
      processes: options.processes,
      accounts: accounts.length,
      signals,
      withdrawn,
      kills: fleet.kills,
      faults: faultsFired + streamFaults,
      realSeconds: Math.round((Date.now() - realStarted) / 1000),
      weightPerMin,
      weightPerMinByRoute,
      ...invariants,
    };
  } finally {
    await fleet.stopAll();
    await sim.close();
    await discord.close();
    await database.close();
  }
}

/** Faults that stay for the whole stream, each drawn per request. */
function standingFaults(): FaultSpec[] {
  return [
    { kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', probability: 0.03 },
    { kind: 'http-5xx', path: '/fapi/v1/order', method: 'POST', probability: 0.02 },
    { kind: 'timestamp', path: '/fapi/v1/order', method: 'POST', probability: 0.01 },
    { kind: 'drop-response', path: '/fapi/v1/algoOrder', method: 'POST', probability: 0.03 },
    { kind: 'http-5xx', path: '/fapi/v1/algoOrder', method: 'POST', probability: 0.02 },
    { kind: 'timestamp', path: '/fapi/v1/algoOrder', method: 'POST', probability: 0.01 },
    { kind: 'drop-response', path: '/api/v3/order', method: 'POST', probability: 0.03 },
    // Lookups that fail, and a fresh order Binance denies for a while.
    { kind: 'http-5xx', path: '/fapi/v1/order', method: 'GET', probability: 0.05 },
    { kind: 'http-5xx', path: '/fapi/v1/algoOrder', method: 'GET', probability: 0.05 },
    { kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 5_000 },
    { kind: 'order-not-found', path: '/api/v3/order', method: 'GET', ms: 5_000 },
  ];
}

async function firedFaults(sim: SpawnedBinanceSim): Promise<number> {
  return (await sim.faults()).reduce((sum, fault) => sum + fault.fired, 0);
}

/** A random walk per symbol, with a jump now and then that reaches targets and stops. */
async function movePrices(
  sim: SpawnedBinanceSim,
  prices: Map<string, number>,
  random: () => number,
): Promise<void> {
  const next: Record<string, number> = {};
  for (const symbol of SYMBOLS) {
    const price = prices.get(symbol.id)!;
    const jump = random() < 0.01 ? (random() < 0.5 ? -1 : 1) * 0.02 : 0;
    const drift = (random() - 0.5) * 0.002 + jump;
    const moved = Math.max(symbol.price * 0.7, Math.min(symbol.price * 1.3, price * (1 + drift)));
    const rounded = Number(ROUND(moved, tickOf(symbol.price)).toFixed(3));
    prices.set(symbol.id, rounded);
    next[symbol.id] = rounded;
  }
  await sim.setPrices(next);
}

function makeSignal(random: () => number, prices: Map<string, number>): TradeSignal {
  const symbol = SYMBOLS[Math.floor(random() * SYMBOLS.length)]!;
  const price = prices.get(symbol.id)!;
  const tick = tickOf(symbol.price);
  // Spot accounts can only go long: mostly longs, so both kinds of account trade.
  const side = random() < 0.7 ? 'long' : 'short';
  const sign = side === 'long' ? 1 : -1;
  const limit = random() < 0.4;
  const entry = limit ? ROUND(price * (1 - sign * (0.002 + 0.006 * random())), tick) : price;
  const targets = 1 + Math.floor(random() * 3);
  const fix = (x: number) => Number(ROUND(x, tick).toFixed(4));
  return {
    symbol: symbol.pair,
    side,
    entryType: limit ? 'limit' : 'market',
    entries: limit ? [fix(entry)] : [],
    stopLoss: fix(entry * (1 - sign * (0.008 + 0.01 * random()))),
    takeProfits: Array.from({ length: targets }, (_, i) => fix(entry * (1 + sign * 0.006 * (i + 1)))),
    leverage: 5,
  };
}

async function seedAccounts(
  handle: DatabaseHandle,
  vault: Vault,
  sim: SpawnedBinanceSim,
  guildId: string,
  options: ChaosOptions,
): Promise<SeededAccount[]> {
  const out: SeededAccount[] = [];
  const total = options.futuresAccounts + options.spotAccounts;
  for (let i = 0; i < total; i += 1) {
    // Two accounts per member: the exposure cap and netting rules see members with several accounts.
    out.push(
      await seedAccount(handle, vault, sim, {
        name: `chaos-${i}`,
        guildId,
        ownerId: `3000000000${String(Math.floor(i / 2)).padStart(8, '0')}`,
        marketType: i < options.futuresAccounts ? 'futures' : 'spot',
      }),
    );
  }
  return out;
}

/**
 * Waits (at most `maxMs` of the shared clock) until nothing is pending, in flight or unknown for 30 s
 * and `agrees()` (the books match the exchange): a fill just before the end (a target that triggered
 * as the stream ended, its process restarted) is followed by the next owner's visit, which on a loaded
 * machine can take longer than the quiet spell.
 */
async function settle(handle: DatabaseHandle, clock: { now(): number }, maxMs: number, agrees: () => Promise<boolean>): Promise<void> {
  const deadline = clock.now() + maxMs;
  let quietSince: number | null = null;
  while (clock.now() < deadline) {
    const [row] = (await executeRows(
      handle.db,
      sql`select
         (select count(*) from signals where status in ('pending', 'executing'))::int as signals,
         (select count(*) from executions where status in ('pending', 'in-flight'))::int as executions,
         (select count(*) from orders where status in ('intent', 'unknown'))::int as orders`,
    )) as {
      signals: number;
      executions: number;
      orders: number;
    }[];
    const busy = (row?.signals ?? 0) + (row?.executions ?? 0) + (row?.orders ?? 0);
    if (busy === 0) {
      quietSince ??= clock.now();
      // A few more cycles for the position sync to follow every fill and close.
      if (clock.now() - quietSince >= 30_000 && (await agrees())) return;
    } else quietSince = null;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
