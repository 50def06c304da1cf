import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { engineInstances, executions, orders } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import { databaseKinds } from '../../support/db';
import { withGatewayHooks } from '../../support/gateways';
import { processEngines } from '../../support/processEngines';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

/**
 * Claims against the money paths (issue #11, found by an independent review; each test failed before
 * its fix): the claim fence at the last moment before a send, withdrawn signals, and netting across
 * processes.
 */

const AUTHOR = '200000000000099999';

const marketLong: TradeSignal = {
  symbol: 'BTC/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 48_000,
  takeProfits: [53_000],
  leverage: 2,
};
const marketShort: TradeSignal = { ...marketLong, side: 'short', stopLoss: 52_000, takeProfits: [47_000] };

let world: TradingWorld | undefined;
const processes = processEngines();
afterEach(async () => {
  await processes.stopAll();
  await world?.close();
  world = undefined;
});

async function submit(w: TradingWorld, signal: TradeSignal, ref: string): Promise<string> {
  const queued = await w.intake.submit({ guildId: GUILD, source: 'command', sourceRef: ref, authorId: AUTHOR, channelId: null, signal });
  if (queued.kind !== 'queued') throw new Error(`not queued: ${JSON.stringify(queued)}`);
  return queued.signalId;
}

const apiKeyOf = (w: TradingWorld, index = 0) => {
  const account = w.accounts[index]!;
  return w.vault.decrypt(account.apiKeyEnc!, { accountId: account.id, ownerId: account.ownerId, field: 'apiKey' }).reveal();
};

/** A provider whose gateways run `before` (once per call) ahead of every placeOrder. */
const beforePlacing = (w: TradingWorld, before: (intent: Parameters<ExchangeGateway['placeOrder']>[0]) => Promise<void>) =>
  withGatewayHooks(w.gateways, {
    placeOrder: (inner) => async (intent, options) => {
      await before(intent);
      return inner.placeOrder(intent, options);
    },
  });

describe('the claim fence', () => {
  /**
   * Invariant (README, "Several processes"): "a process that was taken for dead ... sends and records
   * nothing more". An order may wait in the rate limiter's queue for up to a minute after the claim
   * was checked; if the claim is taken over meanwhile, the process that took it finds an intent
   * without a stamp (never sent) and sends it itself. So the claim is checked again when the stamp is
   * written, after the wait: otherwise a market entry fills twice.
   */
  it('an order whose claim is taken over while it waits for rate-limit budget is not sent', { timeout: 120_000 }, async () => {
    // Spot: its orders cost IP weight (a futures order costs none and never waits for budget).
    world = await tradingWorld({ accounts: 1, clockFactor: 10, marketType: 'spot' });
    const w = world;
    const apiKey = apiKeyOf(w);
    // Just after a minute boundary: a full weight window means a wait of almost a minute.
    w.clock.set(Date.UTC(2026, 0, 5, 12, 0, 1));
    const limiter = w.rateLimiters.get('binance');
    let armed = false;
    let takenOver = false;
    const provider = beforePlacing(w, async (intent) => {
      if (armed || intent.type !== 'market') return;
      armed = true;
      // Other accounts' reads spent this minute's budget: the order queues for the next window.
      await limiter.acquire('api', 6_000);
      // Meanwhile this process is taken for dead and another one claims the execution.
      void w.clock.sleep(5_000).then(async () => {
        // A live process (its heartbeat fresh for the whole test): this one may not take the work back.
        const other = 'other-host:1:0123456789ab';
        await w.db.db.insert(engineInstances).values({ id: other, startedAt: new Date(w.clock.now()), heartbeatAt: new Date(w.clock.now() + 3_600_000) });
        await w.db.db.update(executions).set({ claimedBy: other });
        takenOver = true;
      });
    });
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000, gateways: provider });
    await engine.start();
    await submit(w, marketLong, 'fence-after-queue');
    await engine.runCycle();

    expect(takenOver).toBe(true);
    const [entry] = await w.db.db.select().from(orders).where(eq(orders.leg, 'e0'));
    // The claim was gone before the order left the limiter: nothing may reach the exchange.
    expect(w.sim.orders(apiKey).spot.filter((order) => order.clientOrderId === entry!.clientOrderId)).toHaveLength(0);
  });
});

describe('a withdrawn signal', () => {
  /**
   * Invariant (README, /signal cancel): "withdraw a signal: nothing new starts". Executions of a
   * withdrawn signal still pending are not claimed (by this process or any other); they are cancelled
   * after the cycle's claim loop.
   */
  it('sends no entry for executions that had not started when the signal was withdrawn', { timeout: 90_000 }, async () => {
    world = await tradingWorld({ accounts: 3, clockFactor: 10 });
    const w = world;
    let signalId = '';
    let withdrawn = false;
    const provider = beforePlacing(w, async (intent) => {
      if (withdrawn || intent.type !== 'market') return;
      withdrawn = true;
      // The caller withdraws the signal while the first account's entry is being sent.
      expect(await w.intake.cancel(signalId, AUTHOR)).not.toBeNull();
    });
    // Concurrency 1: batches of 2 executions, so the third account's execution is claimed after the withdrawal.
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000, concurrency: 1, gateways: provider });
    await engine.start();
    signalId = await submit(w, marketLong, 'withdrawn-mid-fan-out');
    await engine.runCycle();

    expect(withdrawn).toBe(true);
    const entriesSent = w.accounts.map((_, index) => w.sim.orders(apiKeyOf(w, index)).futures.length).reduce((a, b) => a + b, 0);
    const rows = await w.db.db.select().from(executions).where(eq(executions.signalId, signalId));
    // At most the batch already running when it was withdrawn trades; the rest is cancelled.
    expect(entriesSent).toBeLessThan(3);
    expect(rows.filter((row) => row.status === 'cancelled').length).toBeGreaterThanOrEqual(1);
  });
});


describe.skipIf(!databaseKinds.includes('postgres'))('netting across processes', () => {
  /**
   * Invariant (README, netting; issue #11 defect 5): the bot never sends an order that nets against
   * a position or working entry of its own the other way on a one-way account. The check reads the
   * account's exposures once per batch, so an account's executions must not run in two processes at
   * once: claims skip an account whose execution another live process has in flight.
   */
  it('two processes never both trade opposite signals on one one-way account', { timeout: 120_000 }, async () => {
    world = await tradingWorld({ kind: 'postgres', accounts: 1, clockFactor: 5 });
    const w = world;
    const apiKey = apiKeyOf(w);
    const [a, b] = await Promise.all(['a', 'b'].map((name) => processes.start(w, { instanceName: `review-${name}` })));
    // Leverage answers slowly: an execution stays in flight, before its intents, for a while.
    w.sim.inject({ kind: 'latency', path: '/fapi/v1/leverage', method: 'POST', ms: 1_500 });
    const longId = await submit(w, marketLong, 'long-in-a');
    const cycleA = a!.runCycle();
    await expect
      .poll(async () => (await w.db.db.select().from(executions).where(eq(executions.signalId, longId)))[0]?.status, {
        timeout: 30_000,
        interval: 20,
      })
      .toBe('in-flight');
    await submit(w, marketShort, 'short-in-b');
    await Promise.all([cycleA, b!.runCycle()]);

    const sides = new Set(w.sim.orders(apiKey).futures.map((order) => order.side));
    // Only one side may have traded on this one-way account.
    expect(sides.size).toBe(1);
  });
});
