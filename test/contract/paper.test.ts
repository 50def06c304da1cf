/**
 * The paper gateway: the same contract suite, prices from the Binance simulator's PUBLIC endpoints
 * (through the keyless shared ccxt instance), wallets in `paper_state` on a PGlite database.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketType } from '../../src/domain/account';
import { accountsRepository } from '../../src/db/repositories/accounts';
import { paperStateRepository } from '../../src/db/repositories/paperState';
import type { DatabaseHandle } from '../../src/db/client';
import { createGatewayFactory, RateLimiterRegistry } from '../../src/exchange/factory';
import type { GatewayFactory } from '../../src/exchange/factory';
import { PaperGateway } from '../../src/exchange/paper';
import { startBinanceSim } from '../sim/binance';
import type { BinanceSim } from '../sim/binance';
import { freshDatabase } from '../support/db';
import { gatewayContract } from './gateway.contract';
import type { ContractHarness } from './gateway.contract';
import { silentLog, simSymbol, testVault } from './harness';

interface PaperWorld {
  sim: BinanceSim;
  db: DatabaseHandle;
  factory: (slippageBps?: number) => GatewayFactory;
  /** A paper account row in the database (paper_state references it). */
  account(marketType: MarketType): Promise<{ id: string; ownerId: string; exchangeId: string; marketType: MarketType; mode: 'paper'; apiKeyEnc: null; secretEnc: null; passphraseEnc: null }>;
  close(): Promise<void>;
}

async function paperWorld(): Promise<PaperWorld> {
  const sim = await startBinanceSim();
  sim.setPrices({ SOLUSDT: 100, BTCUSDT: 50_000 });
  const db = await freshDatabase();
  const vault = await testVault();
  const accounts = accountsRepository(db.db);
  const factories: GatewayFactory[] = [];
  let n = 0;
  return {
    sim,
    db,
    factory(slippageBps = 0) {
      const factory = createGatewayFactory({
        vault,
        fetchImplementation: sim.fetchImplementation,
        paperStore: paperStateRepository(db.db),
        now: Date.now,
        log: silentLog,
        paperSlippageBps: slippageBps,
        paperStartingBalanceUsd: 10_000,
        paperQuoteTtlMs: 0,
        rateLimiters: new RateLimiterRegistry(),
      });
      factories.push(factory);
      return factory;
    },
    async account(marketType) {
      n += 1;
      const id = randomUUID();
      const ownerId = `paper-owner-${n}`;
      await accounts.create({ id, ownerId, guildId: 'g1', name: `paper ${n}`, exchangeId: 'binance', marketType, mode: 'paper' });
      return { id, ownerId, exchangeId: 'binance', marketType, mode: 'paper', apiKeyEnc: null, secretEnc: null, passphraseEnc: null };
    },
    async close() {
      for (const factory of factories) factory.close();
      await db.close();
      await sim.close();
    },
  };
}

async function paperHarness(marketType: MarketType): Promise<ContractHarness> {
  const world = await paperWorld();
  const factory = world.factory();
  const symbol = marketType === 'spot' ? 'SOL/USDT' : 'SOL/USDT:USDT';
  return {
    label: `paper ${marketType}`,
    marketType,
    symbol,
    price: 100,
    entryQuantity: marketType === 'spot' ? 1 : 2,
    legQuantity: marketType === 'spot' ? 0.4 : 1,
    tiny: marketType === 'spot' ? { symbol: 'SOL/USDT', quantity: 0.01 } : { symbol: 'BTC/USDT:USDT', quantity: 0.001 },
    funded: 10_000,
    async setPrice(price) {
      world.sim.setPrice(simSymbol(symbol), price);
    },
    async subject() {
      const gateway = factory.forAccount(await world.account(marketType));
      if (!(gateway instanceof PaperGateway)) throw new Error('expected a paper gateway');
      return {
        gateway,
        settle: async () => {
          await gateway.tick();
        },
        leverageRequests: () => null,
      };
    },
    close: () => world.close(),
  };
}

describe('gateway contract: paper spot (simulator prices, PGlite wallet)', () => {
  gatewayContract(() => paperHarness('spot'));
});

describe('gateway contract: paper futures (simulator prices, PGlite wallet)', () => {
  gatewayContract(() => paperHarness('futures'));
});

