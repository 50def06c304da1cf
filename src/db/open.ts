import type { Config } from '../config';
import { openDatabase, type DatabaseHandle } from './client';

/** DATABASE_URL → PostgreSQL; unset → embedded PGlite in DATA_DIR. Migrations applied either way. */
export async function openConfiguredDatabase(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>): Promise<DatabaseHandle> {
  const handle = config.DATABASE_URL
    ? await openDatabase({ url: config.DATABASE_URL })
    : await openDatabase({ dataDir: config.DATA_DIR });
  await handle.migrate();
  return handle;
}
