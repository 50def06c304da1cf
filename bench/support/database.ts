/**
 * A benchmark's database: PGlite in this process, or a fresh PostgreSQL database of its own on the
 * server of `adminUrl`, dropped afterwards (BENCH_KEEP_DB=1 or CHAOS_KEEP_DB=1 keeps it for a post-mortem).
 */
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '../../src/db/client';

export type BenchDatabaseSpec =
  { kind: 'postgres'; adminUrl: string; maxConnections?: number } | { kind: 'pglite'; pglite?: PGlite };

export interface BenchDatabase {
  handle: DatabaseHandle;
  /** PostgreSQL: the run's database, for bot processes to connect to; null on PGlite. */
  url: string | null;
  close(): Promise<void>;
}

export async function openBenchDatabase(spec: BenchDatabaseSpec, prefix: string): Promise<BenchDatabase> {
  if (spec.kind === 'pglite') {
    const handle = await openDatabase({ pglite: spec.pglite ?? (await PGlite.create()) });
    await handle.migrate();
    return { handle, url: null, close: () => handle.close() };
  }
  const name = `${prefix}_${Date.now()}_${process.pid}`;
  // Created and dropped from the server's maintenance database: a connection to the given one (a
  // test template, say) would keep others from copying it.
  const maintenance = new URL(spec.adminUrl);
  maintenance.pathname = '/postgres';
  const admin = () => postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
  const creator = admin();
  await creator.unsafe(`create database "${name}"`);
  await creator.end();
  const url = new URL(spec.adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString(), maxConnections: spec.maxConnections ?? 5 });
  await handle.migrate();
  return {
    handle,
    url: url.toString(),
    async close() {
      await handle.close();
      if (process.env.BENCH_KEEP_DB || process.env.CHAOS_KEEP_DB)
        return console.error(`bench: database kept: ${url.toString()}`);
      const dropper = admin();
      await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      await dropper.end();
    },
  };
}
