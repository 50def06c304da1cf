import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executions, orders } from '../../../src/db/schema';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import type { GatewayProvider } from '../../../src/trading/engine';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

const ACCOUNTS = 200;
const NEVER = new Promise<never>(() => {});

/**
 * A process "killed" after `limit` entry orders: the order that trips the switch still reaches the
 * exchange, and from then on no gateway call of this engine ever answers, so it writes nothing more,
 * exactly as if the process had died there.
 */
function killSwitch(inner: GatewayProvider, limit: number) {
  let placed = 0;
  const state = { dead: false };
  const provider: GatewayProvider = {
    invalidate: (id) => inner.invalidate(id),
    forAccount(account) {
      const gateway = inner.forAccount(account);
      return new Proxy(gateway, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (state.dead) return NEVER;
            const call = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (property === 'placeOrder' && (args[0] as { clientOrderId: string }).clientOrderId && ++placed >= limit) {
              state.dead = true;
              return call.then(
                () => NEVER,
                () => NEVER,
              );
            }
            return call;
          };
        },
      }) as ExchangeGateway;
    },
  };
  return { provider, state };
}

describe('fault suite: 200 accounts, lost answers, 5xx, -1021 and a crash half-way', () => {
  let world: TradingWorld;
  beforeAll(async () => {
    world = await tradingWorld({ accounts: ACCOUNTS, clockFactor: 5, simOptions: { seed: 7 } });
  }, 120_000);
  afterAll(() => world.close());

  it('ends with exactly one order per (signal, account, leg) and a database that knows every order', async () => {
    const { sim } = world;
    // Faults on entry orders only (exits go to the algo endpoint): drawn per request, seeded.
    sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', probability: 0.1 });
    sim.inject({ kind: 'http-5xx', path: '/fapi/v1/order', method: 'POST', probability: 0.05 / 0.9 });
    sim.inject({ kind: 'timestamp', path: '/fapi/v1/order', method: 'POST', probability: 0.01 / 0.85 });
    // Binance may deny a fresh order's existence for a while.
    sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 20_000 });

    const settings = { maxSignalLagMs: 60 * 60_000, concurrency: 32, instanceName: 'fault-suite' };
    const kill = killSwitch(world.gateways, ACCOUNTS / 2);
    const first = world.engine({ ...settings, gateways: kill.provider });
    await first.start();
    const queued = await world.intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: 'fault-suite-signal',
      authorId: '200000000000099999',
      channelId: null,
      signal: {
        symbol: 'BTC/USDT',
        side: 'long',
        entryType: 'market',
        entries: [],
        stopLoss: 48_000,
        takeProfits: [53_000],
        leverage: 5,
      },
    });
    expect(queued.kind).toBe('queued');
    void first.runCycle().catch(() => {});
    await expect
      .poll(
        async () => {
          if (process.env.DEBUG_LOG) {
            const rows = await world.db.db.select().from(executions);
            const counts: Record<string, number> = {};
            for (const row of rows) counts[`${row.status}:${row.reason}`] = (counts[`${row.status}:${row.reason}`] ?? 0) + 1;
            console.log(JSON.stringify(counts), sim.requestLog.length, world.logLines.slice(-3).join(''));
          }
          return kill.state.dead;
        },
        { timeout: 60_000, interval: process.env.DEBUG_LOG ? 3000 : 50 },
      )
      .toBe(true);
    // Let the dead engine's last database writes land, as a killed process's committed work would.
    await new Promise((resolve) => setTimeout(resolve, 300));

    // The process is dead: its heartbeat stops. A new process (a new instance id, as after any
    // restart) takes its in-flight executions over once the heartbeat is older than the threshold.
    await first.instance.halt();
    world.clock.advance(first.instance.settings.takeoverAfterMs + 1_000);
    const second = world.engine(settings);
    await second.start();
    for (let cycle = 0; cycle < 20; cycle += 1) {
      await second.runCycle();
      const open = (await world.db.db.select().from(executions)).filter(
        (row) => row.status === 'pending' || row.status === 'in-flight',
      );
      if (open.length === 0) break;
    }

    const executionRows = await world.db.db.select().from(executions);
    if (process.env.DEBUG_LOG) {
      const counts: Record<string, number> = {};
      for (const row of executionRows) counts[`${row.status}:${row.reason}`] = (counts[`${row.status}:${row.reason}`] ?? 0) + 1;
      console.log('FINAL', JSON.stringify(counts));
      console.log(world.logLines.filter((line) => line.includes('"level":40') || line.includes('"level":50')).slice(0, 5).join(''));
    }
    const orderRows = await world.db.db.select().from(orders);
    expect(executionRows).toHaveLength(ACCOUNTS);
    // Every account ends placed, or not placed with a reason its owner will see.
    for (const row of executionRows) {
      expect(['placed', 'not-placed', 'failed']).toContain(row.status);
      if (row.status !== 'placed') expect(row.reason).toBeTruthy();
    }
    // No row left unknown.
    expect(orderRows.filter((row) => row.status === 'intent' || row.status === 'unknown')).toEqual([]);

    // The exchange side: at most one order per (signal, account, leg), each known to the database.
    const byClientId = new Map(orderRows.map((row) => [row.clientOrderId, row]));
    let exchangeOrders = 0;
    const keys = sim.requestLog.map((entry) => entry.apiKey).filter((key): key is string => key !== undefined);
    for (const apiKey of new Set(keys)) {
      const onExchange = sim.orders(apiKey);
      const ids = [
        ...onExchange.futures.map((order) => order.clientOrderId),
        ...onExchange.algo.map((order) => order.clientAlgoId),
      ];
      expect(new Set(ids).size).toBe(ids.length);
      for (const order of onExchange.futures) {
        exchangeOrders += 1;
        const row = byClientId.get(order.clientOrderId);
        expect(row, `exchange order ${order.clientOrderId} unknown to the database`).toBeDefined();
        expect(row?.status).toBe(order.status === 'FILLED' ? 'filled' : order.status === 'NEW' ? 'open' : row?.status);
      }
      for (const order of onExchange.algo) {
        const row = byClientId.get(order.clientAlgoId);
        expect(row, `exchange algo order ${order.clientAlgoId} unknown to the database`).toBeDefined();
      }
    }
    const placed = executionRows.filter((row) => row.status === 'placed').length;
    expect(exchangeOrders).toBeGreaterThanOrEqual(placed);
    // The faults really happened.
    const faults = sim.requestLog.filter((entry) => entry.fault !== undefined).map((entry) => entry.fault);
    expect(faults).toContain('drop-response');
    expect(faults).toContain('http-5xx');
  }, 180_000);
});
