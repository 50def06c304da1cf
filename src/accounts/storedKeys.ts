/**
 * The exchange keys the database holds, checked against the vault's keyring at start. A lost key file
 * must not be replaced by a new key (every stored key would then fail to decrypt, one account at a
 * time, as "exchange error" in the public feed), and a VAULT_KEYS that lacks or mistypes the key the
 * rows were written with must stop the start with one message, not surface later per account.
 */
import { isNotNull, or } from 'drizzle-orm';
import type { Database } from '../db/client';
import { exchangeAccounts } from '../db/schema';
import { VaultError } from '../vault/errors';
import type { SecretField, Vault } from '../vault/envelope';

interface StoredEnvelope {
  accountId: string;
  ownerId: string;
  field: SecretField;
  envelope: string;
}

async function storedEnvelopes(db: Database): Promise<StoredEnvelope[]> {
  const rows = await db
    .select({
      id: exchangeAccounts.id,
      ownerId: exchangeAccounts.ownerId,
      apiKeyEnc: exchangeAccounts.apiKeyEnc,
      secretEnc: exchangeAccounts.secretEnc,
      passphraseEnc: exchangeAccounts.passphraseEnc,
    })
    .from(exchangeAccounts)
    .where(or(isNotNull(exchangeAccounts.apiKeyEnc), isNotNull(exchangeAccounts.secretEnc), isNotNull(exchangeAccounts.passphraseEnc)));
  return rows.flatMap((row) =>
    (
      [
        ['apiKey', row.apiKeyEnc],
        ['secret', row.secretEnc],
        ['passphrase', row.passphraseEnc],
      ] as const
    )
      .filter((entry): entry is readonly [SecretField, string] => entry[1] !== null)
      .map(([field, envelope]) => ({ accountId: row.id, ownerId: row.ownerId, field, envelope })),
  );
}

/** Whether any exchange key is stored (a new vault key may only be made for a database holding none). */
export async function holdsStoredKeys(db: Database): Promise<boolean> {
  const [first] = await db
    .select({ id: exchangeAccounts.id })
    .from(exchangeAccounts)
    .where(or(isNotNull(exchangeAccounts.apiKeyEnc), isNotNull(exchangeAccounts.secretEnc)))
    .limit(1);
  return first !== undefined;
}

/**
 * Throws a VaultError naming what is wrong when the keyring cannot read the stored keys: a key id the
 * rows were written under that it lacks, or a key under that id that does not decrypt them (one
 * envelope per key id is tried).
 */
export async function checkVaultReadsStoredKeys(db: Database, vault: Vault, keyringIds: readonly number[], source: string): Promise<void> {
  const byKeyId = new Map<number, StoredEnvelope>();
  for (const stored of await storedEnvelopes(db)) {
    let keyId: number;
    try {
      keyId = vault.keyIdOf(stored.envelope);
    } catch {
      continue; // A malformed envelope is that account's problem (it is refused when used), not the start's.
    }
    if (!byKeyId.has(keyId)) byKeyId.set(keyId, stored);
  }
  const missing = [...byKeyId.keys()].filter((id) => !keyringIds.includes(id)).sort((a, b) => a - b);
  if (missing.length > 0) {
    throw new VaultError(
      'vault-unknown-key',
      `the database holds exchange keys encrypted with vault key ${missing.join(', ')}, which ${source} does not hold (it holds ${keyringIds.join(', ')}): set the keys they were written with (README, "Key rotation")`,
    );
  }
  for (const [keyId, stored] of byKeyId) {
    try {
      vault.decrypt(stored.envelope, { accountId: stored.accountId, ownerId: stored.ownerId, field: stored.field });
    } catch (error) {
      throw new VaultError(
        'vault-decrypt-failed',
        `vault key ${keyId} in ${source} does not decrypt the exchange keys stored under that id: it is not the key they were written with; restore the right key from your backup (README, "Key rotation")`,
        { cause: error },
      );
    }
  }
}
