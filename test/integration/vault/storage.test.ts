import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOperatorAccounts } from '../../../src/accounts/operatorImport';
import type { OperatorAccountConfig } from '../../../src/config';
import type { DatabaseHandle } from '../../../src/db/client';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { vaultRotationStore } from '../../../src/db/repositories/vaultRotation';
import { createLogger } from '../../../src/logger';
import { generateKeyEntry, openVault, parseKeyring, rotateAll } from '../../../src/vault';
import { databaseKinds, freshDatabase } from '../../support/db';

const OWNER = '200000000000000009';
const GUILD = '100000000000000009';
const CANARY_KEY = 'CANARYKEY-7f3a9c1e5b2d4f60a8e1';
const CANARY_SECRET = 'CANARYSECRET-0b9d8c7a6f5e4d3c2b1a';
/** One key 1 for the whole file: rotation reads every row of the table, the first test's too. */
const KEY_1 = generateKeyEntry(1);

function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ destination, level: 'debug' }), lines };
}

const operatorAccount = (overrides: Partial<OperatorAccountConfig> = {}): OperatorAccountConfig => ({
  slot: 1,
  name: 'binance-1',
  exchange: 'binance',
  marketType: 'futures',
  mode: 'live',
  apiKey: CANARY_KEY,
  secret: CANARY_SECRET,
  password: undefined,
  ...overrides,
});

describe.each(databaseKinds)('vault storage on %s', (kind) => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await freshDatabase(kind);
  });
  afterAll(() => handle.close());

  it('imports operator accounts idempotently, updates a changed key, and logs no secret', async () => {
    const vault = await openVault(parseKeyring(KEY_1));
    const repo = accountsRepository(handle.db);
    const { log, lines } = capturingLogger();
    const run = (accounts: OperatorAccountConfig[]) =>
      importOperatorAccounts({ accounts, ownerId: OWNER, guildId: GUILD, repo, vault, log });

    expect(await run([operatorAccount()])).toEqual({ created: 1, updated: 0, unchanged: 0 });
    expect(await run([operatorAccount()])).toEqual({ created: 0, updated: 0, unchanged: 1 });
    const [row] = await repo.listOwned(OWNER, GUILD);
    expect(row).toMatchObject({ source: 'env', apiKeyHint: 'CANA…a8e1', enabled: false });
    expect(vault.decrypt(row!.secretEnc!, { accountId: row!.id, ownerId: OWNER, field: 'secret' }).reveal()).toBe(
      CANARY_SECRET,
    );

    // Trading with the old key; the environment's key changes: off until the new one is audited.
    // The old key's facts: withdrawals confirmed off by hand, a trading expiry already reminded once.
    await repo.update(row!.id, { enabled: true, verified: true, withdrawalsConfirmedOff: true, tradingExpiresAt: new Date(Date.UTC(2026, 3, 5)), expiryNotices: 1 });
    expect(await run([operatorAccount({ secret: `${CANARY_SECRET}-new` })])).toEqual({
      created: 0,
      updated: 1,
      unchanged: 0,
    });
    const [updated] = await repo.listOwned(OWNER, GUILD);
    expect(updated).toMatchObject({ enabled: false, verified: false, disabledReason: 'key-changed' });
    // None of them carries over to the new key (found by review).
    expect(updated).toMatchObject({ withdrawalsConfirmedOff: false, tradingExpiresAt: null, expiryNotices: 0 });
    expect(
      vault.decrypt(updated!.secretEnc!, { accountId: updated!.id, ownerId: OWNER, field: 'secret' }).reveal(),
    ).toBe(`${CANARY_SECRET}-new`);

    const output = lines.join('');
    expect(output).toContain('1 loaded');
    expect(output).not.toContain(CANARY_KEY);
    expect(output).not.toContain(CANARY_SECRET);

    // The canary appears in no column but its ciphertext: dump every text of the table.
    const dump = await handle.db.execute(sql`select row_to_json(a)::text as j from exchange_accounts a`);
    const text = JSON.stringify(dump);
    expect(text).not.toContain(CANARY_KEY);
    expect(text).not.toContain(CANARY_SECRET);
  });

  it('rotates every stored envelope to the new key, resumably, keeping every plaintext', async () => {
    const oldEntry = KEY_1;
    const oldVault = await openVault(parseKeyring(oldEntry));
    const repo = accountsRepository(handle.db);
    const ownerIds = Array.from({ length: 6 }, (_, i) => `30000000000000000${i}`);
    for (const [i, ownerId] of ownerIds.entries()) {
      await importOperatorAccounts({
        accounts: [operatorAccount({ name: `rot-${i}`, apiKey: `key-${i}-abcdefgh`, secret: `secret-${i}` })],
        ownerId,
        guildId: GUILD,
        repo,
        vault: oldVault,
        log: capturingLogger().log,
      });
    }
    const newVault = await openVault(parseKeyring(`${oldEntry},${generateKeyEntry(2)}`));
    const store = vaultRotationStore(handle.db, (envelope) => newVault.keyIdOf(envelope));

    // A crash after two rows: the store dies mid-way, and a rerun finishes the job.
    let writes = 0;
    const crashing = {
      nextBatch: store.nextBatch,
      update: async (...args: Parameters<typeof store.update>) => {
        if (++writes > 2) throw new Error('simulated crash');
        return store.update(...args);
      },
    };
    await expect(rotateAll(crashing, newVault, { batchSize: 2 })).rejects.toThrow('simulated crash');
    const rerun = await rotateAll(store, newVault, { batchSize: 2 });
    expect(rerun.failed).toEqual([]);

    const rows = await repo.listAll();
    for (const row of rows.filter((r) => r.name.startsWith('rot-'))) {
      expect(row.vaultKeyId).toBe(2);
      expect(newVault.keyIdOf(row.secretEnc!)).toBe(2);
      const i = row.name.slice(4);
      expect(newVault.decrypt(row.secretEnc!, { accountId: row.id, ownerId: row.ownerId, field: 'secret' }).reveal()).toBe(
        `secret-${i}`,
      );
    }
  });
});
