import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { describe, expect, inject, it } from 'vitest';
import { openDatabase } from '../../../src/db/client';

/**
 * Several processes started on one new PostgreSQL database all migrate it at start. Without a lock two
 * of them ran the same migration at once and one crashed ("relation already exists", a duplicate key
 * in drizzle's journal). Each now waits for the others under an advisory lock and finds the work done.
 */
const templateUrl = inject('postgresTemplateUrl');

describe.skipIf(!templateUrl)('migrations on PostgreSQL', () => {
  it('three processes migrating one empty database at once all start, and each migration runs once', { timeout: 120_000 }, async () => {
    const maintenance = new URL(templateUrl!);
    maintenance.pathname = '/postgres';
    const name = `m_${randomBytes(6).toString('hex')}`;
    const admin = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(templateUrl!);
    url.pathname = `/${name}`;
    const handles = await Promise.all([1, 2, 3].map(() => openDatabase({ url: url.toString(), maxConnections: 4 })));
    try {
      const outcomes = await Promise.allSettled(handles.map((handle) => handle.migrate()));
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      const check = postgres(url.toString(), { max: 1, onnotice: () => {} });
      try {
        const journal = await check<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations`;
        expect(new Set(journal.map((row) => row.hash)).size).toBe(journal.length);
        expect(journal.length).toBeGreaterThan(10);
      } finally {
        await check.end();
      }
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  });
});