describe('paper gateway specifics', () => {
  let world: PaperWorld;

  beforeAll(async () => {
    world = await paperWorld();
  });
  afterAll(async () => {
    await world.close();
  });

  it('never sends a signed request: only public market data reaches the exchange', async () => {
    const before = world.sim.requestLog.length;
    const gateway = world.factory().forAccount(await world.account('futures'));
    await gateway.ensureLeverage('SOL/USDT:USDT', 10, 'cross');
    await gateway.placeOrder({ clientOrderId: 'pub1', symbol: 'SOL/USDT:USDT', side: 'buy', type: 'market', quantity: 1, reduceOnly: false });
    await gateway.balance();
    const sent = world.sim.requestLog.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((e) => e.apiKey === undefined)).toBe(true);
    expect(sent.every((e) => e.method === 'GET')).toBe(true);
  });

  it('keeps the wallet in the database: a new factory (a restart) continues where the last left off', async () => {
    world.sim.setPrice('SOLUSDT', 100);
    const row = await world.account('futures');
    const first = world.factory().forAccount(row);
    await first.ensureLeverage('SOL/USDT:USDT', 5, 'isolated');
    await first.placeOrder({ clientOrderId: 'rs1', symbol: 'SOL/USDT:USDT', side: 'buy', type: 'market', quantity: 3, reduceOnly: false });
    await first.placeOrder({ clientOrderId: 'rs2', symbol: 'SOL/USDT:USDT', side: 'sell', type: 'stop-loss', triggerPrice: 90, quantity: 3, reduceOnly: true });

    const restarted = world.factory().forAccount(row);
    expect(await restarted.positions()).toMatchObject([{ symbol: 'SOL/USDT:USDT', side: 'long', quantity: 3, entryPrice: 100, leverage: 5 }]);
    expect((await restarted.openOrders()).map((o) => o.clientOrderId)).toEqual(['rs2']);
    world.sim.setPrice('SOLUSDT', 89);
    expect(await restarted.fetchOrder('SOL/USDT:USDT', 'rs2')).toMatchObject({ status: 'filled', averagePrice: 89 });
    expect(await restarted.positions()).toEqual([]);
    const balance = await restarted.balance();
    // Lost 3 × 11 plus taker fees (0.05 %) on 300 and 267.
    expect(balance.equity).toBeCloseTo(10_000 - 33 - 0.15 - 0.1335, 6);
    const stored = await paperStateRepository(world.db.db).load(row.id);
    expect(stored?.trades).toHaveLength(2);
  });

  it('applies slippage and fees to market fills', async () => {
    world.sim.setPrice('SOLUSDT', 100);
    const gateway = world.factory(50).forAccount(await world.account('futures'));
    const quote = await gateway.quote('SOL/USDT:USDT');
    const fill = await gateway.placeOrder({ clientOrderId: 'slip1', symbol: 'SOL/USDT:USDT', side: 'buy', type: 'market', quantity: 1, reduceOnly: false });
    expect(fill.averagePrice).toBeCloseTo(quote.ask * 1.005, 2);
    expect(fill.fees).toHaveLength(1);
    expect(fill.fees[0]?.currency).toBe('USDT');
    expect(fill.fees[0]?.amount).toBeCloseTo(fill.averagePrice! * 0.0005, 6);
    expect(fill.fees[0]?.quoteValue).toBe(fill.fees[0]?.amount);
  });

  it('spot: cannot sell what it does not hold, nor spend more than it has', async () => {
    world.sim.setPrice('SOLUSDT', 100);
    const gateway = world.factory().forAccount(await world.account('spot'));
    await expect(
      gateway.placeOrder({ clientOrderId: 'sp1', symbol: 'SOL/USDT', side: 'sell', type: 'market', quantity: 1, reduceOnly: false }),
    ).rejects.toMatchObject({ kind: 'insufficient-funds' });
    await expect(
      gateway.placeOrder({ clientOrderId: 'sp2', symbol: 'SOL/USDT', side: 'buy', type: 'market', quantity: 200, reduceOnly: false }),
    ).rejects.toMatchObject({ kind: 'insufficient-funds' });
  });

  it('a resting limit order fills at its price when the market reaches it', async () => {
    world.sim.setPrice('SOLUSDT', 100);
    const gateway = world.factory().forAccount(await world.account('futures'));
    await gateway.placeOrder({ clientOrderId: 'lim1', symbol: 'SOL/USDT:USDT', side: 'buy', type: 'limit', price: 97, quantity: 2, reduceOnly: false });
    world.sim.setPrice('SOLUSDT', 96.5);
    expect(await gateway.fetchOrder('SOL/USDT:USDT', 'lim1')).toMatchObject({ status: 'filled', averagePrice: 97 });
    expect(await gateway.positions()).toMatchObject([{ quantity: 2, entryPrice: 97 }]);
  });
});
