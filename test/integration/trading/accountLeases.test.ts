import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../../src/db/client';
import { leasesRepository } from '../../../src/db/repositories/leases';
import { engineInstances } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { accountLeases } from '../../../src/trading/accountLeases';
import type { GatewayProvider } from '../../../src/trading/engine';
import { EngineInstance } from '../../../src/trading/instance';
import { createPositionSync } from '../../../src/trading/positionSync';
import { databaseKinds } from '../../support/db';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

const TAKEOVER_MS = 30_000;
const settings = { takeoverAfterMs: TAKEOVER_MS, heartbeatEveryMs: 5_000 };
const BTC_LONG: TradeSignal = {
  symbol: 'BTC/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 48_000,
  takeProfits: [53_000],
  leverage: 5,
};

let world: TradingWorld | undefined;
const instances: EngineInstance[] = [];
const handles: DatabaseHandle[] = [];
afterEach(async () => {
  for (const instance of instances.splice(0)) await instance.stop();
  for (const handle of handles.splice(0)) await handle.close();
  await world?.close();
  world = undefined;
});

async function startInstance(db: DatabaseHandle['db'], w: TradingWorld, name: string) {
  const instance = new EngineInstance(createStore(db), name, w.clock, w.log, settings);
  instances.push(instance);
  await instance.start();
  return instance;
}

/** Moves the clock in steps the live instances beat through (a jump would look like a lapse to them). */
async function passTime(w: TradingWorld, ms: number, live: EngineInstance[]) {
  for (let left = ms; left > 0; left -= 4_000) {
    w.clock.advance(Math.min(4_000, left));
    await Promise.all(live.map((instance) => instance.beat()));
  }
}

