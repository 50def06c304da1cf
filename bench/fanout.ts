/**
 * npm run bench:fanout — one market signal with a stop and a take-profit to N = 1, 100 and 1,000
 * accounts on the Binance simulator (a child process) with 50 ms added to every request, on PGlite,
 * gateways warm (markets loaded, balances synced, leverage set by a warm-up signal). Time is from the
 * claim to the last leg acknowledged (the cycle's fan-out), p50 and max over 5 runs, next to a naive
 * bot measured once at N = 100: accounts one after another, each a fresh ccxt instance with its own
 * loadMarkets. Prints the figures and a final JSON line.
 *
 * BENCH_DB=postgres runs the bot's database on PostgreSQL instead (a fresh database on the server of
 * TEST_DATABASE_URL, or the local one, dropped afterwards; the app's pool of 10 connections), whose
 * work runs in the server's processes rather than in the bot's.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import ccxt from 'ccxt';
import { sql } from 'drizzle-orm';
import { executeRows } from '../src/db/executeRows';
import { accountsRepository } from '../src/db/repositories/accounts';
import { paperStateRepository } from '../src/db/repositories/paperState';
import { RateLimiterRegistry } from '../src/exchange/ccxt/rateLimiter';
import { createGatewayFactory } from '../src/exchange/factory';
import { createLogger } from '../src/logger';
import { systemClock } from '../src/clock';
import { defaultEngineSettings, TradingEngine } from '../src/trading/engine';
import { createSignalIntake } from '../src/trading/signalIntake';
import { generateKeyEntry, openVault, parseKeyring } from '../src/vault';
import { spawnBinanceSim, type SpawnedBinanceSim } from '../test/sim/binance/client';
import { openBenchDatabase, type BenchDatabase, type BenchDatabaseSpec } from './support/database';
import { createStore } from '../src/db/store';

const RUNS = 5;
const LATENCY_MS = 50;
const MARKETS = 2_500;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 128);
const GUILD = '100000000000000001';

const quiet = process.env.BENCH_LOG
  ? createLogger({ level: process.env.BENCH_LOG, destination: process.stderr })
  : createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
const DB_KIND = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'pglite';
const databaseSpec = (): BenchDatabaseSpec =>
  DB_KIND === 'postgres'
    ? {
        kind: 'postgres',
        adminUrl: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
        maxConnections: 10,
      }
    : { kind: 'pglite' };
const SIZES = (process.env.BENCH_SIZES ?? '1,100,1000').split(',').map(Number);
/** CPU time the simulator's process has used so far (Linux /proc), to tell its share of a run from ours. */
const childCpuMs = (sim: SpawnedBinanceSim): number => {
  try {
    const fields = readFileSync(`/proc/${sim.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime in clock ticks (100 Hz)
  } catch {
    return Number.NaN;
  }
};
/** BENCH_PROFILE=dir: a CPU profile of the measured runs only (not set-up or warm-up), per N. */
const profiler = process.env.BENCH_PROFILE
  ? await (async () => {
      const { Session } = await import('node:inspector/promises');
      const session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      return {
        start: () => session.post('Profiler.start'),
        stop: async (name: string) => {
          const { profile } = await session.post('Profiler.stop');
          mkdirSync(process.env.BENCH_PROFILE!, { recursive: true });
          writeFileSync(`${process.env.BENCH_PROFILE}/${name}.cpuprofile`, JSON.stringify(profile));
        },
      };
    })()
  : null;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

const signal = () => ({
  symbol: 'BTC/USDT',
  side: 'long' as const,
  entryType: 'market' as const,
  entries: [],
  stopLoss: 45_000,
  takeProfits: [55_000],
  leverage: 5,
});

/**
 * BENCH_SQL=1: statements of the measured runs by text, with the time each took inside PGlite (calls
 * are queued one by one here, as PGlite runs them anyway, so a time is its own and not a wait).
 */
const statementStats = new Map<string, { count: number; ms: number }>();
const countStatements = (pglite: PGlite): PGlite => {
  if (!process.env.BENCH_SQL) return pglite;
  const record = (text: string, ms: number) => {
    const stat = statementStats.get(text) ?? { count: 0, ms: 0 };
    stat.count += 1;
    stat.ms += ms;
    statementStats.set(text, stat);
  };
  let queue: Promise<unknown> = Promise.resolve();
  const timed = <T>(text: string, run: () => Promise<T>): Promise<T> => {
    const result = queue.then(async () => {
      const started = performance.now();
      try {
        return await run();
      } finally {
        record(text, performance.now() - started);
      }
    });
    queue = result.catch(() => undefined);
    return result;
  };
  const query = pglite.query.bind(pglite) as (...args: unknown[]) => Promise<unknown>;
  const exec = pglite.exec.bind(pglite) as (...args: unknown[]) => Promise<unknown>;
  const transaction = pglite.transaction.bind(pglite);
  Object.assign(pglite, {
    query: (text: string, ...rest: unknown[]) => timed(text, () => query(text, ...rest)),
    exec: (text: string, ...rest: unknown[]) => timed(text, () => exec(text, ...rest)),
    // Statements inside a transaction are counted, not timed: the transaction holds PGlite already.
    transaction: (callback: (tx: Transaction) => Promise<unknown>) =>
      timed('(transaction)', () =>
        transaction((tx) => {
          const txQuery = tx.query.bind(tx) as (...args: unknown[]) => Promise<unknown>;
          return callback(
            Object.assign(Object.create(tx) as Transaction, {
              query: async (text: string, ...rest: unknown[]) => {
                const started = performance.now();
                try {
                  return await txQuery(text, ...rest);
                } finally {
                  record(`tx: ${text}`, performance.now() - started);
                }
              },
            }),
          );
        }),
      ),
  });
  return pglite;
};
const printStatements = (runs: number) => {
  if (!process.env.BENCH_SQL) return;
  const all = [...statementStats];
  const total = all.reduce((sum, [text, stat]) => sum + (text.startsWith('tx: ') ? 0 : stat.ms), 0);
  console.error(
    `database: ${(total / runs).toFixed(0)} ms/run in ${all.reduce((sum, [, s]) => sum + s.count, 0) / runs} statements/run`,
  );
  for (const [text, stat] of all.sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)) {
    console.error(
      `${(stat.ms / runs).toFixed(1).padStart(8)} ms ${(stat.count / runs).toFixed(1).padStart(7)}×/run  ${text.replace(/\s+/g, ' ').slice(0, 150)}`,
    );
  }
  statementStats.clear();
};

async function measureEngine(sim: SpawnedBinanceSim, n: number): Promise<number[]> {
  const spec = databaseSpec();
  const bench = await openBenchDatabase(
    spec.kind === 'pglite' ? { kind: 'pglite', pglite: countStatements(await PGlite.create()) } : spec,
    'fanout',
  );
  const database = bench.handle;
  const vault = await openVault(parseKeyring(generateKeyEntry(1)));
  const accounts = accountsRepository(database.db);
  for (let i = 0; i < n; i += 1) {
    const id = randomUUID();
    const ownerId = `2${String(i).padStart(17, '0')}`;
    const apiKey = `bench${n}k${i}${randomUUID().slice(0, 8)}`;
    const secret = `bench${n}s${i}${randomUUID()}`;
    await sim.addAccount({ apiKey, secret, futures: { USDT: 100_000 } });
    await accounts.create({
      id,
      ownerId,
      guildId: GUILD,
      name: `bench-${i}`,
      exchangeId: 'binance',
      marketType: 'futures',
      mode: 'live',
      enabled: true,
      verified: true,
      maxDailyTrades: 50,
      apiKeyEnc: vault.encrypt(apiKey, { accountId: id, ownerId, field: 'apiKey' }),
      secretEnc: vault.encrypt(secret, { accountId: id, ownerId, field: 'secret' }),
      vaultKeyId: 1,
    });
  }
  const gateways = createGatewayFactory({
    vault,
    fetchImplementation: sim.fetchImplementation,
    paperStore: paperStateRepository(database.db),
    now: () => Date.now(),
    log: quiet,
    paperSlippageBps: 0,
    paperStartingBalanceUsd: 10_000,
    rateLimiters: new RateLimiterRegistry(),
  });
  const engine = new TradingEngine(createStore(database.db), gateways, systemClock, quiet, {
    ...defaultEngineSettings(`bench-${n}`),
    concurrency: CONCURRENCY,
  });
  await engine.start();
  const intake = createSignalIntake(createStore(database.db), systemClock, () => {});
  const times: number[] = [];
  let round = 0;
  /** One signal to every account: its fan-out time, and on how many accounts it placed (or why not). */
  const fanOut = async () => {
    round += 1;
    const ref = `bench-${n}-${round}`;
    await intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: ref,
      authorId: null,
      channelId: null,
      signal: signal(),
    });
    const cpuBefore = process.cpuUsage();
    const simCpuBefore = childCpuMs(sim);
    const report = await engine.runCycle();
    const cpu = process.cpuUsage(cpuBefore);
    const outcomes = await executeRows<{ status: string; reason: string | null; count: number }>(
      database.db,
      sql`select e.status, e.reason, count(*)::int as count from executions e join signals s on s.id = e.signal_id
        where s.source_ref = ${ref} group by e.status, e.reason`,
    );
    const placed = outcomes.find((row) => row.status === 'placed')?.count ?? 0;
    await closeAllPositions(sim, database);
    if (process.env.BENCH_VERBOSE)
      console.error(
        `  N=${n} round ${round}: ${report.fanOutMs.toFixed(0)} ms, placed ${placed}/${n} (cycle CPU: bot ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, simulator ${(childCpuMs(sim) - simCpuBefore).toFixed(0)} ms), weight ${JSON.stringify(await sim.usedWeight())}`,
      );
    return { ms: report.fanOutMs, placed, outcomes };
  };
  // Warm-up: markets, balances and each account's leverage on the symbol. Setting leverage costs the
  // IP's weight (2,400 a minute), so at N = 1,000 some accounts are skipped until a later round.
  for (let warm = 1; ; warm += 1) {
    const { placed, outcomes } = await fanOut();
    if (placed === n) break;
    if (warm === 5)
      throw new Error(
        `warm-up: ${placed} of ${n} accounts placed after 5 rounds: ${JSON.stringify(outcomes)}`,
      );
  }
  await profiler?.start();
  statementStats.clear();
  for (let run = 1; run <= RUNS; run += 1) {
    const { ms, placed, outcomes } = await fanOut();
    // A run that placed on fewer accounts than N measured something else (skips): no figure from it.
    if (placed !== n)
      throw new Error(`run ${run} placed entries on ${placed} of ${n} accounts: ${JSON.stringify(outcomes)}`);
    times.push(ms);
  }
  await profiler?.stop(`fanout-n${n}`);
  printStatements(RUNS);
  await engine.stop();
  gateways.close();
  await bench.close();
  return times;
}

/**
 * Between runs, outside the measured window: the run's positions end at their stops. A futures
 * account holds one bot position per symbol, so without this every later run would be a fan-out of
 * skips ('position-open-on-symbol'). The stops trigger on the exchange; the book is told directly,
 * since booking closes is the position sync's work, not what this benchmark times.
 */
async function closeAllPositions(sim: SpawnedBinanceSim, database: BenchDatabase['handle']): Promise<void> {
  await sim.setPrice('BTCUSDT', 44_000, 'futures');
  await sim.setPrice('BTCUSDT', 50_000, 'futures');
  await database.db.execute(
    sql`update positions set status = 'closed', close_reason = 'stop-loss', closed_at = now() where status = 'open'`,
  );
  await database.db.execute(
    sql`update orders set status = 'cancelled' where status in ('intent', 'unknown', 'open', 'partially-filled')`,
  );
}

async function measureNaive(sim: SpawnedBinanceSim, n: number): Promise<number> {
  const keys: { apiKey: string; secret: string }[] = [];
  for (let i = 0; i < n; i += 1) {
    const key = { apiKey: `naive${i}${randomUUID().slice(0, 8)}`, secret: `naive${i}${randomUUID()}` };
    await sim.addAccount({ ...key, futures: { USDT: 100_000 } });
    keys.push(key);
  }
  const started = performance.now();
  for (const key of keys) {
    const exchange = new ccxt.binance({
      ...key,
      fetchImplementation: sim.fetchImplementation,
      options: {
        defaultType: 'swap',
        fetchMarkets: { types: ['spot', 'linear'] },
        fetchCurrencies: false,
        fetchMargins: false,
      },
    });
    await exchange.loadMarkets();
    await exchange.fetchBalance();
    await exchange.setLeverage(5, 'BTC/USDT:USDT');
    const amount = Number(exchange.amountToPrecision('BTC/USDT:USDT', (100 * 5) / 50_000));
    await exchange.createOrder('BTC/USDT:USDT', 'market', 'buy', amount);
    await exchange.createOrder('BTC/USDT:USDT', 'market', 'sell', amount, undefined, {
      stopLossPrice: 45_000,
      reduceOnly: true,
    });
    await exchange.createOrder('BTC/USDT:USDT', 'market', 'sell', amount, undefined, {
      takeProfitPrice: 55_000,
      reduceOnly: true,
    });
  }
  return performance.now() - started;
}

const sim = await spawnBinanceSim({ markets: MARKETS });
try {
  await sim.setPrice('BTCUSDT', 50_000, 'both');
  await sim.inject({ kind: 'latency', path: '*', ms: LATENCY_MS });
  const results: Record<number, number[]> = {};
  for (const n of SIZES) {
    results[n] = await measureEngine(sim, n);
    console.log(
      `N=${n}: p50 ${percentile(results[n]!, 50).toFixed(0)} ms, max ${Math.max(...results[n]!).toFixed(0)} ms (${RUNS} runs, concurrency ${CONCURRENCY}, ${DB_KIND})`,
    );
  }
  if (!results[100] || !results[1_000] || !results[1]) process.exit(0);
  const naive = await measureNaive(sim, 100);
  const n100 = percentile(results[100]!, 50);
  console.log(`naive N=100: ${naive.toFixed(0)} ms (${(naive / n100).toFixed(0)}× slower than the engine)`);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(`peak RSS ${peakRssMiB.toFixed(0)} MiB`);
  console.log(
    JSON.stringify({
      bench: 'fanout',
      runs: RUNS,
      db: DB_KIND,
      n1Ms: Math.round(percentile(results[1]!, 50)),
      n100Ms: Math.round(n100),
      n1000Ms: Math.round(percentile(results[1_000]!, 50)),
      n1000MaxMs: Math.round(Math.max(...results[1_000]!)),
      naiveN100Ms: Math.round(naive),
      peakRssMiB: Math.round(peakRssMiB),
    }),
  );
} finally {
  await sim.close();
}
