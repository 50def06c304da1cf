import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../../src/db/client';
import { executions, orders } from '../../../src/db/schema';
import { defaultEngineSettings, TradingEngine } from '../../../src/trading/engine';
import { databaseKinds } from '../../support/db';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

const ACCOUNTS = 30;

// Several processes on one PostgreSQL: only meaningful (and only possible) on a real server.
describe.skipIf(!databaseKinds.includes('postgres'))('three engine instances on one PostgreSQL', () => {
  let world: TradingWorld;
  const handles: DatabaseHandle[] = [];
  beforeAll(async () => {
    world = await tradingWorld({ kind: 'postgres', accounts: ACCOUNTS, clockFactor: 5 });
  }, 120_000);
  afterAll(async () => {
    for (const handle of handles) await handle.close();
    await world.close();
  });

  it('executes each (signal, account, leg) exactly once', async () => {
    const url = (world.db as DatabaseHandle & { url?: string }).url!;
    const engines = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        // Each instance has its own connection pool, as separate processes would.
        const handle = await openDatabase({ url, maxConnections: 5 });
        handles.push(handle);
        const engine = new TradingEngine(handle.db, world.gateways, world.clock, world.log, {
          ...defaultEngineSettings(`instance-${name}`),
          maxSignalLagMs: 60 * 60_000,
          concurrency: 8,
        });
        await engine.start();
        return engine;
      }),
    );
    await world.intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: 'multi-instance',
      authorId: '200000000000099999',
      channelId: null,
      signal: { symbol: 'ETH/USDT', side: 'short', entryType: 'market', entries: [], stopLoss: 3_300, takeProfits: [2_800], leverage: 3 },
    });
    // The first instance fans out; the others join while it works through its first batch.
    const [first, ...others] = engines;
    const firstCycle = first!.runCycle();
    await expect.poll(async () => (await world.db.db.select().from(executions)).length, { timeout: 30_000 }).toBe(ACCOUNTS);
    await Promise.all([firstCycle, ...others.map((engine) => engine.runCycle())]);
    await Promise.all(engines.map((engine) => engine.runCycle()));

    const executionRows = await world.db.db.select().from(executions);
    expect(executionRows).toHaveLength(ACCOUNTS);
    expect(executionRows.every((row) => row.status === 'placed')).toBe(true);
    // The work really was shared.
    expect(new Set(executionRows.map((row) => row.claimedBy)).size).toBeGreaterThan(1);

    const orderRows = await world.db.db.select().from(orders);
    expect(orderRows).toHaveLength(ACCOUNTS * 3);
    for (const account of world.accounts) {
      const apiKeyOrders = orderRows.filter((row) => row.accountId === account.id);
      expect(apiKeyOrders.map((row) => row.leg).sort()).toEqual(['e0', 's0', 't0']);
    }
    // On the exchange: one entry order per account, one stop and one target, nothing twice.
    const keys = new Set(world.sim.requestLog.map((entry) => entry.apiKey).filter(Boolean) as string[]);
    let entries = 0;
    for (const apiKey of keys) {
      const onExchange = world.sim.orders(apiKey);
      entries += onExchange.futures.length;
      expect(onExchange.futures.length).toBeLessThanOrEqual(1);
      expect(onExchange.algo.length).toBeLessThanOrEqual(2);
    }
    expect(entries).toBe(ACCOUNTS);
  }, 120_000);
});
