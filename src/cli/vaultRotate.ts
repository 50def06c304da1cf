/**
 * `npm run vault:rotate`: re-encrypts every stored exchange secret under the current (highest)
 * vault key. Add the new key to VAULT_KEYS first (npm run vault:keygen <next id>), run this, and
 * remove the old key only after it reports success. Safe to interrupt and rerun.
 */
import { ConfigError, loadConfig } from '../config';
import { openConfiguredDatabase } from '../db/open';
import { vaultRotationStore } from '../db/repositories/vaultRotation';
import { createLogger } from '../logger';
import { openVault } from '../vault/envelope';
import { resolveKeyring } from '../vault/keyFile';
import { runRotation } from '../vault/rotateCommand';

const log = createLogger();
try {
  const config = loadConfig('tool');
  const keyring = await resolveKeyring({
    vaultKeys: config.VAULT_KEYS,
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    log,
  });
  const vault = await openVault(keyring);
  const database = await openConfiguredDatabase(config);
  try {
    const store = vaultRotationStore(database.db, (envelope) => vault.keyIdOf(envelope));
    const result = await runRotation({ store, vault, log });
    process.exitCode = result.ok ? 0 : 1;
  } finally {
    await database.close();
  }
} catch (error) {
  if (error instanceof ConfigError) console.error(error.message);
  else log.error({ err: error }, 'vault rotation failed');
  process.exitCode = 1;
}
