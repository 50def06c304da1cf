/** Wiring shared by the contract tests: a vault, a simulator, accounts, a factory. */
import { randomUUID } from 'node:crypto';
import { createGatewayFactory, RateLimiterRegistry } from '../../src/exchange/factory';
import type { GatewayAccount, GatewayFactory, GatewayFactoryOptions } from '../../src/exchange/factory';
import { MemoryPaperStore } from '../../src/exchange/paper';
import { openVault } from '../../src/vault/envelope';
import type { Vault } from '../../src/vault/envelope';
import { generateKeyEntry, parseKeyring } from '../../src/vault/keyring';
import { startBinanceSim } from '../sim/binance';
import type { BinanceSim, BinanceSimOptions } from '../sim/binance';
import type { MarketType, TradingMode } from '../../src/domain/account';

export const silentLog = { debug: () => {}, warn: () => {} };

export async function testVault(): Promise<Vault> {
  return openVault(parseKeyring(generateKeyEntry(1)));
}

export interface SimWorld {
  sim: BinanceSim;
  vault: Vault;
  factory: GatewayFactory;
  rateLimiters: RateLimiterRegistry;
  /** A new simulator account (own key and secret), funded, and its stored-account row for the factory. */
  account(options: {
    marketType: MarketType;
    mode?: TradingMode;
    spotUsdt?: number;
    futuresUsdt?: number;
    hedgeMode?: boolean;
    /** Encrypt this instead of the real secret (wrong-secret tests). */
    storedSecret?: string;
    positionMode?: 'one-way' | 'hedge';
  }): { apiKey: string; row: GatewayAccount };
  close(): Promise<void>;
}

let counter = 0;

export async function simWorld(
  simOptions: BinanceSimOptions = {},
  factoryOptions: Partial<GatewayFactoryOptions> = {},
): Promise<SimWorld> {
  const sim = await startBinanceSim(simOptions);
  const vault = await testVault();
  const rateLimiters = factoryOptions.rateLimiters ?? new RateLimiterRegistry();
  const factory = createGatewayFactory({
    vault,
    fetchImplementation: sim.fetchImplementation,
    paperStore: new MemoryPaperStore(),
    now: Date.now,
    log: silentLog,
    paperSlippageBps: 0,
    paperStartingBalanceUsd: 10_000,
    paperQuoteTtlMs: 0,
    rateLimiters,
    ...factoryOptions,
  });
  return {
    sim,
    vault,
    factory,
    rateLimiters,
    account(options) {
      counter += 1;
      const apiKey = `key${counter}${Math.random().toString(36).slice(2, 10)}`;
      const secret = `secret-${counter}-${Math.random().toString(36).slice(2)}`;
      sim.addAccount({
        apiKey,
        secret,
        spot: { USDT: options.spotUsdt ?? 10_000 },
        futures: { USDT: options.futuresUsdt ?? 10_000 },
        ...(options.hedgeMode ? { hedgeMode: true } : {}),
      });
      const id = randomUUID();
      const ownerId = `owner${counter}`;
      const enc = (plain: string, field: 'apiKey' | 'secret') => vault.encrypt(plain, { accountId: id, ownerId, field });
      const row: GatewayAccount = {
        id,
        ownerId,
        exchangeId: 'binance',
        marketType: options.marketType,
        mode: options.mode ?? 'live',
        apiKeyEnc: enc(apiKey, 'apiKey'),
        secretEnc: enc(options.storedSecret ?? secret, 'secret'),
        passphraseEnc: null,
        ...(options.positionMode ? { positionMode: options.positionMode } : {}),
      };
      return { apiKey, row };
    },
    async close() {
      factory.close();
      await sim.close();
    },
  };
}

/** Simulator market id of a unified symbol: SOL/USDT:USDT → SOLUSDT. */
export const simSymbol = (symbol: string): string => symbol.split(':')[0]!.replace('/', '');
