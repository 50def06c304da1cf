import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { VaultError } from './errors';
import { generateKeyEntry, parseKeyring } from './keyring';
import type { Keyring } from './keyring';
import type { VaultLogger } from './log';

export const KEY_FILE_NAME = 'vault.key';

const checksPermissions = process.platform !== 'win32';

const errnoCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;

/** Reads and checks the key file; undefined when it does not exist. */
async function readKeyFile(path: string): Promise<Keyring | undefined> {
  let handle;
  try {
    // O_NOFOLLOW: a symlink planted in the data dir must not redirect the key read.
    handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new VaultError(
      'vault-key-file',
      `cannot open the vault key file ${path}: ${errnoCode(error) ?? 'error'}`,
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new VaultError('vault-key-file', `the vault key file ${path} is not a regular file`);
    if (checksPermissions && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new VaultError(
        'vault-key-file',
        `the vault key file ${path} is accessible by group or others (mode ${mode}); restrict it with: chmod 600 ${path}`,
      );
    }
    return parseKeyring(await handle.readFile('utf8'), path);
  } finally {
    await handle.close();
  }
}

/**
 * The keyring of the embedded-database setup: reads `<dataDir>/vault.key`, or on the first start
 * creates it (mode 0600, directory created if needed) with one fresh key and logs that it did so,
 * never the key. The file holds `VAULT_KEYS` text, so a rotation key is appended as `,2:<base64>`
 * (or on a new line). A key file that group or others can access is refused.
 */
export async function loadOrCreateKeyFile(
  dataDir: string,
  log: VaultLogger,
  options: { create?: boolean } = {},
): Promise<Keyring> {
  const path = join(dataDir, KEY_FILE_NAME);
  const existing = await readKeyFile(path);
  if (existing) return existing;
  if (options.create === false) {
    // A new key could not read what the old one wrote: every account would fail, one by one, later.
    throw new VaultError(
      'vault-key-file',
      `the vault key file ${path} is missing, but the database holds encrypted exchange keys: restore vault.key from your backup (without it they cannot be decrypted; the bot will not make a new key over them)`,
    );
  }

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Write a temporary file and hard-link it into place: the key file appears complete or not at
  // all, and of two processes starting at once exactly one key wins (link fails on EEXIST).
  const temp = join(dataDir, `.${KEY_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  let created = false;
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${generateKeyEntry(1)}\n`, 'utf8');
    await handle.sync();
    await handle.close();
    try {
      await link(temp, path);
      created = true;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') {
        throw new VaultError(
          'vault-key-file',
          `cannot create the vault key file ${path}: ${errnoCode(error) ?? 'error'}`,
        );
      }
    }
  } finally {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
  }
  const keyring = await readKeyFile(path);
  if (!keyring) throw new VaultError('vault-key-file', `the vault key file ${path} vanished while starting`);
  if (created) {
    log.warn(
      { path, keyIds: keyring.ids },
      'created a new vault key file; back it up with the database: without it the stored exchange keys cannot be decrypted',
    );
  }
  return keyring;
}

export interface ResolveKeyringOptions {
  /** The VAULT_KEYS setting, if any. */
  vaultKeys?: string | undefined;
  /** Set when the bot uses an external PostgreSQL; then VAULT_KEYS is required. */
  databaseUrl?: string | undefined;
  dataDir: string;
  log: VaultLogger;
  /** False when the database already holds encrypted keys: a missing key file is then an error, not a first start. */
  createKeyFile?: boolean;
}

/**
 * Where the keyring comes from: `VAULT_KEYS` when set; otherwise, with an external database,
 * an error (every process sharing it needs the same keys, so none may invent one); otherwise
 * the key file in the data directory.
 */
export async function resolveKeyring(options: ResolveKeyringOptions): Promise<Keyring> {
  const vaultKeys = options.vaultKeys?.trim();
  if (vaultKeys) return parseKeyring(vaultKeys);
  if (options.databaseUrl) {
    throw new VaultError(
      'vault-keys-required',
      'VAULT_KEYS is required when DATABASE_URL is set; create a key with `npm run vault:keygen` and set VAULT_KEYS=<id:base64>',
    );
  }
  return loadOrCreateKeyFile(options.dataDir, options.log, { create: options.createKeyFile ?? true });
}
