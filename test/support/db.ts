import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client';

export type DatabaseKind = 'pglite' | 'postgres';

/** The kinds to run database suites on: PGlite always, PostgreSQL when CI provides one. */
export const databaseKinds: DatabaseKind[] = inject('postgresTemplateUrl') ? ['pglite', 'postgres'] : ['pglite'];

let templateBytes: Buffer | undefined;

/** A fresh, migrated database of the given kind; `close()` drops it. */
export async function freshDatabase(kind: DatabaseKind = 'pglite'): Promise<DatabaseHandle & { url?: string }> {
  if (kind === 'pglite') {
    templateBytes ??= readFileSync(inject('pgliteTemplate'));
    const pglite = await PGlite.create({ loadDataDir: new Blob([templateBytes]) });
    return openDatabase({ pglite });
  }
  const templateUrl = inject('postgresTemplateUrl');
  if (!templateUrl) throw new Error('PostgreSQL is not configured for this run (TEST_DATABASE_URL).');
  const template = new URL(templateUrl).pathname.slice(1);
  const name = `t_${randomBytes(6).toString('hex')}`;
  // From the server's maintenance database: a connection to the template itself (another file
  // copying it at the same moment) makes PostgreSQL refuse the copy ("being accessed by other users").
  const maintenance = new URL(templateUrl);
  maintenance.pathname = '/postgres';
  const admin = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString(), maxConnections: 10 });
  return {
    ...handle,
    url: url.toString(),
    async close() {
      await handle.close();
      const dropper = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
