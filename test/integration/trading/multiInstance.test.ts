import { hostname } from 'node:os';
import { eq, sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { engineInstances, executions, feedOutbox, orders } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import type { GatewayProvider } from '../../../src/trading/engine';
import { databaseKinds } from '../../support/db';
import { withGatewayHooks } from '../../support/gateways';
import { processEngines } from '../../support/processEngines';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

const ETH_SHORT: TradeSignal = {
  symbol: 'ETH/USDT',
  side: 'short',
  entryType: 'market',
  entries: [],
  stopLoss: 3_300,
  takeProfits: [2_800],
  leverage: 3,
};

let world: TradingWorld | undefined;
const processes = processEngines();
afterEach(async () => {
  await processes.stopAll();
  await world?.close();
  world = undefined;
});

const submit = (w: TradingWorld, sourceRef: string) =>
  w.intake.submit({
    guildId: GUILD,
    source: 'command',
    sourceRef,
    authorId: '200000000000099999',
    channelId: null,
    signal: ETH_SHORT,
  });

/** Every order each account's key placed on the simulator, by client order id. */
function exchangeOrders(w: TradingWorld) {
  const keys = new Set(
    w.sim.requestLog.map((entry) => entry.apiKey).filter((key): key is string => key !== undefined),
  );
  const entries: string[] = [];
  const exits: string[] = [];
  for (const apiKey of keys) {
    const onExchange = w.sim.orders(apiKey);
    entries.push(...onExchange.futures.map((order) => order.clientOrderId));
    exits.push(...onExchange.algo.map((order) => order.clientAlgoId));
  }
  return { entries, exits };
}

const duplicates = (ids: string[]) => ids.filter((id, index) => ids.indexOf(id) !== index);

/**
 * A provider whose gateways place market entries but never answer any other order (a process that
 * dies as its exits are about to go out); `hung()` counts the requests that never left.
 */
function exitsNeverLeave(w: TradingWorld): { dying: GatewayProvider; hung: () => number } {
  const NEVER = new Promise<never>(() => {});
  let hung = 0;
  const dying = withGatewayHooks(w.gateways, {
    placeOrder: (inner) => (intent) => {
      if (intent.type === 'market') return inner.placeOrder(intent);
      hung += 1;
      return NEVER;
    },
  });
  return { dying, hung: () => hung };
}

// Several processes on one PostgreSQL: only meaningful (and only possible) on a real server.
describe.skipIf(!databaseKinds.includes('postgres'))('engine processes on one PostgreSQL', () => {
  it('executes each (signal, account, leg) exactly once across three processes', async () => {
    const ACCOUNTS = 30;
    world = await tradingWorld({ kind: 'postgres', accounts: ACCOUNTS, clockFactor: 5 });
    const w = world;
    const all = await Promise.all(
      ['a', 'b', 'c'].map((name) => processes.start(w, { instanceName: `instance-${name}` })),
    );
    await submit(w, 'multi-instance');
    // The first instance fans out; the others join while it works through its first batch.
    const [first, ...others] = all;
    const firstCycle = first!.runCycle();
    await expect
      .poll(async () => (await w.db.db.select().from(executions)).length, { timeout: 30_000 })
      .toBe(ACCOUNTS);
    await Promise.all([firstCycle, ...others.map((engine) => engine.runCycle())]);
    await Promise.all(all.map((engine) => engine.runCycle()));

    const executionRows = await w.db.db.select().from(executions);
    expect(executionRows).toHaveLength(ACCOUNTS);
    expect(executionRows.every((row) => row.status === 'placed')).toBe(true);
    // The work really was shared, each claim under one start's own id.
    const claimers = new Set(executionRows.map((row) => row.claimedBy));
    expect(claimers.size).toBeGreaterThan(1);
    for (const claimer of claimers) expect(all.map((engine) => engine.instanceId)).toContain(claimer);

    const orderRows = await w.db.db.select().from(orders);
    expect(orderRows).toHaveLength(ACCOUNTS * 3);
    for (const account of w.accounts) {
      const legs = orderRows.filter((row) => row.accountId === account.id);
      expect(legs.map((row) => row.leg).sort()).toEqual(['e0', 's0', 't0']);
    }
    // On the exchange: one entry order per account, one stop and one target, nothing twice.
    const { entries, exits } = exchangeOrders(w);
    expect(entries).toHaveLength(ACCOUNTS);
    expect(duplicates(entries)).toEqual([]);
    expect(duplicates(exits)).toEqual([]);
  }, 120_000);

  /**
   * The bug of issue #11: the old default instance id (host + DATA_DIR) was the same for every
   * process on a host, so each process's cycle "resumed its own" in-flight executions, which were
   * the others' work in progress, and sent their market entries again (a filled market order's
   * client id is free again on Binance): up to 3 entries per leg with 3 processes. Here three
   * processes are started with that old default as their name; each start still gets its own id.
   */
  it('never sends an entry twice when three processes on one host start with the same name', async () => {
    const ACCOUNTS = 12;
    world = await tradingWorld({ kind: 'postgres', accounts: ACCOUNTS, clockFactor: 5 });
    const w = world;
    const oldDefault = `${hostname()}:./data`;
    const all = await Promise.all([0, 1, 2].map(() => processes.start(w, { instanceName: oldDefault })));
    expect(new Set(all.map((engine) => engine.instanceId)).size).toBe(3);
    // Leverage answers slowly: the executions stay in flight, before their intents, for a while.
    w.sim.inject({ kind: 'latency', path: '/fapi/v1/leverage', method: 'POST', ms: 1_500 });
    await submit(w, 'same-host');
    const [first, ...others] = all;
    const firstCycle = first!.runCycle();
    await expect
      .poll(
        async () =>
          (await w.db.db.select().from(executions).where(eq(executions.status, 'in-flight'))).length,
        {
          timeout: 30_000,
          interval: 20,
        },
      )
      .toBe(ACCOUNTS);
    // The other processes run their cycles while the first one's work is in flight.
    await Promise.all([firstCycle, ...others.map((engine) => engine.runCycle())]);
    for (let round = 0; round < 3; round += 1) await Promise.all(all.map((engine) => engine.runCycle()));

    const { entries, exits } = exchangeOrders(w);
    expect(duplicates(entries)).toEqual([]);
    expect(entries).toHaveLength(ACCOUNTS);
    expect(duplicates(exits)).toEqual([]);
    const executionRows = await w.db.db.select().from(executions);
    expect(executionRows.map((row) => row.status)).toEqual(Array(ACCOUNTS).fill('placed'));
  }, 120_000);

  /**
   * Fencing: a process whose claim was taken over (its heartbeat looked dead to the others) writes
   * no outcome and sends no order when it wakes up, even with a fresh heartbeat again: the claim is
   * another process's now.
   */
  it('a process whose executions were taken over can neither send nor finalize them', async () => {
    world = await tradingWorld({ kind: 'postgres', accounts: 2, clockFactor: 5 });
    const w = world;
    const [failing, sending] = w.accounts;
    // Process A waits at a gate before planning (markets), per account; its own heartbeat timer is
    // slow, so only this test moves its heartbeat.
    const gates = new Map<string, { open: (fail: boolean) => void; wait: Promise<boolean> }>();
    for (const account of w.accounts) {
      let open!: (fail: boolean) => void;
      const wait = new Promise<boolean>((resolve) => (open = resolve));
      gates.set(account.id, { open, wait });
    }
    let placedByA = 0;
    const gated: GatewayProvider = {
      invalidate: (id) => w.gateways.invalidate(id),
      forAccount(account) {
        const inner = w.gateways.forAccount(account);
        return new Proxy(inner, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver) as unknown;
            if (property === 'markets') {
              return async () => {
                if (await gates.get(account.id)!.wait) throw new Error('markets unavailable');
                return inner.markets();
              };
            }
            if (property === 'placeOrder') {
              return (...args: Parameters<ExchangeGateway['placeOrder']>) => {
                placedByA += 1;
                return inner.placeOrder(...args);
              };
            }
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }) as ExchangeGateway;
      },
    };
    const a = await processes.start(w, { instanceName: 'process-a', heartbeatEveryMs: 3_600_000 }, gated);
    await submit(w, 'fencing');
    const cycleA = a.runCycle();
    await expect
      .poll(
        async () =>
          (await w.db.db.select().from(executions)).filter(
            (row) => row.claimedBy === a.instanceId && row.status === 'in-flight',
          ).length,
        {
          timeout: 30_000,
        },
      )
      .toBe(2);

    // A looks dead: its heartbeat is older than the threshold. B starts and takes its work over.
    const setHeartbeat = (ageMs: number) =>
      w.db.db
        .update(engineInstances)
        .set({ heartbeatAt: new Date(w.clock.now() - ageMs) })
        .where(eq(engineInstances.id, a.instanceId));
    await setHeartbeat(a.instance.settings.takeoverAfterMs + 1_000);
    const b = await processes.start(w, { instanceName: 'process-b' });
    const taken = await w.db.db.select().from(executions);
    expect(taken.map((row) => [row.claimedBy, row.status])).toEqual([
      [b.instanceId, 'placed'],
      [b.instanceId, 'placed'],
    ]);
    const entriesByB = exchangeOrders(w).entries;
    expect(entriesByB).toHaveLength(2);

    // A wakes up with a fresh heartbeat: one account's planning fails (it would record "failed"),
    // the other's succeeds (it would send its entry again).
    await setHeartbeat(0);
    gates.get(failing!.id)!.open(true);
    gates.get(sending!.id)!.open(false);
    await cycleA;

    expect(placedByA).toBe(0);
    expect(exchangeOrders(w).entries).toEqual(entriesByB);
    const after = await w.db.db.select().from(executions);
    expect(after.map((row) => [row.claimedBy, row.status, row.reason])).toEqual([
      [b.instanceId, 'placed', null],
      [b.instanceId, 'placed', null],
    ]);
    const feed = await w.db.db.select().from(feedOutbox).where(eq(feedOutbox.kind, 'order'));
    expect(feed.map((row) => (row.payload as { outcome: string }).outcome).sort()).toEqual([
      'filled',
      'filled',
    ]);
    // A reached the fence (once per execution it ran to a write or a send). What is asserted above is
    // the invariant: a run that ended otherwise on a loaded machine (an unexpected error) still wrote
    // and sent nothing. The message shows A's warnings when this fails.
    const claimLost = w.logLines.filter((line) => line.includes('claim lost'));
    const warnings = w.logLines.filter((line) => /"level":(40|50)/.test(line)).join('\n');
    expect(claimLost.length, warnings).toBeGreaterThanOrEqual(1);
    for (const line of claimLost) expect(taken.map((row) => row.id).some((id) => line.includes(id))).toBe(true);
    // Only B's outcomes count as trades.
    const [stats] = await w.db.db
      .execute<{ trades: number }>(sql`select coalesce(sum(trades), 0)::int as trades from daily_stats`)
      .then((result) =>
        Array.isArray(result) ? result : (result as unknown as { rows: { trades: number }[] }).rows,
      );
    expect(stats?.trades).toBe(2);
  }, 120_000);

  /**
   * A process that dies between a filled entry and its stop: its heartbeat stops, and another process
   * takes the execution over once the heartbeat is older than the threshold (30 s), not before (the
   * first one might still be alive), and places the missing stop and target.
   */
  it("takes a dead process's filled entries over within the threshold and places their stops", async () => {
    world = await tradingWorld({ kind: 'postgres', accounts: 2, clockFactor: 5 });
    const w = world;
    // Process A dies as its exits are about to go out: those requests never leave.
    const { dying, hung } = exitsNeverLeave(w);
    const a = await processes.start(w, { instanceName: 'process-a', takeoverAfterMs: 30_000 }, dying);
    await submit(w, 'dies-before-stop');
    void a.runCycle();
    await expect.poll(hung, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    await a.instance.halt();
    const [row] = await w.db.db.select().from(engineInstances).where(eq(engineInstances.id, a.instanceId));
    const lastHeartbeat = row!.heartbeatAt.getTime();
    expect(exchangeOrders(w)).toEqual({ entries: expect.any(Array), exits: [] });
    expect(exchangeOrders(w).entries).toHaveLength(2);

    // Before the threshold, another process leaves A's work alone: A may only be slow.
    const b = await processes.start(w, { instanceName: 'process-b', takeoverAfterMs: 30_000 });
    w.clock.advance(Math.max(0, lastHeartbeat + a.instance.settings.takeoverAfterMs - 5_000 - w.clock.now()));
    await b.runCycle();
    expect((await w.db.db.select().from(executions)).map((e) => [e.claimedBy, e.status])).toEqual([
      [a.instanceId, 'in-flight'],
      [a.instanceId, 'in-flight'],
    ]);
    expect(exchangeOrders(w).exits).toEqual([]);

    // Past it, B takes over: the intents A left are reconciled (never sent blindly) and placed.
    w.clock.advance(Math.max(0, lastHeartbeat + a.instance.settings.takeoverAfterMs + 1_000 - w.clock.now()));
    await b.runCycle();
    const after = await w.db.db.select().from(executions);
    expect(after.map((e) => [e.claimedBy, e.status])).toEqual([
      [b.instanceId, 'placed'],
      [b.instanceId, 'placed'],
    ]);
    const { entries, exits } = exchangeOrders(w);
    expect(entries).toHaveLength(2);
    expect(exits).toHaveLength(4);
    expect(duplicates(exits)).toEqual([]);
    const stops = await w.db.db.select().from(orders).where(eq(orders.leg, 's0'));
    expect(stops.map((order) => order.status)).toEqual(['open', 'open']);
  }, 120_000);

  /**
   * Issue #11 (unprotected ≤ 30 s): on PostgreSQL a killed process is found dead by its liveness lock
   * (its connection closes with it), not by waiting out the heartbeat threshold: the positions it
   * left without a stop are protected within seconds. A live process is never taken for dead.
   */
  it('a killed process is found dead by its liveness lock: its filled entries get their stops within seconds, long before the threshold', async () => {
    world = await tradingWorld({ kind: 'postgres', accounts: 2, clockFactor: 5 });
    const w = world;
    const { dying, hung } = exitsNeverLeave(w);
    // A threshold of 150 s (30 s of real time): the heartbeat rule alone would leave the stops out that long.
    const a = await processes.start(w, { instanceName: 'process-a', takeoverAfterMs: 150_000 }, dying, {
      liveness: true,
    });
    const b = await processes.start(w, { instanceName: 'process-b', takeoverAfterMs: 150_000 }, undefined, {
      liveness: true,
    });
    await submit(w, 'killed-before-stop');
    void a.runCycle();
    await expect.poll(hung, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    // While A lives, B's cycles leave its work alone (its lock is held).
    await b.runCycle();
    expect((await w.db.db.select().from(executions)).map((e) => e.claimedBy)).toEqual([
      a.instanceId,
      a.instanceId,
    ]);
    expect(exchangeOrders(w).exits).toEqual([]);

    // A dies: its liveness connection closes with it (the heartbeat row stays, as after a crash).
    const killedAt = w.clock.now();
    await a.instance.halt();
    await expect
      .poll(
        async () =>
          (await w.db.db.select().from(engineInstances).where(eq(engineInstances.id, a.instanceId))).length,
        { timeout: 10_000, interval: 50 },
      )
      .toBe(0);
    await b.runCycle();
    const after = await w.db.db.select().from(executions);
    expect(after.map((e) => [e.claimedBy, e.status])).toEqual([
      [b.instanceId, 'placed'],
      [b.instanceId, 'placed'],
    ]);
    const stops = await w.db.db.select().from(orders).where(eq(orders.leg, 's0'));
    expect(stops.map((order) => order.status)).toEqual(['open', 'open']);
    const { entries, exits } = exchangeOrders(w);
    expect(entries).toHaveLength(2);
    expect(duplicates(exits)).toEqual([]);
    // Protected within a small part of the threshold (exchange time on the 5x clock).
    expect(w.clock.now() - killedAt).toBeLessThan(a.instance.settings.takeoverAfterMs / 5);
  }, 120_000);
});
