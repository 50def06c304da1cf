import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger';
import { KEY_FILE_NAME, loadOrCreateKeyFile, resolveKeyring } from '../../../src/vault/keyFile';
import { generateKeyEntry } from '../../../src/vault/keyring';
import { Capture } from './helpers';

const posix = process.platform !== 'win32';

describe('vault key file', () => {
  let root: string;
  let out: Capture;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'vault-keyfile-'));
    out = new Capture();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is created on first start with mode 0600 (directory too), logged without the key, and reused', async () => {
    const dataDir = join(root, 'nested', 'data');
    const log = createLogger({ destination: out });
    const first = await loadOrCreateKeyFile(dataDir, log);
    const path = join(dataDir, KEY_FILE_NAME);
    const content = await readFile(path, 'utf8');
    expect(content).toMatch(/^1:[A-Za-z0-9+/]{43}=\n$/);
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(first.currentKeyId).toBe(1);

    const key = content.trim().split(':')[1] ?? '';
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatchObject({
      path,
      msg: expect.stringContaining('created a new vault key file'),
    });
    expect(out.text).not.toContain(key);

    const second = await loadOrCreateKeyFile(dataDir, log);
    expect(second.key(1)).toEqual(first.key(1));
    expect(await readFile(path, 'utf8')).toBe(content);
    expect(out.lines).toHaveLength(1); // reading says nothing
  });

  it('gives one key to concurrent first starts', async () => {
    const log = createLogger({ destination: out });
    const rings = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateKeyFile(root, log)));
    for (const ring of rings) expect(ring.key(1)).toEqual(rings[0]?.key(1));
    expect(out.lines).toHaveLength(1);
  });

  it.skipIf(!posix)('refuses a key file that group or others can access', async () => {
    const path = join(root, KEY_FILE_NAME);
    await writeFile(path, generateKeyEntry(1), { mode: 0o600 });
    await chmod(path, 0o640);
    const log = createLogger({ destination: out });
    await expect(loadOrCreateKeyFile(root, log)).rejects.toThrow(/mode 640.*chmod 600/);
    await chmod(path, 0o604);
    await expect(loadOrCreateKeyFile(root, log)).rejects.toMatchObject({ code: 'vault-key-file' });
    await chmod(path, 0o400);
    await expect(loadOrCreateKeyFile(root, log)).resolves.toMatchObject({ currentKeyId: 1 });
  });

  it('reads several keys (a rotation key appended) and names the file in parse errors', async () => {
    const path = join(root, KEY_FILE_NAME);
    const entries = `${generateKeyEntry(1)}\n${generateKeyEntry(2)}\n`;
    await writeFile(path, entries, { mode: 0o600 });
    const log = createLogger({ destination: out });
    expect((await loadOrCreateKeyFile(root, log)).ids).toEqual([1, 2]);
    await writeFile(path, '1:short\n', { mode: 0o600 });
    await expect(loadOrCreateKeyFile(root, log)).rejects.toThrow(`${path} is invalid`);
  });

  it('resolveKeyring: VAULT_KEYS wins; DATABASE_URL without it is an error; else the key file', async () => {
    const log = createLogger({ destination: out });
    const fromEnv = await resolveKeyring({ vaultKeys: generateKeyEntry(4), dataDir: root, log });
    expect(fromEnv.currentKeyId).toBe(4);
    await expect(stat(join(root, KEY_FILE_NAME))).rejects.toMatchObject({ code: 'ENOENT' });

    await expect(
      resolveKeyring({ vaultKeys: ' ', databaseUrl: 'postgres://u:p@h/db', dataDir: root, log }),
    ).rejects.toMatchObject({
      code: 'vault-keys-required',
      message: expect.stringContaining('npm run vault:keygen'),
    });

    const fromFile = await resolveKeyring({ dataDir: root, log });
    expect(fromFile.currentKeyId).toBe(1);
    await expect(stat(join(root, KEY_FILE_NAME))).resolves.toBeDefined();
  });
});
