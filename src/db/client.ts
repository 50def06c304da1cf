import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { SHARD_LOCK_CLASS, SHARD_SLOT, tryShardLock, type LeaderLock, type LeaderRole } from './leaderLock';
import { holdLivenessLock, type LivenessLock } from './liveness';
import * as schema from './schema';

/** One type for both drivers: the rest of the code never knows which one it has. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  driver: 'postgres' | 'pglite';
  /** Applies the committed migrations in drizzle/. */
  migrate(): Promise<void>;
  /**
   * Tries to lead `role` (one Discord gateway shard): the lock, or null when
   * another process holds it. PostgreSQL: a session advisory lock on a connection of its own, freed
   * when the process dies (src/db/leaderLock.ts); `onLost` when that connection closes; a shard is
   * refused, and `onOtherCount` told, while another process runs the gateway with another shard count
   * (null: an older version's process holds the whole gateway).
   * PGlite: one process, always the leader.
   */
  acquireLeadership(role: LeaderRole, onLost: () => void, onOtherCount?: (count: number | null) => void): Promise<LeaderLock | null>;
  /** Whether every one of `roles` is held by some process now (cluster health). */
  leadershipHeld(roles: readonly LeaderRole[]): Promise<boolean>;
  /**
   * Messages between the processes sharing this database (PostgreSQL LISTEN/NOTIFY); PGlite has one
   * process only, so nothing is sent or heard. `subscribe` answers a function that stops listening.
   */
  peers: PeerChannel;
  /**
   * PostgreSQL: a lock that lives exactly as long as this process's own connection (src/db/liveness.ts),
   * so the others learn at once that it died. PGlite: null (one process, nobody to tell).
   */
  holdLiveness(onLost: () => void): Promise<LivenessLock | null>;
  close(): Promise<void>;
}

export interface PeerChannel {
  publish(channel: string, payload: string): Promise<void>;
  subscribe(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
}

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));
/** Held while migrating: processes started together on one database migrate one after another. */
const MIGRATION_LOCK_KEY = 727_274_003;

export type DatabaseOptions =
  | { url: string; maxConnections?: number }
  | { dataDir: string }
  | { pglite: PGlite };

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if ('url' in options) return openPostgres(options.url, options.maxConnections ?? 10);
  if ('dataDir' in options) {
    // Owner only, before anything is written there: the database files are created with the
    // process's umask (world-readable under the usual 022), the directory is what keeps them private.
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    return wrapPglite(await PGlite.create({ dataDir: `${options.dataDir}/pglite` }));
  }
  return wrapPglite(options.pglite);
}

function openPostgres(url: string, max: number): DatabaseHandle {
  const client = postgres(url, { max, onnotice: () => {} });
  const db = drizzlePostgres(client, { schema }) as unknown as Database;
  return {
    db,
    driver: 'postgres',
    async migrate() {
      // A session lock on a connection of its own (outside the pool, which may hold one connection
      // only): the others wait for it, then find nothing to apply. It ends with its connection.
      const lock = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await lock`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(drizzlePostgres(client), { migrationsFolder });
      } finally {
        await lock.end({ timeout: 5 });
      }
    },
    acquireLeadership: (role, onLost, onOtherCount) => tryShardLock(url, role, onLost, onOtherCount),
    async leadershipHeld(roles) {
      const rows = await client<{ objid: number }[]>`
        select objid::bigint as objid from pg_locks
          where locktype = 'advisory' and granted
            -- Advisory locks are per database: another database on the server is another bot.
            and database = (select oid from pg_database where datname = current_database())
            and objsubid = 2 and classid = ${SHARD_LOCK_CLASS}::bigint::oid`;
      const held = new Set(rows.map((row) => Number(row.objid)));
      return roles.every((role) => held.has(role.count * SHARD_SLOT + role.id));
    },
    holdLiveness: (onLost) => holdLivenessLock(url, onLost),
    peers: {
      async publish(channel, payload) {
        await client.notify(channel, payload);
      },
      async subscribe(channel, onMessage) {
        const listening = await client.listen(channel, onMessage);
        return () => listening.unlisten();
      },
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

function wrapPglite(client: PGlite): DatabaseHandle {
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    migrate: () => migratePglite(drizzlePglite(client), { migrationsFolder }),
    acquireLeadership: async () => ({ lost: false, verify: async () => true, release: async () => {} }),
    leadershipHeld: async () => true,
    holdLiveness: async () => null,
    peers: { publish: async () => {}, subscribe: async () => async () => {} },
    close: () => client.close(),
  };
}
