import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated PGlite data directory, dumped once; every test database loads from it. */
    pgliteTemplate: string;
    /** A migrated PostgreSQL database to copy with CREATE DATABASE ... TEMPLATE, when CI has one. */
    postgresTemplateUrl: string | null;
  }
}

/**
 * Runs once per test run: PGlite's initdb costs ~2 s and ~700 MiB, so migrate one template and let
 * every test load a fresh database from its dump; on PostgreSQL, migrate one template database.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const shared = resolve(process.env.SHARED_DIR ?? '../shared');
  if (!existsSync(shared)) {
    console.warn(`[tests] ${shared} not found: tests that read the shared specs and signal examples are skipped.`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'bot-pglite-template-'));
  const pglite = await PGlite.create();
  const handle = await openDatabase({ pglite });
  await handle.migrate();
  const dump = await pglite.dumpDataDir('none');
  const templatePath = join(dir, 'template.tar');
  writeFileSync(templatePath, Buffer.from(await dump.arrayBuffer()));
  await handle.close();
  project.provide('pgliteTemplate', templatePath);

  let postgresTemplateUrl: string | null = null;
  if (process.env.TEST_DATABASE_URL) {
    const pg = await openDatabase({ url: process.env.TEST_DATABASE_URL, maxConnections: 1 });
    await pg.migrate();
    await pg.close();
    postgresTemplateUrl = process.env.TEST_DATABASE_URL;
  } else {
    console.warn('[tests] TEST_DATABASE_URL unset: database suites run on PGlite only.');
  }
  project.provide('postgresTemplateUrl', postgresTemplateUrl);

  return () => rmSync(dir, { recursive: true, force: true });
}
