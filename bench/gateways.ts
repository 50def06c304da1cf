/**
 * Memory per account gateway with shared markets, next to the naive approach (every ccxt instance
 * loading its own markets), against the Binance simulator serving ≥ 2,500 spot + linear markets.
 *
 *   npm run bench:gateways        (node --expose-gc --import tsx bench/gateways.ts)
 *
 * The simulator runs in a child process, so its memory is not in the figures. Memory is
 * heapUsed + external after forced GCs; per account = growth / accounts.
 */
import { randomUUID } from 'node:crypto';
import { createGatewayFactory, RateLimiterRegistry } from '../src/exchange/factory';
import type { GatewayAccount } from '../src/exchange/factory';
import { buildExchange } from '../src/exchange/ccxt/exchange';
import { MemoryPaperStore } from '../src/exchange/paper';
import { openVault } from '../src/vault/envelope';
import { generateKeyEntry, parseKeyring } from '../src/vault/keyring';
import { spawnBinanceSim } from '../test/sim/binance/client';

const ACCOUNTS = Number(process.env['BENCH_ACCOUNTS'] ?? 1000);
const NAIVE_SAMPLE = Number(process.env['BENCH_NAIVE'] ?? 100);
const MARKETS = Number(process.env['BENCH_MARKETS'] ?? 2500);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with --expose-gc (npm run bench:gateways)');
  process.exit(1);
}

const settle = async (): Promise<number> => {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
};

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const kib = (bytes: number): number => Math.round((bytes / 1024) * 10) / 10;

async function main(): Promise<void> {
  // Weight limits high enough that the naive half (100 × exchangeInfo) is not throttled.
  const sim = await spawnBinanceSim({ markets: MARKETS, weightLimit: 1_000_000, specFile: null });
  try {
    const vault = await openVault(parseKeyring(generateKeyEntry(1)));
    const rateLimiters = new RateLimiterRegistry();
    const factory = createGatewayFactory({
      vault,
      fetchImplementation: sim.fetchImplementation,
      paperStore: new MemoryPaperStore(),
      now: Date.now,
      log: { debug: () => {}, warn: () => {} },
      paperSlippageBps: 0,
      paperStartingBalanceUsd: 0,
      rateLimiters,
      maxAccounts: ACCOUNTS * 2,
    });

    // Stored accounts (encrypted keys), prepared before the baseline: they exist either way.
    const rows: GatewayAccount[] = Array.from({ length: ACCOUNTS + 1 }, (_, i) => {
      const id = randomUUID();
      const ownerId = `owner${i}`;
      const enc = (plain: string, field: 'apiKey' | 'secret') => vault.encrypt(plain, { accountId: id, ownerId, field });
      return {
        id,
        ownerId,
        exchangeId: 'binance',
        marketType: i % 2 === 0 ? 'futures' : 'spot',
        mode: 'live',
        apiKeyEnc: enc(`benchkey${i}`, 'apiKey'),
        secretEnc: enc(`benchsecret${i}`, 'secret'),
        passphraseEnc: null,
      };
    });

    // Warm-up: loads the shared markets once and JIT-compiles the path.
    const t0 = performance.now();
    const warm = factory.forAccount(rows[ACCOUNTS]!);
    const spotMarkets = (await factory.forAccount(rows[1]!).markets()).size;
    const futuresMarkets = (await warm.markets()).size;
    const loadMs = performance.now() - t0;
    const markets = spotMarkets + futuresMarkets;
    console.log(`simulator: ${markets} markets (${spotMarkets} spot + ${futuresMarkets} linear); shared load ${loadMs.toFixed(0)} ms`);

    const base = await settle();
    const gateways = [];
    const t1 = performance.now();
    for (let i = 0; i < ACCOUNTS; i++) {
      const gateway = factory.forAccount(rows[i]!);
      // Attaches the shared markets to the account's ccxt instance (references, not copies).
      await gateway.markets();
      gateways.push(gateway);
    }
    const buildMs = performance.now() - t1;
    const shared = (await settle()) - base;
    const perAccount = shared / ACCOUNTS;
    console.log(
      `shared markets: ${ACCOUNTS} account gateways: +${mib(shared)} → ${kib(perAccount)} KiB per account; ` +
        `${(buildMs / ACCOUNTS).toFixed(2)} ms per account`,
    );

    // Naive: each instance loads its own markets (same configuration otherwise).
    const naiveBase = await settle();
    const naive = [];
    const t2 = performance.now();
    for (let i = 0; i < NAIVE_SAMPLE; i++) {
      const exchange = buildExchange({
        exchangeId: 'binance',
        mode: 'live',
        marketType: i % 2 === 0 ? 'futures' : 'spot',
        limiter: rateLimiters.get('binance'),
        fetchImplementation: sim.fetchImplementation,
        credentials: { apiKey: `naivekey${i}`, secret: `naivesecret${i}` },
      });
      await exchange.loadMarkets();
      naive.push(exchange);
    }
    const naiveMs = performance.now() - t2;
    const naiveGrowth = (await settle()) - naiveBase;
    const naivePerAccount = naiveGrowth / NAIVE_SAMPLE;
    console.log(
      `naive: ${NAIVE_SAMPLE} instances each loading markets: +${mib(naiveGrowth)} → ${kib(naivePerAccount)} KiB per account; ` +
        `${(naiveMs / NAIVE_SAMPLE).toFixed(1)} ms per account`,
    );
    console.log(
      `goal < 1024 KiB per account: ${perAccount < 1024 * 1024 ? 'met' : 'NOT met'}; ` +
        `naive at ${ACCOUNTS} accounts would need ~${mib(naivePerAccount * ACCOUNTS)}, shared needs ~${mib(shared)}`,
    );
    // Keep both sets alive until measured.
    if (gateways.length + naive.length < 0) console.log('unreachable');
    factory.close();

    console.log(
      JSON.stringify({
        bench: 'gateways',
        accounts: ACCOUNTS,
        markets,
        perAccountKiB: kib(perAccount),
        naiveSample: NAIVE_SAMPLE,
        naivePerAccountKiB: kib(naivePerAccount),
      }),
    );
  } finally {
    await sim.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
