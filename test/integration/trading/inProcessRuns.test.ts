import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { dailyStats, executions, orders } from '../../../src/db/schema';
import { ExchangeError } from '../../../src/exchange/errors';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import type { GatewayProvider } from '../../../src/trading/engine';
import { withGatewayHooks } from '../../support/gateways';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

/**
 * One process, several paths resuming work (the signal path, the beside passes, the takeover of
 * dead processes' work). Invariants: an execution never runs twice at once (a market entry would
 * fill twice); a process never spins on its own claims; a resumed execution does not count
 * against itself. Found by an adversarial review; each test failed before its fix.
 */

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const gate = () => {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
};

describe('runs of one process', () => {
  it('an execution released early by its run and resumed by a beside pass is not run a third time beside the second (one fill)', { timeout: 120_000 }, async () => {
    world = await tradingWorld({ accounts: 2, clockFactor: 10 });
    const w = world;
    const [X, Y] = w.accounts as [typeof w.accounts[0], typeof w.accounts[0]];
    const apiKeyX = w.vault.decrypt(X.apiKeyEnc!, { accountId: X.id, ownerId: X.ownerId, field: 'apiKey' }).reveal();
    let phase = 0;
    let xPlaced = 0;
    let firstThrown = false;
    const gateY = gate();
    const hold2 = gate();
    const hold3 = gate();
    let run3Seen = false;
    const provider: GatewayProvider = {
      invalidate: (id) => w.gateways.invalidate(id),
      forAccount(row) {
        const inner = w.gateways.forAccount(row);
        return new Proxy(inner, {
          get(target, prop) {
            if (prop === 'placeOrder') {
              return async (intent: Parameters<ExchangeGateway['placeOrder']>[0], options: Parameters<ExchangeGateway['placeOrder']>[1] = {}) => {
                if (row.id === X.id && intent.type === 'market') {
                  if (!firstThrown) {
                    firstThrown = true;
                    await options.onStamp?.(await target.serverTime());
                    throw new ExchangeError('unknown-outcome', 'answer lost (injected)');
                  }
                  xPlaced += 1;
                }
                if (row.id === Y.id && intent.type === 'market') {
                  await gateY.promise;
                  const state = await target.placeOrder(intent, options);
                  // A stall: the heartbeat lapses, the process continues under a new id.
                  (engine.instance as unknown as { lastBeatAt: number }).lastBeatAt = w.clock.now() - 200_000;
                  await engine.instance.beat();
                  phase = 3;
                  return state;
                }
                return target.placeOrder(intent, options);
              };
            }
            if (prop === 'serverTime' && row.id === X.id) {
              return async () => {
                if (phase === 1) {
                  phase = 2;
                  gateY.open();
                  await hold2.promise;
                } else if (phase === 3) {
                  phase = 4;
                  run3Seen = true;
                  hold3.promise.then(() => undefined);
                  await hold3.promise;
                }
                return target.serverTime();
              };
            }
            const value = Reflect.get(target, prop, target) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
    };
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000, gateways: provider });
    await engine.start();
    const running = (engine as unknown as { runningExecutions: Map<string, symbol> }).runningExecutions;
    const queued = await w.intake.submit({
      guildId: GUILD, source: 'command', sourceRef: 'dbl', authorId: '200000000000099999', channelId: null,
      signal: { symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 48_000, takeProfits: [53_000], leverage: 2 },
    });
    if (queued.kind !== 'queued') throw new Error('not queued');
    const cycle = engine.runCycle();
    // Run 1 of X ends (answer unknown) while Y is held in the same batch.
    let xId: string | undefined;
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      const [e0] = await w.db.db.select().from(orders).where(eq(orders.accountId, X.id));
      if (firstThrown && e0 && e0.status === 'unknown') {
        xId = e0.executionId;
        if (!running.has(xId)) break;
      }
    }
    phase = 1; // the next serverTime of X is a beside-pass run (run 2)
    // wait until run 3 appears or give up
    const deadline = Date.now() + 20_000;
    while (!run3Seen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Past the decidable point (sentAt + 61 s), let both runs go.
    await w.clock.sleep(70_000);
    hold2.open();
    hold3.open();
    await cycle;
    await engine.runCycle();
    const [entry] = await w.db.db.select().from(orders).where(eq(orders.accountId, X.id));
    const onExchange = w.sim.orders(apiKeyX).futures.filter((o) => o.clientOrderId === entry!.clientOrderId);
    expect(xPlaced).toBeGreaterThan(0);
    expect(run3Seen).toBe(false);
    expect(onExchange.length).toBeLessThanOrEqual(1);
  });

  it('a process whose heartbeat went stale while its execution hangs does not spin on its own claims', { timeout: 120_000 }, async () => {
    world = await tradingWorld({ accounts: 1, clockFactor: 10 });
    const w = world;
    let reached = false;
    const hung = withGatewayHooks(w.gateways, {
      ensureLeverage: () => async () => {
        reached = true;
        // the heartbeat write stops succeeding (here: stopped); the process keeps running
        await a.instance.halt();
        return new Promise<void>(() => {});
      },
    });
    const a = w.engine({ maxSignalLagMs: 3_600_000, takeoverAfterMs: 30_000, gateways: hung });
    await a.start();
    const trading = (a as unknown as { trading: { claimExecutions: (...x: unknown[]) => Promise<unknown[]> } }).trading;
    const original = trading.claimExecutions.bind(trading);
    let calls = 0;
    trading.claimExecutions = async (...args: unknown[]) => {
      calls += 1;
      return original(...args);
    };
    const queued = await w.intake.submit({
      guildId: GUILD, source: 'command', sourceRef: 'r1', authorId: '200000000000099999', channelId: null,
      signal: { symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 48_000, takeProfits: [53_000], leverage: 2 },
    });
    if (queued.kind !== 'queued') throw new Error('not queued');
    void a.runCycle();
    while (!reached) await new Promise((r) => setTimeout(r, 20));
    const before = calls;
    await new Promise((r) => setTimeout(r, 8_000)); // 80 s of clock
    expect(calls - before).toBeLessThan(50);
  });

  it('an execution that reserved its trade and was taken over before its entry was written still trades', { timeout: 120_000 }, async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 10 });
    const w = world;
    w.accounts.push(await w.addAccount({ maxDailyTrades: 1 }));
    let reached = false;
    const hung = withGatewayHooks(w.gateways, {
      ensureLeverage: () => async () => {
        reached = true;
        await a.instance.halt(); // the process dies here
        return new Promise<void>(() => {});
      },
    });
    const a = w.engine({ maxSignalLagMs: 3_600_000, takeoverAfterMs: 30_000, besideEveryMs: 10 ** 9, gateways: hung });
    await a.start();
    const queued = await w.intake.submit({
      guildId: GUILD, source: 'command', sourceRef: 'r1', authorId: '200000000000099999', channelId: null,
      signal: { symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 48_000, takeProfits: [53_000], leverage: 2 },
    });
    if (queued.kind !== 'queued') throw new Error('not queued');
    void a.runCycle();
    while (!reached) await new Promise((r) => setTimeout(r, 20));
    const [before] = await w.db.db.select().from(executions);
    const [statsBefore] = await w.db.db.select().from(dailyStats);
    expect(before?.tradeDay).not.toBeNull();
    expect(statsBefore?.trades).toBe(1);
    await w.clock.sleep(45_000);
    const b = w.engine({ maxSignalLagMs: 3_600_000, takeoverAfterMs: 30_000 });
    await b.start();
    const [after] = await w.db.db.select().from(executions).where(eq(executions.id, before!.id));
    const [statsAfter] = await w.db.db.select().from(dailyStats);
    expect(statsAfter?.trades).toBe(1);
    expect(after?.status).toBe('placed');
  });
});