describe.each(databaseKinds)('account leases on %s', (kind) => {
  it('shares accounts between live holders: a joiner gets its share once the holder releases the excess', async () => {
    world = await tradingWorld({ kind, accounts: 9 });
    const w = world;
    const ids = w.accounts.map((account) => account.id);
    const repo = leasesRepository(w.db.db);
    const a = await startInstance(w.db.db, w, 'lease-a');
    const times = (instance: EngineInstance) => ({
      now: new Date(w.clock.now()),
      staleBefore: instance.staleBefore(),
      freshSince: instance.freshSince(),
    });
    // Alone, a process holds everything (the embedded database's case: one process, every lease).
    expect((await repo.acquire('positions', a.id, ids, times(a))).sort()).toEqual([...ids].sort());
    const b = await startInstance(w.db.db, w, 'lease-b');
    // Nothing is free yet: the joiner waits, the holder keeps working.
    expect(await repo.acquire('positions', b.id, ids, times(b))).toEqual([]);
    // A joiner is not given accounts before it has lived one threshold (it may still be taking over
    // a dead process's work, and would leave them unvisited meanwhile).
    expect(await repo.acquire('positions', a.id, ids, times(a))).toHaveLength(9);
    await passTime(w, TAKEOVER_MS + 1_000, [a, b]);
    // Two live processes: the holder keeps its share (5 of 9) and releases the rest without working it.
    const keptByA = await repo.acquire('positions', a.id, ids, times(a));
    expect(keptByA).toHaveLength(5);
    const takenByB = await repo.acquire('positions', b.id, ids, times(b));
    expect(takenByB).toHaveLength(4);
    expect(new Set([...keptByA, ...takenByB]).size).toBe(9);
    // Stable from then on; other tasks have leases of their own, shared the same way.
    expect((await repo.acquire('positions', a.id, ids, times(a))).sort()).toEqual([...keptByA].sort());
    const polls = ids.slice(0, 2);
    const [pollA, pollB] = [
      await repo.acquire('copy-poll', a.id, polls, times(a)),
      await repo.acquire('copy-poll', b.id, polls, times(b)),
    ];
    expect([...pollA, ...pollB].sort()).toEqual([...polls].sort());

    // A process whose own heartbeat is not fresh starts nothing, even what it holds.
    await a.halt();
    w.clock.advance(TAKEOVER_MS / 2 + 1_000);
    expect(await repo.acquire('positions', a.id, ids, times(a))).toEqual([]);
  });

  it('accounts that may be without their stop are the last released and the first taken when accounts move', async () => {
    world = await tradingWorld({ kind, accounts: 9 });
    const w = world;
    const ids = w.accounts.map((account) => account.id);
    const sorted = [...ids].sort();
    const repo = leasesRepository(w.db.db);
    const times = (instance: EngineInstance) => ({
      now: new Date(w.clock.now()),
      staleBefore: instance.staleBefore(),
      freshSince: instance.freshSince(),
    });
    const a = await startInstance(w.db.db, w, 'lease-a');
    expect(await repo.acquire('positions', a.id, ids, times(a))).toHaveLength(9);
    const b = await startInstance(w.db.db, w, 'lease-b');
    const c = await startInstance(w.db.db, w, 'lease-c');
    await passTime(w, TAKEOVER_MS + 1_000, [a, b, c]);
    // By id alone A would keep the three smallest ids: the urgent ones are the three largest.
    const urgent = new Set(sorted.slice(6));
    const keptByA = await repo.acquire('positions', a.id, ids, times(a), urgent);
    expect(keptByA.sort()).toEqual([...urgent].sort());
    // Six are free and B has room for three: the two it finds urgent come first.
    const urgentForB = new Set(sorted.slice(0, 2));
    const takenByB = await repo.acquire('positions', b.id, ids, times(b), urgentForB);
    expect(takenByB).toHaveLength(3);
    expect(takenByB).toEqual(expect.arrayContaining([...urgentForB]));
    expect(await repo.acquire('positions', c.id, ids, times(c))).toHaveLength(3);
  });

  it("a /panic from a process that does not hold the account's lease takes the lease, closes under it, and fences the former holder", async () => {
    world = await tradingWorld({ kind, accounts: 1 });
    const w = world;
    const account = w.accounts[0]!;
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
    await engine.start();
    await w.submit(BTC_LONG, 'panic-lease');
    await engine.runCycle();
    await engine.stop();
    const apiKey = w.apiKeyOf(account);
    expect(w.sim.positions(apiKey)).toHaveLength(1);

    const syncIn = (instance: EngineInstance) => {
      const leases = accountLeases(createStore(w.db.db), instance, w.clock);
      const calls: string[] = [];
      const counting: Pick<GatewayProvider, 'forAccount'> = {
        forAccount(row) {
          calls.push(row.id);
          return w.gateways.forAccount(row);
        },
      };
      const sync = createPositionSync({
        store: createStore(w.db.db),
        gateways: counting,
        clock: w.clock,
        log: w.log,
        claimAccounts: leases.forTask('positions'),
        lease: leases.fenceFor('positions'),
        seize: leases.seizeFor('positions'),
      });
      return { sync, calls, fence: leases.fenceFor('positions') };
    };
    const a = await startInstance(w.db.db, w, 'panic-holder');
    const b = await startInstance(w.db.db, w, 'panic-caller');
    const inA = syncIn(a);
    const inB = syncIn(b);
    // A follows the account (it holds the lease); B, the process the member reached, does not.
    await inA.sync.run();
    expect(inA.calls).toContain(account.id);
    const holders = () => leasesRepository(w.db.db).holders('positions');
    expect((await holders()).get(account.id)).toBe(a.id);

    const result = await inB.sync.panicAccount(account);
    expect(result).toMatchObject({ closedPositions: 1, problems: [] });
    // The panic ran under the lease, now B's: A may send nothing more for the account...
    expect((await holders()).get(account.id)).toBe(b.id);
    expect(await inA.fence.holds(account.id)).toBe(false);
    expect(await inB.fence.holds(account.id)).toBe(true);
    // ...nor visit it again while B lives.
    inA.calls.length = 0;
    await inA.sync.run();
    expect(inA.calls).not.toContain(account.id);
    expect(w.sim.positions(apiKey)).toEqual([]);
    const orders = w.sim.orders(apiKey);
    expect(orders.algo.filter((o) => o.algoStatus === 'NEW')).toEqual([]);
    expect(orders.futures.filter((o) => o.status === 'NEW')).toEqual([]);
  }, 60_000);
});

