import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/client';

describe.skipIf(process.platform === 'win32')('the data directory', () => {
  it('is created owner-only (0700) with the embedded database inside, whatever the umask', { timeout: 60_000 }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'data-dir-'));
    const dataDir = join(root, 'nested', 'data');
    const previous = process.umask(0o022);
    try {
      const handle = await openDatabase({ dataDir });
      await handle.close();
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(dataDir, 'pglite'))).isDirectory()).toBe(true);
    } finally {
      process.umask(previous);
      await rm(root, { recursive: true, force: true });
    }
  });
});
