import type { SecretField, Vault } from './envelope';
import { SECRET_FIELDS } from './envelope';
import { isVaultError } from './errors';
import type { VaultErrorCode } from './errors';

/** The envelopes of a row's present secret fields (absent field = no value stored). */
export type SecretEnvelopes = Partial<Record<SecretField, string>>;

export interface RotationRow {
  /** Exchange account id; also the `accountId` the envelopes are bound to. */
  id: string;
  /** Owner's Discord user id; also bound into the envelopes. */
  ownerId: string;
  /** Present fields' envelopes; null or absent for a field with no value (e.g. no passphrase). */
  envelopes: Partial<Record<SecretField, string | null>>;
}

/**
 * What rotation needs from the database (implemented under src/db).
 *
 * - `nextBatch(afterId, limit)`: up to `limit` rows with an id after `afterId` (from the start
 *   when null) in one stable order by id; an empty array ends the scan.
 * - `update(row, next, expected)`: in ONE statement or transaction, set every field in `next`
 *   only if each field in `expected` (the same fields) still holds exactly that envelope;
 *   resolve true when the row was updated, false when it changed meanwhile (nothing written).
 */
export interface RotationStore {
  nextBatch(afterId: string | null, limit: number): Promise<RotationRow[]>;
  update(
    row: Pick<RotationRow, 'id' | 'ownerId'>,
    next: SecretEnvelopes,
    expected: SecretEnvelopes,
  ): Promise<boolean>;
}

export interface RotationFailure {
  rowId: string;
  field: SecretField;
  code: VaultErrorCode;
}

export interface RotationResult {
  /** The key id every rewritten envelope now uses. */
  keyId: number;
  /** Rows read. */
  scanned: number;
  /** Rows rewritten. */
  rotated: number;
  /** Envelopes rewritten. */
  fieldsRotated: number;
  /** Rows already entirely on the current key. */
  alreadyCurrent: number;
  /** Rows changed by someone else between read and write; a rerun picks them up if still old. */
  conflicts: number;
  /** Envelopes that could not be decrypted (left untouched). */
  failed: RotationFailure[];
}

export interface RotateOptions {
  batchSize?: number;
  /** Called after each batch with the running totals. */
  onBatch?: (progress: Readonly<RotationResult>) => void;
}

/**
 * Re-encrypts every secret envelope that is not under the vault's current key. Each row is
 * swapped with a compare-and-set, so nothing is lost if the process stops half-way (a row holds
 * either all its old or all its new envelopes, both readable while the old key stays in the
 * keyring), and a rerun skips rows already done. Undecryptable envelopes are reported, not fatal;
 * store errors propagate.
 */
export async function rotateAll(
  store: RotationStore,
  vault: Vault,
  opts: RotateOptions = {},
): Promise<RotationResult> {
  const batchSize = opts.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  const result: RotationResult = {
    keyId: vault.currentKeyId,
    scanned: 0,
    rotated: 0,
    fieldsRotated: 0,
    alreadyCurrent: 0,
    conflicts: 0,
    failed: [],
  };

  let afterId: string | null = null;
  for (;;) {
    const batch = await store.nextBatch(afterId, batchSize);
    const last = batch.at(-1);
    if (last === undefined) break;
    if (afterId !== null && last.id === afterId) break; // a store that does not advance must not loop forever
    afterId = last.id;

    for (const row of batch) {
      result.scanned += 1;
      const next: SecretEnvelopes = {};
      const expected: SecretEnvelopes = {};
      let rowFailed = false;
      for (const field of SECRET_FIELDS) {
        const envelope = row.envelopes[field];
        if (envelope === undefined || envelope === null) continue;
        const ctx = { accountId: row.id, ownerId: row.ownerId, field };
        try {
          if (!vault.needsRotation(envelope)) continue;
          next[field] = vault.encrypt(vault.decrypt(envelope, ctx), ctx);
          expected[field] = envelope;
        } catch (error) {
          if (!isVaultError(error)) throw error;
          result.failed.push({ rowId: row.id, field, code: error.code });
          rowFailed = true;
        }
      }
      // A row with an unreadable field keeps all its envelopes: half a rotation helps nobody.
      if (rowFailed) continue;
      const count = Object.keys(next).length;
      if (count === 0) {
        result.alreadyCurrent += 1;
        continue;
      }
      if (await store.update(row, next, expected)) {
        result.rotated += 1;
        result.fieldsRotated += count;
      } else {
        result.conflicts += 1;
      }
    }
    opts.onBatch?.(result);
  }
  return result;
}
