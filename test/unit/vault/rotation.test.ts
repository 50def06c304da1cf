import { beforeAll, describe, expect, it } from 'vitest';
import { createVault, vaultReady } from '../../../src/vault/envelope';
import type { SecretField, Vault } from '../../../src/vault/envelope';
import { parseKeyring } from '../../../src/vault/keyring';
import { runRotation } from '../../../src/vault/rotateCommand';
import { rotateAll } from '../../../src/vault/rotation';
import type { RotationRow } from '../../../src/vault/rotation';
import { createLogger } from '../../../src/logger';
import { Capture, entries, MemoryRotationStore } from './helpers';

const ROWS = 37;
const plain = (id: string, field: SecretField) => `${field}-of-${id}-PLAIN`;
const ownerOf = (i: number) => `10000000000000000${i % 3}`;

/** Rows written under `vault`; every third has no passphrase, one has a null one. */
function seed(vault: Vault): RotationRow[] {
  return Array.from({ length: ROWS }, (_, i) => {
    const id = `acc-${String(i).padStart(3, '0')}`;
    const ownerId = ownerOf(i);
    const envelopes: RotationRow['envelopes'] = {};
    for (const field of ['apiKey', 'secret', 'passphrase'] as const) {
      if (field === 'passphrase' && i % 3 === 0) continue;
      envelopes[field] = vault.encrypt(plain(id, field), { accountId: id, ownerId, field });
    }
    if (i === 1) envelopes.passphrase = null;
    return { id, ownerId, envelopes };
  });
}

function expectAllOn(store: MemoryRotationStore, vault: Vault, keyId: number) {
  expect(store.rows.size).toBe(ROWS);
  for (const row of store.rows.values()) {
    for (const [field, envelope] of Object.entries(row.envelopes) as [SecretField, string | null][]) {
      if (envelope === null) continue;
      expect(vault.keyIdOf(envelope)).toBe(keyId);
      expect(vault.decrypt(envelope, { accountId: row.id, ownerId: row.ownerId, field }).reveal()).toBe(
        plain(row.id, field),
      );
    }
  }
}

describe('rotateAll', () => {
  let oldVault: Vault;
  let newVault: Vault;
  beforeAll(async () => {
    await vaultReady;
    const [one, two] = entries(1, 2);
    oldVault = createVault(parseKeyring(`${one}`));
    newVault = createVault(parseKeyring(`${one},${two}`));
  });

  it('moves every envelope to the current key and keeps every plaintext', async () => {
    const store = new MemoryRotationStore(seed(oldVault));
    const fields = [...store.rows.values()].reduce(
      (n, row) => n + Object.values(row.envelopes).filter((e) => typeof e === 'string').length,
      0,
    );
    const result = await rotateAll(store, newVault, { batchSize: 5 });
    expect(result).toEqual({
      keyId: 2,
      scanned: ROWS,
      rotated: ROWS,
      fieldsRotated: fields,
      alreadyCurrent: 0,
      conflicts: 0,
      failed: [],
    });
    expectAllOn(store, newVault, 2);
    // Nothing left to do on a second run.
    const again = await rotateAll(store, newVault, { batchSize: 5 });
    expect(again).toMatchObject({ scanned: ROWS, rotated: 0, alreadyCurrent: ROWS });
  });

  it.each([0, 1, 12, 36])('finishes on a rerun after a crash after %i updates', async (k) => {
    const store = new MemoryRotationStore(seed(oldVault));
    store.failAfter = k;
    await expect(rotateAll(store, newVault, { batchSize: 4 })).rejects.toThrow('simulated crash');
    expect(store.updates).toBe(k);
    // Half-way: every row still decrypts (old or new key), nothing lost.
    expectAllOnEither(store);
    store.failAfter = undefined;
    const result = await rotateAll(store, newVault, { batchSize: 4 });
    expect(result).toMatchObject({
      scanned: ROWS,
      rotated: ROWS - k,
      alreadyCurrent: k,
      conflicts: 0,
      failed: [],
    });
    expectAllOn(store, newVault, 2);
  });

  function expectAllOnEither(store: MemoryRotationStore) {
    for (const row of store.rows.values()) {
      const ids = new Set<number>();
      for (const [field, envelope] of Object.entries(row.envelopes) as [SecretField, string | null][]) {
        if (envelope === null) continue;
        ids.add(newVault.keyIdOf(envelope));
        expect(newVault.decrypt(envelope, { accountId: row.id, ownerId: row.ownerId, field }).reveal()).toBe(
          plain(row.id, field),
        );
      }
      expect(ids.size).toBe(1); // a row is swapped whole
    }
  }

  it('counts a row changed meanwhile as a conflict and leaves it alone', async () => {
    const store = new MemoryRotationStore(seed(oldVault));
    const original = store.update.bind(store);
    store.update = async (row, next, expected) => {
      if (row.id === 'acc-004') {
        const current = store.rows.get(row.id);
        if (current)
          current.envelopes.apiKey = newVault.encrypt('changed', {
            accountId: row.id,
            ownerId: row.ownerId,
            field: 'apiKey',
          });
      }
      return original(row, next, expected);
    };
    const result = await rotateAll(store, newVault);
    expect(result).toMatchObject({ rotated: ROWS - 1, conflicts: 1 });
    const row = store.rows.get('acc-004');
    expect(
      newVault
        .decrypt(row?.envelopes.apiKey ?? '', { accountId: 'acc-004', ownerId: ownerOf(4), field: 'apiKey' })
        .reveal(),
    ).toBe('changed');
  });

  it('reports undecryptable rows by id and field, untouched, and goes on', async () => {
    const rows = seed(oldVault);
    const victim = rows[2];
    const donor = rows[5];
    if (!victim || !donor) throw new Error('seed');
    victim.envelopes.secret = donor.envelopes.secret ?? null; // copied from another row: must not open
    const store = new MemoryRotationStore(rows);
    const result = await rotateAll(store, newVault, { batchSize: 10 });
    expect(result.failed).toEqual([{ rowId: victim.id, field: 'secret', code: 'vault-decrypt-failed' }]);
    expect(result.rotated).toBe(ROWS - 1);
    expect(store.rows.get(victim.id)?.envelopes.apiKey).toBe(victim.envelopes.apiKey);
  });

  it('runRotation logs a summary without secrets and flags incomplete runs', async () => {
    const out = new Capture();
    const log = createLogger({ destination: out });
    const store = new MemoryRotationStore(seed(oldVault));
    const result = await runRotation({ store, vault: newVault, log, batchSize: 10 });
    expect(result.ok).toBe(true);
    const last = out.lines.at(-1);
    expect(last).toMatchObject({ keyId: 2, scanned: ROWS, rotated: ROWS, failed: 0 });
    expect(out.text).not.toContain('PLAIN');
    for (const row of store.rows.values()) expect(out.text).not.toContain(row.envelopes.apiKey);

    const broken = seed(oldVault);
    if (broken[0]) broken[0].envelopes.apiKey = broken[1]?.envelopes.apiKey ?? null;
    const second = await runRotation({ store: new MemoryRotationStore(broken), vault: newVault, log });
    expect(second.ok).toBe(false);
    expect(out.lines.some((line) => line.level === 50 && line.rowId === 'acc-000')).toBe(true);
    expect(out.lines.at(-1)).toMatchObject({ level: 40, failed: 1 });
  });

  it('rejects a bad batch size', async () => {
    await expect(rotateAll(new MemoryRotationStore([]), newVault, { batchSize: 0 })).rejects.toThrow(
      RangeError,
    );
  });
});
