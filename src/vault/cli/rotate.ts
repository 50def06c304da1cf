/**
 * `npm run vault:rotate`: re-encrypts every stored exchange secret under the current (highest)
 * vault key. Add the new key to VAULT_KEYS first (npm run vault:keygen <next id>), run this, and
 * remove the old key only after it reports success. Safe to interrupt and rerun.
 */
import { createLogger } from '../../logger';
import type { Vault } from '../envelope';
import type { RotationStore } from '../rotation';
import { runRotation } from '../rotateCommand';

interface RotationTarget {
  store: RotationStore;
  vault: Vault;
  close(): Promise<void>;
}

// TODO(src/db): open the database from src/config.ts (DATABASE_URL or PGlite in DATA_DIR), resolve the
// keyring with resolveKeyring() from ../keyFile, build the vault with openVault() from ../envelope, and
// return a RotationStore over the exchange accounts table (see the contract in ../rotation.ts:
// ordered nextBatch by id, compare-and-set update). The database team fills this in.
async function openRotationTarget(): Promise<RotationTarget> {
  throw new Error('vault:rotate is not wired to the database yet (TODO in src/vault/cli/rotate.ts, src/db)');
}

const log = createLogger();
try {
  const target = await openRotationTarget();
  try {
    const result = await runRotation({ store: target.store, vault: target.vault, log });
    process.exitCode = result.ok ? 0 : 1;
  } finally {
    await target.close();
  }
} catch (error) {
  log.error({ err: error }, 'vault rotation failed');
  process.exitCode = 1;
}
