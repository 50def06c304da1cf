import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Tells once, up front, whether the suites that read ../shared will run. */
export default function setup(): void {
  const shared = resolve(process.env.SHARED_DIR ?? '../shared');
  if (!existsSync(shared)) {
    console.warn(`[tests] ${shared} not found: tests that read the shared specs and signal examples are skipped.`);
  }
  if (!process.env.TEST_DATABASE_URL) {
    console.warn('[tests] TEST_DATABASE_URL unset: database suites run on PGlite only.');
  }
}
