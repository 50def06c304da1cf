import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { databaseKinds, freshDatabase } from '../../support/db';

describe.each(databaseKinds)('migrations on %s', (kind) => {
  it('creates every table of the schema', async () => {
    const handle = await freshDatabase(kind);
    try {
      const rows = await handle.db.execute<{ table_name: string }>(
        sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
      );
      const names = (Array.isArray(rows) ? rows : (rows as { rows: { table_name: string }[] }).rows).map(
        (row) => row.table_name,
      );
      expect(names).toEqual(
        expect.arrayContaining([
          'copy_cursors',
          'copy_links',
          'copy_masters',
          'daily_stats',
          'exchange_accounts',
          'executions',
          'feed_outbox',
          'guild_settings',
          'orders',
          'paper_state',
          'positions',
          'signals',
          'users',
        ]),
      );
    } finally {
      await handle.close();
    }
  });
});
