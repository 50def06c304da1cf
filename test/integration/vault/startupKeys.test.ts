import { existsSync } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importOperatorAccounts } from '../../../src/accounts/operatorImport';
import { startBot } from '../../../src/app';
import { parseConfig } from '../../../src/config';
import type { DatabaseHandle } from '../../../src/db/client';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { createLogger } from '../../../src/logger';
import { generateKeyEntry, openVault } from '../../../src/vault';
import { KEY_FILE_NAME, loadOrCreateKeyFile } from '../../../src/vault/keyFile';
import { freshDatabase } from '../../support/db';

/**
 * The start against the exchange keys already stored: a lost key file is never replaced by a new key
 * (each account would fail later, one by one, as an exchange error in the feed), and VAULT_KEYS that
 * lacks or mistypes the key the rows were written with stops the start with one message.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDAx.GZyxwv.abcdefghijklmnopqrstuvwxyz0123456789ab';
const quiet = createLogger({ level: 'silent' });
const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });

let dataDir: string;
let database: DatabaseHandle;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'startup-keys-'));
  database = await freshDatabase('pglite');
  // A first start made the key file and a member stored a key under it.
  const keyring = await loadOrCreateKeyFile(dataDir, quiet);
  await importOperatorAccounts({
    accounts: [{ slot: 1, name: 'binance-1', exchange: 'binance', marketType: 'futures', mode: 'live', apiKey: 'k'.repeat(64), secret: 's'.repeat(64), password: undefined }],
    ownerId: '200000000000000001',
    guildId: '100000000000000001',
    repo: accountsRepository(database.db),
    vault: await openVault(keyring),
    log: quiet,
  });
});
afterEach(async () => {
  await database.close();
  await rm(dataDir, { recursive: true, force: true });
});

const start = (env: Record<string, string>) =>
  startBot(parseConfig({ DISCORD_TOKEN: TOKEN, DATA_DIR: dataDir, HEALTH_PORT: '0', ...env }), { database, logDestination: sink(), checkToken: false });

describe('start-up with exchange keys in the database', () => {
  it('a missing vault.key is refused, naming the file and the backup; no new key is made', async () => {
    await unlink(join(dataDir, KEY_FILE_NAME));
    await expect(start({})).rejects.toThrow(/vault\.key is missing, but the database holds encrypted exchange keys: restore vault\.key from your backup/);
    expect(existsSync(join(dataDir, KEY_FILE_NAME))).toBe(false);
  });

  it('VAULT_KEYS without the key id the rows were written under is refused, naming the ids', async () => {
    await expect(start({ VAULT_KEYS: generateKeyEntry(2) })).rejects.toThrow(/encrypted with vault key 1, which VAULT_KEYS does not hold \(it holds 2\)/);
  });

  it('VAULT_KEYS with another key under the same id is refused: it does not decrypt them', async () => {
    await expect(start({ VAULT_KEYS: generateKeyEntry(1) })).rejects.toThrow(/vault key 1 in VAULT_KEYS does not decrypt the exchange keys stored under that id/);
  });
});
