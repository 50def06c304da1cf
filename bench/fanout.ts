/**
 * npm run bench:fanout — one market signal with a stop and a take-profit to N = 1, 100 and 1,000
 * accounts on the Binance simulator (a child process) with 50 ms added to every request, on PGlite,
 * gateways warm (markets loaded, balances synced, leverage set by a warm-up signal). Time is from the
 * claim to the last leg acknowledged (the cycle's fan-out), p50 and max over 5 runs, next to a naive
 * bot measured once at N = 100: accounts one after another, each a fresh ccxt instance with its own
 * loadMarkets. Prints the figures and a final JSON line.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import ccxt from 'ccxt';
import { openDatabase } from '../src/db/client';
import { accountsRepository } from '../src/db/repositories/accounts';
import { paperStateRepository } from '../src/db/repositories/paperState';
import { RateLimiterRegistry } from '../src/exchange/ccxt/rateLimiter';
import { createGatewayFactory } from '../src/exchange/factory';
import { createLogger } from '../src/logger';
import { systemClock } from '../src/trading/clock';
import { defaultEngineSettings, TradingEngine } from '../src/trading/engine';
import { createSignalIntake } from '../src/trading/signalIntake';
import { generateKeyEntry, openVault, parseKeyring } from '../src/vault';
import { spawnBinanceSim, type SpawnedBinanceSim } from '../test/sim/binance/client';

const RUNS = 5;
const LATENCY_MS = 50;
const MARKETS = 2_500;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 128);
const GUILD = '100000000000000001';

const quiet = process.env.BENCH_LOG
  ? createLogger({ level: process.env.BENCH_LOG, destination: process.stderr })
  : createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
const SIZES = (process.env.BENCH_SIZES ?? '1,100,1000').split(',').map(Number);
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

async function measureEngine(sim: SpawnedBinanceSim, n: number): Promise<number[]> {
  const database = await openDatabase({ pglite: await (await import('@electric-sql/pglite')).PGlite.create() });
  await database.migrate();
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
  const engine = new TradingEngine(database.db, gateways, systemClock, quiet, {
    ...defaultEngineSettings(`bench-${n}`),
    concurrency: CONCURRENCY,
  });
  await engine.start();
  const intake = createSignalIntake(database.db, systemClock, () => {});
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run += 1) {
    await intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: `bench-${n}-${run}`,
      authorId: null,
      channelId: null,
      signal: signal(),
    });
    const report = await engine.runCycle();
    const elapsed = report.fanOutMs;
    if (run > 0) times.push(elapsed); // run 0 warms: markets, balances, leverage per account
    if (process.env.BENCH_VERBOSE) console.error(`  N=${n} run ${run}: ${elapsed.toFixed(0)} ms, weight ${JSON.stringify(await sim.usedWeight())}`);
  }
  gateways.close();
  await database.close();
  return times;
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
      options: { defaultType: 'swap', fetchMarkets: { types: ['spot', 'linear'] }, fetchCurrencies: false, fetchMargins: false },
    });
    await exchange.loadMarkets();
    await exchange.fetchBalance();
    await exchange.setLeverage(5, 'BTC/USDT:USDT');
    const amount = Number(exchange.amountToPrecision('BTC/USDT:USDT', (100 * 5) / 50_000));
    await exchange.createOrder('BTC/USDT:USDT', 'market', 'buy', amount);
    await exchange.createOrder('BTC/USDT:USDT', 'market', 'sell', amount, undefined, { stopLossPrice: 45_000, reduceOnly: true });
    await exchange.createOrder('BTC/USDT:USDT', 'market', 'sell', amount, undefined, { takeProfitPrice: 55_000, reduceOnly: true });
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
      `N=${n}: p50 ${percentile(results[n]!, 50).toFixed(0)} ms, max ${Math.max(...results[n]!).toFixed(0)} ms (${RUNS} runs, concurrency ${CONCURRENCY})`,
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
      db: 'pglite',
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
