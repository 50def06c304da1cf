import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../../src/db/client';

/**
 * The leadership locks of the Discord side on PostgreSQL (issue #16): one per gateway shard. A shard is refused while any process runs the gateway with another shard count (both
 * would route a server to a shard of their own and answer it twice); locks of another database on
 * the same server are another bot's and count for nothing here.
 */
const templateUrl = inject('postgresTemplateUrl');

async function freshDatabase(admin: postgres.Sql): Promise<{ url: string; name: string }> {
  const name = `l_${randomBytes(6).toString('hex')}`;
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(templateUrl!);
  url.pathname = `/${name}`;
  return { url: url.toString(), name };
}

describe.skipIf(!templateUrl)('leadership locks on PostgreSQL', () => {
  let admin: postgres.Sql;
  const names: string[] = [];
  const handles: DatabaseHandle[] = [];
  beforeAll(() => {
    const maintenance = new URL(templateUrl!);
    maintenance.pathname = '/postgres';
    admin = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await Promise.all(handles.map((handle) => handle.close()));
    for (const name of names) await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });

  async function open(): Promise<{ a: DatabaseHandle; b: DatabaseHandle }> {
    const { url, name } = await freshDatabase(admin);
    names.push(name);
    const a = await openDatabase({ url, maxConnections: 2 });
    const b = await openDatabase({ url, maxConnections: 2 });
    handles.push(a, b);
    return { a, b };
  }

  it('each shard of a count is held once; a shard under another count is refused, and says which count runs', { timeout: 60_000 }, async () => {
    const { a, b } = await open();
    const lost = () => {};
    const a0 = await a.acquireLeadership({ kind: 'shard', id: 0, count: 2 }, lost);
    expect(a0).not.toBeNull();
    // The same shard: one holder.
    expect(await b.acquireLeadership({ kind: 'shard', id: 0, count: 2 }, lost)).toBeNull();
    // Another shard of the same count: free.
    const b1 = await b.acquireLeadership({ kind: 'shard', id: 1, count: 2 }, lost);
    expect(b1).not.toBeNull();
    // Another count while 2 runs: refused, told, and nothing of it left held.
    const told: (number | null)[] = [];
    expect(await b.acquireLeadership({ kind: 'shard', id: 2, count: 3 }, lost, (count) => told.push(count))).toBeNull();
    expect(told).toEqual([2]);
    expect(await a.leadershipHeld([{ kind: 'shard', id: 0, count: 2 }, { kind: 'shard', id: 1, count: 2 }])).toBe(true);
    expect(await b.leadershipHeld([{ kind: 'shard', id: 0, count: 2 }, { kind: 'shard', id: 1, count: 2 }])).toBe(true);
    // Shard 1 released: the cluster is missing one; once every shard of 2 is gone, 3 may run.
    await b1!.release();
    expect(await a.leadershipHeld([{ kind: 'shard', id: 0, count: 2 }, { kind: 'shard', id: 1, count: 2 }])).toBe(false);
    expect(await b.acquireLeadership({ kind: 'shard', id: 0, count: 3 }, lost)).toBeNull();
    await a0!.release();
    const b0of3 = await b.acquireLeadership({ kind: 'shard', id: 0, count: 3 }, lost);
    expect(b0of3).not.toBeNull();
    await b0of3!.release();
  });

  it("another database's locks (another bot on the same server) neither block nor count", { timeout: 60_000 }, async () => {
    const first = await open();
    const second = await open();
    const lost = () => {};
    const held = await first.a.acquireLeadership({ kind: 'shard', id: 0, count: 1 }, lost);
    expect(held).not.toBeNull();
    expect(await second.a.leadershipHeld([{ kind: 'shard', id: 0, count: 1 }])).toBe(false);
    const other = await second.a.acquireLeadership({ kind: 'shard', id: 0, count: 2 }, lost);
    expect(other).not.toBeNull();
    await other!.release();
    await held!.release();
  });

  it('a process of the version before shards (the whole gateway under the feed key, as "bot-leader") keeps every shard refused', { timeout: 60_000 }, async () => {
    const { a } = await open();
    const name = names[names.length - 1]!;
    const dbUrl = new URL(templateUrl!);
    dbUrl.pathname = `/${name}`;
    const old = postgres(dbUrl.toString(), { max: 1, onnotice: () => {}, connection: { application_name: 'bot-leader' } });
    try {
      await old`select pg_advisory_lock(727274001)`;
      const told: (number | null)[] = [];
      expect(await a.acquireLeadership({ kind: 'shard', id: 0, count: 1 }, () => {}, (count) => told.push(count))).toBeNull();
      expect(told).toEqual([null]);
    } finally {
      await old.end();
    }
    const shard = await a.acquireLeadership({ kind: 'shard', id: 0, count: 1 }, () => {});
    expect(shard).not.toBeNull();
    await shard!.release();
  });
});
