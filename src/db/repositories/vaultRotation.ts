import { and, asc, eq, gt, isNull, type SQL } from 'drizzle-orm';
import type { RotationStore, SecretEnvelopes } from '../../vault/rotation';
import type { Database } from '../client';
import { exchangeAccounts } from '../schema';

const columns = {
  apiKey: exchangeAccounts.apiKeyEnc,
  secret: exchangeAccounts.secretEnc,
  passphrase: exchangeAccounts.passphraseEnc,
} as const;

/** The vault's rotation contract over the accounts table: ordered scan, compare-and-set per row. */
export function vaultRotationStore(db: Database, keyIdOf: (envelope: string) => number): RotationStore {
  return {
    async nextBatch(afterId, limit) {
      const rows = await db
        .select({
          id: exchangeAccounts.id,
          ownerId: exchangeAccounts.ownerId,
          apiKey: exchangeAccounts.apiKeyEnc,
          secret: exchangeAccounts.secretEnc,
          passphrase: exchangeAccounts.passphraseEnc,
        })
        .from(exchangeAccounts)
        .where(afterId === null ? undefined : gt(exchangeAccounts.id, afterId))
        .orderBy(asc(exchangeAccounts.id))
        .limit(limit);
      return rows.map((row) => ({
        id: row.id,
        ownerId: row.ownerId,
        envelopes: { apiKey: row.apiKey, secret: row.secret, passphrase: row.passphrase },
      }));
    },

    async update(row, next: SecretEnvelopes, expected: SecretEnvelopes) {
      const guards: SQL[] = [eq(exchangeAccounts.id, row.id), eq(exchangeAccounts.ownerId, row.ownerId)];
      const set: Partial<typeof exchangeAccounts.$inferInsert> = {};
      for (const field of Object.keys(next) as (keyof typeof columns)[]) {
        const old = expected[field];
        guards.push(old === undefined ? isNull(columns[field]) : eq(columns[field], old));
        const envelope = next[field];
        if (field === 'apiKey') set.apiKeyEnc = envelope ?? null;
        if (field === 'secret') set.secretEnc = envelope ?? null;
        if (field === 'passphrase') set.passphraseEnc = envelope ?? null;
        if (envelope) set.vaultKeyId = keyIdOf(envelope);
      }
      const updated = await db
        .update(exchangeAccounts)
        .set(set)
        .where(and(...guards))
        .returning({ id: exchangeAccounts.id });
      return updated.length === 1;
    },
  };
}
