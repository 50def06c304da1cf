import net from 'node:net';
import { and, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../../src/db/client';
import { holdLivenessLock, LIVENESS_LOCK_SPACE } from '../../../src/db/liveness';
import { instancesRepository } from '../../../src/db/repositories/instances';
import { tradingRepository, type SendClaim } from '../../../src/db/repositories/trading';
import {
  accountLeases as accountLeasesTable,
  engineInstances,
  executions,
  orders,
} from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { EngineInstance, type LivenessSource } from '../../../src/trading/instance';
import { acceleratedClock } from '../../support/clock';
import { databaseKinds, freshDatabase } from '../../support/db';
import { capturingLog, GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

/**
 * Issue #11, "take over within 30 s": how a dead process is found, and why taking its claims over at
 * once cannot make an order go twice.
 *  - On PostgreSQL every process holds a liveness lock on a connection of its own; when the process
 *    dies the connection closes and the lock is free, and the others delete its row within a second
 *    (its claims are then free, as after a clean stop). A live process is never deleted.
 *  - A process whose liveness connection closes while it lives goes on under a new id: the old id's
 *    claims may be taken, and it cannot use them any more.
 *  - The send stamp is written under the claim in one statement (`stampSent`): a takeover either
 *    waits for it and then sees the stamp, or has already moved the claim and nothing is stamped or sent.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const settings = { takeoverAfterMs: 30_000, heartbeatEveryMs: 5_000, livenessCheckEveryMs: 100 };

async function postgresDatabase(): Promise<DatabaseHandle & { url?: string }> {
  const handle = await freshDatabase('postgres');
  cleanups.push(() => handle.close());
  return handle;
}

/** A process of its own: its own pool on the database, its own liveness lock. */
async function processOn(
  url: string,
  name: string,
  onPeersDead?: (ids: string[]) => void,
  options: { liveness?: LivenessSource; heartbeatEveryMs?: number } = {},
) {
  const handle = await openDatabase({ url, maxConnections: 2 });
  const { log, lines } = capturingLog();
  const instance = new EngineInstance(
    createStore(handle.db),
    name,
    acceleratedClock(1),
    log,
    { ...settings, heartbeatEveryMs: options.heartbeatEveryMs ?? settings.heartbeatEveryMs },
    {
      liveness: options.liveness ?? ((onLost) => handle.holdLiveness(onLost)),
      ...(onPeersDead ? { onPeersDead } : {}),
    },
  );
  await instance.start();
  cleanups.push(async () => {
    await instance.stop().catch(() => undefined);
    await handle.close();
  });
  return { instance, handle, lines };
}

const lockHolders = (admin: postgres.Sql, key: number) =>
  admin<{ pid: number }[]>`select pid from pg_locks where locktype = 'advisory' and granted and objsubid = 2
    and database = (select oid from pg_database where datname = current_database())
    and classid = ${LIVENESS_LOCK_SPACE}::int::oid and objid = ${key}::int::oid`;

describe.skipIf(!databaseKinds.includes('postgres'))('liveness locks on PostgreSQL', () => {
  it('a killed process is found dead within a second; live ones, and rows without a lock, are left to the heartbeat', async () => {
    const db = await postgresDatabase();
    const dead: string[] = [];
    const a = await processOn(db.url!, 'host:1');
    const b = await processOn(db.url!, 'host:2', (ids) => dead.push(...ids));
    const repo = instancesRepository(db.db);
    // A process with no lock (PGlite's kind of row): only its heartbeat can tell it died.
    const unlocked = new EngineInstance(createStore(db.db), 'host:3', acceleratedClock(1), capturingLog().log, settings);
    await unlocked.start();
    cleanups.push(() => unlocked.stop());
    expect((await repo.byId(a.instance.id))?.livenessKey).toEqual(expect.any(Number));
    expect((await repo.byId(unlocked.id))?.livenessKey).toBeNull();

    // Several checks pass: nobody live is taken for dead.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(dead).toEqual([]);
    expect(await repo.byId(a.instance.id)).not.toBeNull();

    const killed = a.instance.id;
    await a.instance.halt();
    await unlocked.halt();
    const killedAt = Date.now();
    await expect.poll(() => dead, { timeout: 5_000, interval: 20 }).toEqual([killed]);
    expect(Date.now() - killedAt).toBeLessThan(1_500);
    expect(await repo.byId(killed)).toBeNull();
    expect(await repo.byId(unlocked.id)).not.toBeNull();
    expect(await repo.byId(b.instance.id)).not.toBeNull();
  });

  it('a process whose liveness connection is cut goes on under a new id with a new lock; the old id is gone', async () => {
    const db = await postgresDatabase();
    const a = await processOn(db.url!, 'host:1');
    await processOn(db.url!, 'host:2');
    const repo = instancesRepository(db.db);
    const first = a.instance.id;
    const key = (await repo.byId(first))!.livenessKey!;
    const admin = postgres(db.url!, { max: 1, onnotice: () => {} });
    cleanups.push(() => admin.end());
    const [holder] = await lockHolders(admin, key);
    // The connection dies under a live process (a restarted database, a proxy, an operator).
    await admin`select pg_terminate_backend(${holder!.pid})`;

    await expect.poll(() => a.instance.id, { timeout: 5_000, interval: 20 }).not.toBe(first);
    await expect
      .poll(async () => (await repo.byId(a.instance.id))?.livenessKey ?? null, { timeout: 5_000 })
      .not.toBeNull();
    expect(await repo.byId(first)).toBeNull();
    const renewed = (await repo.byId(a.instance.id))!.livenessKey!;
    expect(await lockHolders(admin, renewed)).toHaveLength(1);
    expect(a.lines.some((line) => line.includes('liveness connection closed'))).toBe(true);
  });
});

/** Every id an instance goes by, polled. */
function watchIds(instance: EngineInstance): { ids: Set<string>; stop: () => void } {
  const ids = new Set<string>([instance.id]);
  const timer = setInterval(() => ids.add(instance.id), 20);
  return { ids, stop: () => clearInterval(timer) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Found by an independent review: ways a live process was taken for dead, or could not go on.
describe.skipIf(!databaseKinds.includes('postgres'))(
  'liveness locks against connections that fail quietly',
  () => {
    it("a server that closes idle sessions (idle_session_timeout) never frees a live process's lock", async () => {
      const db = await postgresDatabase();
      const admin = postgres(db.url!, { max: 1, onnotice: () => {} });
      cleanups.push(() => admin.end());
      await admin.unsafe(
        `alter database "${new URL(db.url!).pathname.slice(1)}" set idle_session_timeout = '1000ms'`,
      );
      const a = await processOn(db.url!, 'host:1', undefined, { heartbeatEveryMs: 2_500 });
      await processOn(db.url!, 'host:2', undefined, { heartbeatEveryMs: 2_500 });
      const seen = watchIds(a.instance);
      await sleep(4_000);
      seen.stop();
      expect([...seen.ids]).toEqual([a.instance.id]);
    }, 60_000);

    it('a lock the server freed while the socket here stayed open is noticed, and a fresh lock is taken (never the freed key)', async () => {
      const db = await postgresDatabase();
      const target = new URL(db.url!);
      // A relay whose server side can be cut alone (a proxy or NAT that loses only that side).
      const upstreams: net.Socket[] = [];
      const clients: net.Socket[] = [];
      const relay = net.createServer((client) => {
        clients.push(client);
        const upstream = net.connect(Number(target.port), target.hostname);
        upstreams.push(upstream);
        client.pipe(upstream);
        upstream.pipe(client, { end: false });
        upstream.on('error', () => undefined);
        client.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            for (const client of clients) client.destroy();
            relay.close(() => resolve());
          }),
      );
      const relayed = new URL(db.url!);
      relayed.hostname = '127.0.0.1';
      relayed.port = String((relay.address() as net.AddressInfo).port);
      const a = await processOn(db.url!, 'host:1', undefined, {
        heartbeatEveryMs: 500,
        liveness: (onLost) => holdLivenessLock(relayed.toString(), onLost),
      });
      await processOn(db.url!, 'host:2', undefined, { heartbeatEveryMs: 500 });
      const repo = instancesRepository(db.db);
      const first = a.instance.id;
      const freedKey = (await repo.byId(first))!.livenessKey!;
      for (const upstream of upstreams.splice(0)) upstream.destroy();

      await expect.poll(() => a.instance.id, { timeout: 5_000, interval: 20 }).not.toBe(first);
      await sleep(1_500);
      const row = await repo.byId(a.instance.id);
      expect(row?.livenessKey).not.toBeNull();
      expect(row!.livenessKey).not.toBe(freedKey);
      const admin = postgres(db.url!, { max: 1, onnotice: () => {} });
      cleanups.push(() => admin.end());
      expect(await lockHolders(admin, row!.livenessKey!)).toHaveLength(1);
      // Settled: no more churn once the fresh lock is held.
      const seen = watchIds(a.instance);
      await sleep(1_500);
      seen.stop();
      expect(seen.ids.size).toBe(1);
    }, 60_000);

    it('a registration whose answer was lost after it committed is written again, and the heartbeat goes on', async () => {
      const db = await postgresDatabase();
      const a = await processOn(db.url!, 'host:1', undefined, { heartbeatEveryMs: 500 });
      const repo = instancesRepository(db.db);
      const inner = (a.instance as unknown as { repo: ReturnType<typeof instancesRepository> }).repo;
      const register = inner.register.bind(inner);
      let failOnce = true;
      inner.register = async (...args) => {
        await register(...args);
        if (failOnce) {
          failOnce = false;
          throw new Error('connection reset after commit');
        }
      };
      const admin = postgres(db.url!, { max: 1, onnotice: () => {} });
      cleanups.push(() => admin.end());
      const [holder] = await lockHolders(admin, (await repo.byId(a.instance.id))!.livenessKey!);
      await admin`select pg_terminate_backend(${holder!.pid})`;
      await sleep(500);
      const id = a.instance.id;
      const before = (await repo.byId(id))?.heartbeatAt.getTime();
      await sleep(2_000);
      expect((await repo.byId(a.instance.id))?.heartbeatAt.getTime()).toBeGreaterThan(before ?? 0);
    }, 60_000);
  },
);

const marketLong: TradeSignal = {
  symbol: 'BTC/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 48_000,
  takeProfits: [53_000],
  leverage: 2,
};

/** A world with one execution in flight, claimed by `holder`, and its entry order's id. */
async function executionInFlight(
  kind: 'pglite' | 'postgres',
  holder: string,
): Promise<{ w: TradingWorld; executionId: string; orderId: string; accountId: string }> {
  const w = await tradingWorld({ kind, accounts: 1, clockFactor: 10 });
  cleanups.push(() => w.close());
  const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
  await engine.start();
  cleanups.push(() => engine.stop());
  await w.intake.submit({
    guildId: GUILD,
    source: 'command',
    sourceRef: 'stamp',
    authorId: '200000000000099999',
    channelId: null,
    signal: marketLong,
  });
  await engine.runCycle();
  const [execution] = await w.db.db.select().from(executions);
  const [entry] = await w.db.db.select().from(orders).where(eq(orders.leg, 'e0'));
  await w.db.db
    .insert(engineInstances)
    .values({ id: holder, startedAt: new Date(w.clock.now()), heartbeatAt: new Date(w.clock.now()) });
  await w.db.db.update(executions).set({ status: 'in-flight', claimedBy: holder });
  await w.db.db.update(orders).set({ sentAt: null, status: 'intent' });
  return { w, executionId: execution!.id, orderId: entry!.id, accountId: execution!.accountId };
}

const sentAtOf = async (w: TradingWorld, orderId: string) =>
  (await w.db.db.select().from(orders).where(eq(orders.id, orderId)))[0]!.sentAt;

describe.each(databaseKinds)('the send stamp under its claim on %s', (kind) => {
  it('is written while the execution or lease is held, and refused once it moved, its holder is gone or stale', async () => {
    const holder = 'host:1:aaaaaaaaaaaa';
    const { w, executionId, orderId, accountId } = await executionInFlight(kind, holder);
    const repo = tradingRepository(w.db.db);
    const fresh = () => new Date(w.clock.now() - 10_000);
    const execution = (): SendClaim => ({ kind: 'execution', executionId, holder, freshSince: fresh() });

    expect(await repo.stampSent(orderId, 1_000, null, execution())).toBe(true);
    expect(await sentAtOf(w, orderId)).toBe(1_000);
    // Stale: its heartbeat is older than the freshness the sender needs.
    expect(
      await repo.stampSent(orderId, 2_000, 1_000, {
        ...execution(),
        freshSince: new Date(w.clock.now() + 60_000),
      }),
    ).toBe(false);
    // Moved to another process.
    await w.db.db.update(executions).set({ claimedBy: 'host:2:bbbbbbbbbbbb' });
    expect(await repo.stampSent(orderId, 3_000, 1_000, execution())).toBe(false);
    await w.db.db.update(executions).set({ claimedBy: holder });
    // Its row deleted (found dead, or a clean stop).
    await w.db.db.delete(engineInstances).where(eq(engineInstances.id, holder));
    expect(await repo.stampSent(orderId, 4_000, 1_000, execution())).toBe(false);
    expect(await sentAtOf(w, orderId)).toBe(1_000);

    // The same under an account lease.
    await w.db.db
      .insert(engineInstances)
      .values({ id: holder, startedAt: new Date(w.clock.now()), heartbeatAt: new Date(w.clock.now()) });
    await w.db.db
      .insert(accountLeasesTable)
      .values({ task: 'positions', accountId, holder, changedAt: new Date(w.clock.now()) });
    const lease: SendClaim = { kind: 'lease', task: 'positions', accountId, holder, freshSince: fresh() };
    expect(await repo.stampSent(orderId, 5_000, 1_000, lease)).toBe(true);
    await w.db.db
      .update(accountLeasesTable)
      .set({ holder: 'host:2:bbbbbbbbbbbb' })
      .where(and(eq(accountLeasesTable.task, 'positions'), eq(accountLeasesTable.accountId, accountId)));
    expect(await repo.stampSent(orderId, 6_000, 5_000, lease)).toBe(false);
    expect(await sentAtOf(w, orderId)).toBe(5_000);
  }, 60_000);

  it('is a compare-and-set: of two senders of one intent, only the one that saw the row as it is may send', async () => {
    const holder = 'host:1:aaaaaaaaaaaa';
    const { w, executionId, orderId } = await executionInFlight(kind, holder);
    const repo = tradingRepository(w.db.db);
    const claim: SendClaim = {
      kind: 'execution',
      executionId,
      holder,
      freshSince: new Date(w.clock.now() - 10_000),
    };
    // A /panic in another process (no claim) stamps the unsent intent first and sends it.
    expect(await repo.stampSent(orderId, 1_000, null, null)).toBe(true);
    // The claim holder read the row before that: its stamp is refused, claim or not.
    expect(await repo.stampSent(orderId, 1_500, null, claim)).toBe(false);
    expect(await repo.stampSent(orderId, 1_500, null, null)).toBe(false);
    // A resend of what it saw (the stamp it read) goes.
    expect(await repo.stampSent(orderId, 2_000, 1_000, claim)).toBe(true);
    // Once the order is no longer an intent (answered, reconciled), nothing stamps it.
    await w.db.db.update(orders).set({ status: 'open' }).where(eq(orders.id, orderId));
    expect(await repo.stampSent(orderId, 3_000, 2_000, null)).toBe(false);
    expect(await sentAtOf(w, orderId)).toBe(2_000);
  }, 60_000);
});

describe.skipIf(!databaseKinds.includes('postgres'))('the send stamp against a concurrent takeover', () => {
  /**
   * The race a check-then-write leaves open: the taker moves the claim after the sender's check and
   * before its stamp, reads an intent with no stamp, and sends it; the sender sends it too. Here the
   * takeover's transaction is open when the stamp is written: the stamp waits for it and, the claim
   * having moved, writes nothing.
   */
  it('waits for a takeover in progress and then refuses; a deletion of the holder (found dead) likewise', async () => {
    const holder = 'host:1:aaaaaaaaaaaa';
    const { w, executionId, orderId } = await executionInFlight('postgres', holder);
    const repo = tradingRepository(w.db.db);
    const claim: SendClaim = {
      kind: 'execution',
      executionId,
      holder,
      freshSince: new Date(w.clock.now() - 60_000),
    };
    const taker = postgres((w.db as DatabaseHandle & { url?: string }).url!, { max: 1, onnotice: () => {} });
    cleanups.push(() => taker.end());

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const takeover = taker.begin(async (tx) => {
      await tx`update executions set claimed_by = 'host:2:bbbbbbbbbbbb' where id = ${executionId}`;
      await released;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    let stamped: boolean | null = null;
    const stamping = repo.stampSent(orderId, 1_000, null, claim).then((held) => (stamped = held));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Still waiting on the takeover's row lock.
    expect(stamped).toBeNull();
    release();
    await takeover;
    await stamping;
    expect(stamped).toBe(false);
    expect(await sentAtOf(w, orderId)).toBeNull();

    // A holder being deleted (found dead by its lock) is waited for the same way.
    await w.db.db.update(executions).set({ claimedBy: holder });
    let releaseDelete!: () => void;
    const deleteReleased = new Promise<void>((resolve) => (releaseDelete = resolve));
    const deletion = taker.begin(async (tx) => {
      await tx`delete from engine_instances where id = ${holder}`;
      await deleteReleased;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    let stampedAfterDelete: boolean | null = null;
    const second = repo.stampSent(orderId, 2_000, null, claim).then((held) => (stampedAfterDelete = held));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stampedAfterDelete).toBeNull();
    releaseDelete();
    await deletion;
    await second;
    expect(stampedAfterDelete).toBe(false);
    expect(await sentAtOf(w, orderId)).toBeNull();
  }, 60_000);
});
