import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { DatabaseHandle } from '../../src/db/client';
import { accountsRepository, type AccountRow, type NewAccount } from '../../src/db/repositories/accounts';
import { guildsRepository } from '../../src/db/repositories/guilds';
import { paperStateRepository } from '../../src/db/repositories/paperState';
import { createGatewayFactory, type GatewayFactory } from '../../src/exchange/factory';
import { RateLimiterRegistry } from '../../src/exchange/ccxt/rateLimiter';
import { createLogger, type Logger } from '../../src/logger';
import { defaultEngineSettings, TradingEngine, type EngineSettings, type GatewayProvider } from '../../src/trading/engine';
import type { TradeSignal } from '../../src/domain/signal';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { generateKeyEntry, openVault, parseKeyring, type Vault } from '../../src/vault';
import { startBinanceSim, type AccountRules, type BinanceSim } from '../sim/binance';
import { acceleratedClock, type TestClock } from './clock';
import { freshDatabase, type DatabaseKind } from './db';
import { createStore } from '../../src/db/store';

export const GUILD = '100000000000000001';

/** Captures log lines so tests can look for secrets in them. */
export function capturingLog(level = 'info'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ destination, level }), lines };
}

export interface TradingWorld {
  db: DatabaseHandle;
  sim: BinanceSim;
  clock: TestClock;
  vault: Vault;
  gateways: GatewayFactory;
  /** The Binance weight budget every gateway of this world shares (as one process's would). */
  rateLimiters: RateLimiterRegistry;
  log: Logger;
  logLines: string[];
  accounts: AccountRow[];
  engine(overrides?: Partial<EngineSettings> & { gateways?: GatewayProvider }): TradingEngine;
  intake: ReturnType<typeof createSignalIntake>;
  /** A /signal in GUILD by a caller; answers the signal id (throws when it is not queued). */
  submit(signal: TradeSignal, ref: string): Promise<string>;
  /** The simulator's API key of an account (decrypted from its row). */
  apiKeyOf(account: AccountRow): string;
  /** `rules`: what Binance decides about the simulated futures account (leverage limit, trading rules). */
  addAccount(overrides?: Partial<NewAccount> & { funds?: number; hedgeMode?: boolean; rules?: Partial<AccountRules> }): Promise<AccountRow>;
  close(): Promise<void>;
}

/**
 * A database, the Binance simulator and the real ccxt gateway factory, all on one accelerated
 * clock (the simulator's shifted by `simClockOffsetMs`), with `accounts` funded futures accounts
 * enabled in GUILD.
 */
export async function tradingWorld(options: {
  kind?: DatabaseKind;
  accounts?: number;
  marketType?: 'spot' | 'futures';
  clockFactor?: number;
  /** The exchange's clock runs this far ahead of the bot's host (negative: the host is ahead). */
  simClockOffsetMs?: number;
  simOptions?: Parameters<typeof startBinanceSim>[0];
}): Promise<TradingWorld> {
  const clock = acceleratedClock(options.clockFactor ?? 10);
  const db = await freshDatabase(options.kind ?? 'pglite');
  const simOffset = options.simClockOffsetMs ?? 0;
  const sim = await startBinanceSim({ now: () => clock.now() + simOffset, ...options.simOptions });
  sim.setPrices({ BTCUSDT: 50_000, ETHUSDT: 3_000 }, 'both');
  const vault = await openVault(parseKeyring(generateKeyEntry(1)));
  const { log, lines } = capturingLog();
  const rateLimiters = new RateLimiterRegistry(clock);
  const gateways = createGatewayFactory({
    vault,
    fetchImplementation: sim.fetchImplementation,
    socketAgent: sim.socketAgent,
    paperStore: paperStateRepository(db.db),
    now: () => clock.now(),
    log,
    paperSlippageBps: 0,
    paperStartingBalanceUsd: 10_000,
    rateLimiters,
    // On an accelerated clock a busy machine's real delays are multiplied: allow Binance's maximum.
    recvWindowMs: 60_000,
  });
  const repo = accountsRepository(db.db);
  await guildsRepository(db.db).update(GUILD, { feedChannelId: '300000000000000001' });
  const marketType = options.marketType ?? 'futures';
  let counter = 0;
  const addAccount: TradingWorld['addAccount'] = async (overrides = {}) => {
    counter += 1;
    const id = randomUUID();
    const ownerId = overrides.ownerId ?? `2000000000000${String(counter).padStart(5, '0')}`;
    const apiKey = `key${counter}${randomUUID().replace(/-/g, '')}`;
    const secret = `secret${counter}${randomUUID().replace(/-/g, '')}`;
    const funds = overrides.funds ?? 10_000;
    sim.addAccount({
      apiKey,
      secret,
      ...(marketType === 'futures' ? { futures: { USDT: funds } } : { spot: { USDT: funds } }),
      ...(overrides.hedgeMode ? { hedgeMode: true } : {}),
      ...(overrides.rules ? { rules: overrides.rules } : {}),
    });
    const { funds: _funds, hedgeMode: _hedge, rules: _rules, ...fields } = overrides;
    return repo.create({
      id,
      ownerId,
      guildId: GUILD,
      name: `acct-${counter}`,
      exchangeId: 'binance',
      marketType,
      mode: 'live',
      enabled: true,
      verified: true,
      apiKeyEnc: vault.encrypt(apiKey, { accountId: id, ownerId, field: 'apiKey' }),
      secretEnc: vault.encrypt(secret, { accountId: id, ownerId, field: 'secret' }),
      vaultKeyId: 1,
      apiKeyHint: `${apiKey.slice(0, 4)}…${apiKey.slice(-4)}`,
      ...fields,
    });
  };
  const accounts: AccountRow[] = [];
  for (let i = 0; i < (options.accounts ?? 0); i += 1) accounts.push(await addAccount());
  // Takeover after 30 s of REAL time: on an accelerated clock a busy machine's stalls are multiplied
  // too, and a single-process test must not see its own heartbeat lapse. Multi-process tests set 30 s.
  const settings = { ...defaultEngineSettings('test-instance'), takeoverAfterMs: 30_000 * (options.clockFactor ?? 10) };
  const store = createStore(db.db);
  const intake = createSignalIntake(store, clock, () => {});
  // Engines made here stop beating when the world closes (one whose cycle never ends included).
  const engines: TradingEngine[] = [];
  return {
    db,
    sim,
    clock,
    vault,
    gateways,
    rateLimiters,
    log,
    logLines: lines,
    accounts,
    engine: (overrides = {}) => {
      const { gateways: provider, ...rest } = overrides;
      const engine = new TradingEngine(store, provider ?? gateways, clock, log, { ...settings, ...rest });
      engines.push(engine);
      return engine;
    },
    intake,
    async submit(signal, ref) {
      const queued = await intake.submit({ guildId: GUILD, source: 'command', sourceRef: ref, authorId: '200000000000099999', channelId: null, signal });
      if (queued.kind !== 'queued') throw new Error(`signal not queued: ${JSON.stringify(queued)}`);
      return queued.signalId;
    },
    apiKeyOf: (account) => vault.decrypt(account.apiKeyEnc!, { accountId: account.id, ownerId: account.ownerId, field: 'apiKey' }).reveal(),
    addAccount,
    async close() {
      for (const engine of engines) await engine.instance.stop();
      gateways.close();
      await sim.close();
      await db.close();
    },
  };
}
