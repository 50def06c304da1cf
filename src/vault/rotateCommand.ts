import type { Vault } from './envelope';
import type { VaultLogger } from './log';
import { rotateAll } from './rotation';
import type { RotationResult, RotationStore } from './rotation';

export interface RunRotationOptions {
  store: RotationStore;
  vault: Vault;
  log: VaultLogger;
  batchSize?: number;
}

/**
 * `npm run vault:rotate`: re-encrypts every stored secret under the current (highest) key and
 * logs the outcome. Resolves the result; `ok` is false when some envelope could not be decrypted
 * or a row changed meanwhile, so the caller exits non-zero and the operator reruns or
 * investigates before removing an old key from VAULT_KEYS.
 */
export async function runRotation(options: RunRotationOptions): Promise<RotationResult & { ok: boolean }> {
  const { store, vault, log } = options;
  log.info(
    { keyId: vault.currentKeyId },
    'vault rotation: re-encrypting stored secrets under the current key',
  );
  const result = await rotateAll(store, vault, {
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    onBatch: (progress) =>
      log.info({ scanned: progress.scanned, rotated: progress.rotated }, 'vault rotation: progress'),
  });
  const summary = {
    keyId: result.keyId,
    scanned: result.scanned,
    rotated: result.rotated,
    fieldsRotated: result.fieldsRotated,
    alreadyCurrent: result.alreadyCurrent,
    conflicts: result.conflicts,
    failed: result.failed.length,
  };
  for (const failure of result.failed) {
    log.error(failure, 'vault rotation: cannot decrypt this field; it was left unchanged');
  }
  const ok = result.failed.length === 0 && result.conflicts === 0;
  if (ok) {
    log.info(summary, 'vault rotation done: every stored secret is under the current key');
  } else {
    log.warn(
      summary,
      'vault rotation incomplete: rerun `npm run vault:rotate`; keep the old keys in VAULT_KEYS until it ends cleanly',
    );
  }
  return { ...result, ok };
}
