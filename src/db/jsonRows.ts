import { getTableColumns, is, SQL, sql, type Column } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * Rows for a multi-row INSERT as one JSON parameter: `db.insert(table).select(jsonRows(table, rows))`.
 * drizzle's `.values(rows)` binds one parameter per cell, and building and parsing those costs more
 * than the insert itself at a few thousand rows; this is one parameter whatever the count. Columns a
 * row leaves out get their default; the rows keep their order.
 */
export function jsonRows<T extends PgTable>(table: T, rows: readonly T['$inferInsert'][]): SQL {
  const columns = (Object.entries(getTableColumns(table)) as [string, Column][]).filter(
    // The same columns, in the same order, as drizzle's INSERT column list (generated ones excluded).
    ([, column]) => !(column as unknown as { shouldDisableInsert(): boolean }).shouldDisableInsert(),
  );
  for (const [, column] of columns) {
    // "Left out" and "null" read alike from JSON: a default on a nullable column would be ambiguous.
    if (column.hasDefault && !column.notNull)
      throw new Error(`jsonRows: ${column.name} is nullable with a default`);
    if (column.hasDefault && column.default === undefined && !column.defaultFn) {
      throw new Error(
        `jsonRows: ${column.name} has a database-generated default (serial) jsonRows cannot apply`,
      );
    }
  }
  const records = rows.map((row) => {
    const record: Record<string, unknown> = {};
    for (const [key, column] of columns) {
      let value = (row as Record<string, unknown>)[key];
      if (value === undefined && column.defaultFn) value = column.defaultFn();
      if (value === undefined || value === null) continue;
      const json = column.getSQLType() === 'jsonb' || column.getSQLType() === 'json';
      record[column.name] = json || is(value, SQL) ? value : column.mapToDriverValue(value);
    }
    return record;
  });
  const name = (column: Column) => sql.identifier(column.name);
  const definitions = sql.join(
    columns.map(([, column]) => sql`${name(column)} ${sql.raw(column.getSQLType())}`),
    sql`, `,
  );
  const selected = sql.join(
    columns.map(([, column]) => {
      if (!column.hasDefault || column.defaultFn) return sql`v.${name(column)}`;
      const fallback = is(column.default, SQL)
        ? column.default
        : sql`${column.mapToDriverValue(column.default)}::${sql.raw(column.getSQLType())}`;
      return sql`coalesce(v.${name(column)}, ${fallback})`;
    }),
    sql`, `,
  );
  const aliases = sql.join(
    [...columns.map(([, column]) => name(column)), sql.identifier('position')],
    sql`, `,
  );
  return sql`select ${selected} from rows from (json_to_recordset(${JSON.stringify(records)}::json) as (${definitions})) with ordinality as v(${aliases}) order by v.${sql.identifier('position')}`;
}
