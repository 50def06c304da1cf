/**
 * The exchange keys the database holds, checked against the vault's keyring at start. A lost key file
 * must not be replaced by a new key (every stored key would then fail to decrypt, one account at a
 * time, as "exchange error" in the public feed), and a VAULT_KEYS that lacks or mistypes the key the
 * rows were written with must stop the start with one message, not surface later per account.
 */
import type { AccountsRepository } from '../db/repositories/accounts';
import { VaultError } from '../vault/errors';
import type { Vault } from '../vault/envelope';

type StoredSecret = Awaited<ReturnType<AccountsRepository['storedSecrets']>>[number];

/**
 * Throws a VaultError naming what is wrong when the keyring cannot read the stored keys: a key id the
 * rows were written under that it lacks, or a key under that id that does not decrypt them (one
 * envelope per key id is tried). `source` names where the keyring came from, for the message.
 */
export async function checkVaultReadsStoredKeys(
  accounts: Pick<AccountsRepository, 'storedSecrets'>,
  vault: Vault,
  keyringIds: readonly number[],
  source: string,
): Promise<void> {
  const byKeyId = new Map<number, StoredSecret>();
  for (const stored of await accounts.storedSecrets()) {
    let keyId: number;
    try {
      keyId = vault.keyIdOf(stored.envelope);
    } catch {
      continue; // A malformed envelope is that account's problem (refused when used), not the start's.
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
