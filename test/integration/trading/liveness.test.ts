import { and, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../../src/db/client';
import { LIVENESS_LOCK_SPACE } from '../../../src/db/liveness';
import { instancesRepository } from '../../../src/db/repositories/instances';
import { tradingRepository, type SendClaim } from '../../../src/db/repositories/trading';
import {
  accountLeases as accountLeasesTable,
  engineInstances,
  executions,
  orders,
} from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { EngineInstance } from '../../../src/trading/instance';
import { acceleratedClock } from '../../support/clock';
import { databaseKinds, freshDatabase } from '../../support/db';
import { capturingLog, GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

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
async function processOn(url: string, name: string, onPeersDead?: (ids: string[]) => void) {
  const handle = await openDatabase({ url, maxConnections: 2 });
  const { log, lines } = capturingLog();
  const instance = new EngineInstance(handle.db, name, acceleratedClock(1), log, settings, {
    liveness: (onLost) => handle.holdLiveness(onLost),
    ...(onPeersDead ? { onPeersDead } : {}),
  });
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
    const unlocked = new EngineInstance(db.db, 'host:3', acceleratedClock(1), capturingLog().log, settings);
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
  await w.db.db.update(orders).set({ sentAt: null });
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

    expect(await repo.stampSent(orderId, 1_000, execution())).toBe(true);
    expect(await sentAtOf(w, orderId)).toBe(1_000);
    // Stale: its heartbeat is older than the freshness the sender needs.
    expect(
      await repo.stampSent(orderId, 2_000, { ...execution(), freshSince: new Date(w.clock.now() + 60_000) }),
    ).toBe(false);
    // Moved to another process.
    await w.db.db.update(executions).set({ claimedBy: 'host:2:bbbbbbbbbbbb' });
    expect(await repo.stampSent(orderId, 3_000, execution())).toBe(false);
    await w.db.db.update(executions).set({ claimedBy: holder });
    // Its row deleted (found dead, or a clean stop).
    await w.db.db.delete(engineInstances).where(eq(engineInstances.id, holder));
    expect(await repo.stampSent(orderId, 4_000, execution())).toBe(false);
    expect(await sentAtOf(w, orderId)).toBe(1_000);

    // The same under an account lease.
    await w.db.db
      .insert(engineInstances)
      .values({ id: holder, startedAt: new Date(w.clock.now()), heartbeatAt: new Date(w.clock.now()) });
    await w.db.db
      .insert(accountLeasesTable)
      .values({ task: 'positions', accountId, holder, changedAt: new Date(w.clock.now()) });
    const lease: SendClaim = { kind: 'lease', task: 'positions', accountId, holder, freshSince: fresh() };
    expect(await repo.stampSent(orderId, 5_000, lease)).toBe(true);
    await w.db.db
      .update(accountLeasesTable)
      .set({ holder: 'host:2:bbbbbbbbbbbb' })
      .where(and(eq(accountLeasesTable.task, 'positions'), eq(accountLeasesTable.accountId, accountId)));
    expect(await repo.stampSent(orderId, 6_000, lease)).toBe(false);
    expect(await sentAtOf(w, orderId)).toBe(5_000);
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
    const stamping = repo.stampSent(orderId, 1_000, claim).then((held) => (stamped = held));
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
    const second = repo.stampSent(orderId, 2_000, claim).then((held) => (stampedAfterDelete = held));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stampedAfterDelete).toBeNull();
    releaseDelete();
    await deletion;
    await second;
    expect(stampedAfterDelete).toBe(false);
    expect(await sentAtOf(w, orderId)).toBeNull();
  }, 60_000);
});
