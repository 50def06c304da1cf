import { randomUUID } from 'node:crypto';
import type { OperatorAccountConfig } from '../config';
import type { AccountsRepository } from '../db/repositories/accounts';
import type { Logger } from '../logger';
import type { SecretField, Vault } from '../vault/envelope';
import { apiKeyHint } from '../vault/mask';

export interface OperatorImportResult {
  created: number;
  updated: number;
  unchanged: number;
}

/**
 * Imports ACCOUNT_<n>_* accounts for a self-hosted single owner. Idempotent: a restart imports
 * nothing twice (matched by owner, guild and name) and a changed key rewrites its row.
 */
export async function importOperatorAccounts(input: {
  accounts: OperatorAccountConfig[];
  ownerId: string;
  guildId: string;
  repo: AccountsRepository;
  vault: Vault;
  log: Logger;
}): Promise<OperatorImportResult> {
  const { repo, vault, ownerId, guildId } = input;
  const result: OperatorImportResult = { created: 0, updated: 0, unchanged: 0 };
  for (const account of input.accounts) {
    const existing = await repo.findOwnedByName(ownerId, guildId, account.name);
    const id = existing?.id ?? randomUUID();
    const plain: Partial<Record<SecretField, string | undefined>> = {
      apiKey: account.apiKey,
      secret: account.secret,
      passphrase: account.password,
    };
    const encrypt = (field: SecretField) => {
      const value = plain[field];
      return value ? vault.encrypt(value, { accountId: id, ownerId, field }) : null;
    };
    if (!existing) {
      await repo.create({
        id,
        ownerId,
        guildId,
        name: account.name,
        exchangeId: account.exchange,
        marketType: account.marketType,
        mode: account.mode,
        source: 'env',
        apiKeyEnc: encrypt('apiKey'),
        secretEnc: encrypt('secret'),
        passphraseEnc: encrypt('passphrase'),
        vaultKeyId: account.apiKey ? vault.currentKeyId : null,
        apiKeyHint: account.apiKey ? apiKeyHint(account.apiKey) : null,
      });
      result.created += 1;
      continue;
    }
    const stored: Record<SecretField, string | null> = {
      apiKey: existing.apiKeyEnc,
      secret: existing.secretEnc,
      passphrase: existing.passphraseEnc,
    };
    const changed = (['apiKey', 'secret', 'passphrase'] as const).some((field) => {
      const envelope = stored[field];
      const wanted = plain[field] ?? null;
      if (envelope === null || wanted === null) return envelope !== wanted;
      try {
        return vault.decrypt(envelope, { accountId: id, ownerId, field }).reveal() !== wanted;
      } catch {
        return true;
      }
    });
    const settingsChanged =
      existing.exchangeId !== account.exchange ||
      existing.marketType !== account.marketType ||
      existing.mode !== account.mode;
    if (!changed && !settingsChanged) {
      result.unchanged += 1;
      continue;
    }
    await repo.update(id, {
      exchangeId: account.exchange,
      marketType: account.marketType,
      mode: account.mode,
      ...(changed
        ? {
            apiKeyEnc: encrypt('apiKey'),
            secretEnc: encrypt('secret'),
            passphraseEnc: encrypt('passphrase'),
            vaultKeyId: account.apiKey ? vault.currentKeyId : null,
            apiKeyHint: account.apiKey ? apiKeyHint(account.apiKey) : null,
            // What was known of the old key is not known of the new one.
            withdrawalsConfirmedOff: false,
            tradingExpiresAt: null,
            expiryNotices: 0,
          }
        : {}),
      // A key (or venue) whose permissions were never audited does not trade: off until the owner
      // runs /account verify (the withdrawal audit) and enables it again.
      verified: false,
      ...(existing.enabled ? { enabled: false, disabledReason: 'key-changed' } : {}),
    });
    if (existing.enabled)
      input.log.warn(
        { accountId: id },
        'operator account changed in the environment: disabled until verified',
      );
    result.updated += 1;
  }
  input.log.info(
    { created: result.created, updated: result.updated, unchanged: result.unchanged },
    `operator accounts from the environment: ${input.accounts.length} loaded`,
  );
  return result;
}