// Several processes on one PostgreSQL: only meaningful (and only possible) on a real server.
describe.skipIf(!databaseKinds.includes('postgres'))(
  'position sync in three processes on one PostgreSQL',
  () => {
    it("syncs each account in exactly one process per round, and takes a dead process's accounts over after the threshold", async () => {
      const ACCOUNTS = 9;
      world = await tradingWorld({ kind: 'postgres', accounts: ACCOUNTS, clockFactor: 5 });
      const w = world;
      // Every account gets an open position with a resting stop and target: something to sync.
      const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
      await engine.start();
      await w.intake.submit({
        guildId: GUILD,
        source: 'command',
        sourceRef: 'leases',
        authorId: '200000000000099999',
        channelId: null,
        signal: BTC_LONG,
      });
      await engine.runCycle();
      await engine.stop();

      const url = (w.db as DatabaseHandle & { url?: string }).url!;
      const calls: { process: string; accountId: string }[] = [];
      const processes = await Promise.all(
        ['a', 'b', 'c'].map(async (name) => {
          const handle = await openDatabase({ url, maxConnections: 5 });
          handles.push(handle);
          const instance = await startInstance(handle.db, w, `sync-${name}`);
          // Counts which process works which account (each account's sync asks for its gateway).
          const counting: Pick<GatewayProvider, 'forAccount'> = {
            forAccount(account) {
              calls.push({ process: name, accountId: account.id });
              return w.gateways.forAccount(account);
            },
          };
          const sync = createPositionSync({
            store: createStore(handle.db),
            gateways: counting,
            clock: w.clock,
            log: w.log,
            claimAccounts: accountLeases(createStore(handle.db), instance, w.clock).forTask('positions'),
          });
          return { name, instance, sync };
        }),
      );
      /** One round: the processes' sync steps at the same time; answers which process synced each account. */
      const round = async (which: typeof processes) => {
        calls.length = 0;
        await Promise.all(which.map((p) => p.sync.run()));
        const byAccount = new Map<string, Set<string>>();
        for (const call of calls)
          byAccount.set(call.accountId, (byAccount.get(call.accountId) ?? new Set()).add(call.process));
        return byAccount;
      };
      const ownerOf = (byAccount: Map<string, Set<string>>) =>
        new Map([...byAccount].map(([accountId, set]) => [accountId, [...set].join(',')]));
      const countOf = (owners: Map<string, string>, process: string) =>
        [...owners.values()].filter((p) => p === process).length;

      // Processes count towards each other's shares once each has lived one threshold.
      await passTime(
        w,
        TAKEOVER_MS + 1_000,
        processes.map((p) => p.instance),
      );
      const first = ownerOf(await round(processes));
      expect(first.size).toBe(ACCOUNTS);
      expect([...first.values()].every((p) => ['a', 'b', 'c'].includes(p))).toBe(true); // one process each
      expect(['a', 'b', 'c'].map((p) => countOf(first, p))).toEqual([3, 3, 3]);
      // The leases stick: the next round works the same accounts in the same processes.
      expect(ownerOf(await round(processes))).toEqual(first);

      // Process c dies (its heartbeat stops). Until its heartbeat is older than the threshold its
      // accounts wait: it may only be slow, and two processes never sync one account.
      const [a, b, c] = processes;
      await c!.instance.halt();
      const [row] = await w.db.db
        .select()
        .from(engineInstances)
        .where(eq(engineInstances.id, c!.instance.id));
      const deadSince = row!.heartbeatAt.getTime();
      await passTime(w, deadSince + TAKEOVER_MS - 5_000 - w.clock.now(), [a!.instance, b!.instance]);
      const waiting = ownerOf(await round([a!, b!]));
      expect(waiting.size).toBe(ACCOUNTS - 3);
      for (const [accountId, process] of waiting) expect(first.get(accountId)).toBe(process);

      await passTime(w, deadSince + TAKEOVER_MS + 1_000 - w.clock.now(), [a!.instance, b!.instance]);
      const after = ownerOf(await round([a!, b!]));
      expect(after.size).toBe(ACCOUNTS);
      expect([...after.values()].every((p) => p === 'a' || p === 'b')).toBe(true);
      for (const [accountId, process] of after)
        if (first.get(accountId) !== 'c') expect(process).toBe(first.get(accountId));
    }, 120_000);
  },
);
