import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { executeRows } from '../../../src/db/executeRows';
import { databaseKinds, freshDatabase } from '../../support/db';

/** The data statements of a migration (its UPDATEs and INSERTs), to replay on rows shaped as before it. */
const dataStatements = (file: string) =>
  readFileSync(new URL(`../../../drizzle/${file}`, import.meta.url), 'utf8')
    .split('--> statement-breakpoint')
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => /^(UPDATE|INSERT)/.test(statement));

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

  it('0005 turns each single-currency fee into a valued charge and counts open copied positions\' realised PnL in the day', async () => {
    const handle = await freshDatabase(kind);
    try {
      const db = handle.db;
      // The columns as they were before 0005/0006.
      await db.execute(sql`alter table orders add column fee numeric not null default 0, add column fee_currency text`);
      const account = randomUUID();
      await db.execute(sql`insert into users (discord_id) values ('owner-1')`);
      await db.execute(sql`insert into exchange_accounts (id, owner_id, guild_id, name, exchange_id, market_type, mode) values (${account}, 'owner-1', 'g', 'a', 'binance', 'spot', 'live')`);
      const execution = randomUUID();
      const signal = randomUUID();
      await db.execute(sql`insert into signals (id, guild_id, source, source_ref, symbol, side, entry_type, entries, stop_loss, take_profits)
        values (${signal}, 'g', 'command', 'ref', 'LINK/USDT', 'long', 'market', '[]'::jsonb, 95, '[105]'::jsonb)`);
      await db.execute(sql`insert into executions (id, signal_id, account_id, owner_id) values (${execution}, ${signal}, ${account}, 'owner-1')`);
      const order = async (leg: string, symbol: string, fee: number, currency: string | null, averagePrice: number | null) =>
        db.execute(sql`insert into orders (id, execution_id, signal_id, account_id, owner_id, leg, client_order_id, symbol, side, type, quantity, average_price, fee, fee_currency)
          values (${randomUUID()}, ${execution}, ${signal}, ${account}, 'owner-1', ${leg}, ${`c-${leg}`}, ${symbol}, 'buy', 'market', 1, ${averagePrice}, ${fee}, ${currency})`);
      await order('e0', 'LINK/USDT', 0.0008, 'LINK', 100); // in the coin: worth 0.08 at its fill
      await order('e1', 'BTC/USDT:USDT', 0.2, 'USDT', 50_000); // in the quote
      await order('e2', 'ETH/USDT:USDT', 0.05, 'BNB', 3_000); // in BNB: kept at what the book counted (as if USDT), so booked figures stay
      await order('e3', 'SOL/USDT', 0, null, null); // none
      await db.execute(sql`insert into positions (id, account_id, owner_id, signal_id, symbol, side, status, realized_pnl, updated_at) values
        (${randomUUID()}, ${account}, 'owner-1', ${randomUUID()}, 'BTC/USDT:USDT', 'long', 'open', 39.576, '2026-01-04T23:00:00Z'),
        (${randomUUID()}, ${account}, 'owner-1', ${randomUUID()}, 'BTC/USDT:USDT', 'long', 'closed', 12, '2026-01-04T23:00:00Z')`);
      for (const statement of dataStatements('0005_fees_per_currency_and_funding.sql')) await db.execute(sql.raw(statement));
      const fees = await executeRows<{ leg: string; fees: unknown }>(db, sql`select leg, fees from orders order by leg`);
      expect(fees).toEqual([
        { leg: 'e0', fees: [{ currency: 'LINK', amount: 0.0008, quoteValue: 0.08 }] },
        { leg: 'e1', fees: [{ currency: 'USDT', amount: 0.2, quoteValue: 0.2 }] },
        { leg: 'e2', fees: [{ currency: 'BNB', amount: 0.05, quoteValue: 0.05 }] },
        { leg: 'e3', fees: [] },
      ]);
      // In the day its reduce was booked (without a reduce order: its last change), not the day of the upgrade.
      const days = await executeRows<{ day: string; realized_pnl: string }>(db, sql`select day::text, realized_pnl::text from daily_stats where account_id = ${account}`);
      expect(days.map((d) => [d.day, Number(d.realized_pnl)])).toEqual([['2026-01-04', 39.576]]);
    } finally {
      await handle.close();
    }
  });
});
