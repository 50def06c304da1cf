import type { SQL } from 'drizzle-orm';
import type { Queryable } from './repositories/outbox';

/**
 * The rows a raw statement returned, whichever driver ran it: postgres.js answers an array of rows,
 * PGlite an object with `rows`.
 */
export async function executeRows<T>(q: Queryable, query: SQL): Promise<T[]> {
  const result = (await q.execute(query)) as unknown;
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
