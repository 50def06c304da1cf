import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createVault, openVault, vaultReady } from '../../../src/vault/envelope';
import type { SecretContext, Vault } from '../../../src/vault/envelope';
import { VaultError } from '../../../src/vault/errors';
import { parseKeyring } from '../../../src/vault/keyring';
import { Secret } from '../../../src/vault/secret';
import { entries, flipBit, fromB64url, keyringWith } from './helpers';

const ctx: SecretContext = { accountId: 'acc-1', ownerId: '123456789012345678', field: 'secret' };
const PLAIN = 'binance-secret-Zx81kQ0pLm';

function failure(run: () => unknown): VaultError {
  try {
    run();
  } catch (error) {
    if (error instanceof VaultError) return error;
    throw error;
  }
  throw new Error('expected a VaultError');
}

/** Asserts a decryption failure whose message leaks neither ciphertext nor plaintext. */
function expectDecryptFailure(
  vault: Vault,
  envelope: string,
  context: SecretContext,
  code = 'vault-decrypt-failed',
) {
  const error = failure(() => vault.decrypt(envelope, context));
  expect(error.code).toBe(code);
  expect(error.name).toBe(`VaultError[${code}]`);
  for (const part of envelope.split(':').slice(2)) expect(error.message).not.toContain(part);
  expect(error.message).not.toContain(PLAIN);
  expect(error.cause).toBeUndefined();
}

describe('vault envelope', () => {
  let vault: Vault;
  beforeAll(async () => {
    await vaultReady;
    vault = createVault(keyringWith(1, 2, 3));
  });

  it('round-trips strings and Secrets into a Secret', () => {
    for (const plain of [PLAIN, new Secret(PLAIN)]) {
      const envelope = vault.encrypt(plain, ctx);
      const opened = vault.decrypt(envelope, ctx);
      expect(opened).toBeInstanceOf(Secret);
      expect(opened.reveal()).toBe(PLAIN);
    }
  });

  it('round-trips any text (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.constantFrom('apiKey' as const, 'secret' as const, 'passphrase' as const),
        fc.string({ minLength: 1, maxLength: 40 }),
        (plain, field, accountId) => {
          const context = { accountId, ownerId: '42', field };
          expect(vault.decrypt(vault.encrypt(plain, context), context).reveal()).toBe(plain);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes the documented format under the current (highest) key id', () => {
    const envelope = vault.encrypt(PLAIN, ctx);
    expect(envelope).toMatch(/^v1:3:[A-Za-z0-9_-]{32}:[A-Za-z0-9_-]+$/);
    const [, , nonce, ciphertext] = envelope.split(':');
    expect(fromB64url(nonce ?? '')).toHaveLength(24);
    expect(fromB64url(ciphertext ?? '')).toHaveLength(Buffer.byteLength(PLAIN) + 16);
    expect(envelope).not.toContain(PLAIN);
    expect(vault.currentKeyId).toBe(3);
    expect(vault.keyIdOf(envelope)).toBe(3);
    expect(vault.needsRotation(envelope)).toBe(false);
  });

  it('fails on any flipped bit in the nonce', () => {
    const envelope = vault.encrypt(PLAIN, ctx);
    for (let bit = 0; bit < 24 * 8; bit += 1) expectDecryptFailure(vault, flipBit(envelope, 2, bit), ctx);
  });

  it('fails on any flipped bit in the ciphertext or tag', () => {
    const envelope = vault.encrypt(PLAIN, ctx);
    const bits = (Buffer.byteLength(PLAIN) + 16) * 8;
    for (let bit = 0; bit < bits; bit += 1) expectDecryptFailure(vault, flipBit(envelope, 3, bit), ctx);
  });

  it('fails when the key id is changed to another key of the ring', () => {
    const envelope = vault.encrypt(PLAIN, ctx);
    // '3' (0x33) with its low bit flipped is '2' (0x32): a key that exists, so authentication decides.
    const flipped = envelope.replace(/^v1:3:/, `v1:${String.fromCharCode('3'.charCodeAt(0) ^ 1)}:`);
    expect(vault.keyIdOf(flipped)).toBe(2);
    expectDecryptFailure(vault, flipped, ctx);
    expectDecryptFailure(vault, envelope.replace(/^v1:3:/, 'v1:1:'), ctx);
  });

  it('fails with vault-unknown-key or vault-malformed-envelope for other key id edits', () => {
    const envelope = vault.encrypt(PLAIN, ctx);
    const unknown = failure(() => vault.decrypt(envelope.replace(/^v1:3:/, 'v1:7:'), ctx));
    expect(unknown.code).toBe('vault-unknown-key');
    expect(unknown.message).toContain('vault key 7');
    for (const edit of ['v1:0:', 'v1:03:', 'v1:-3:', 'v1::', 'v2:3:']) {
      expectDecryptFailure(vault, envelope.replace(/^v1:3:/, edit), ctx, 'vault-malformed-envelope');
    }
  });

  it('fails when the ciphertext moves to another account, owner or field', () => {
    const envelope = vault.encrypt(PLAIN, ctx);
    expectDecryptFailure(vault, envelope, { ...ctx, accountId: 'acc-2' });
    expectDecryptFailure(vault, envelope, { ...ctx, ownerId: '123456789012345679' });
    expectDecryptFailure(vault, envelope, { ...ctx, field: 'apiKey' });
    expectDecryptFailure(vault, envelope, { ...ctx, field: 'passphrase' });
    // Context parts cannot be re-split to forge another row: the additional data is a JSON array.
    const split = { accountId: 'a', ownerId: 'b,c', field: 'secret' as const };
    expectDecryptFailure(vault, vault.encrypt(PLAIN, split), {
      accountId: 'a,b',
      ownerId: 'c',
      field: 'secret',
    });
    expectDecryptFailure(vault, vault.encrypt(PLAIN, split), {
      accountId: 'a","b,c',
      ownerId: 'x',
      field: 'secret',
    });
  });

  it('fails with a wrong keyring (same ids, other keys)', async () => {
    const envelope = vault.encrypt(PLAIN, ctx);
    const other = await openVault(keyringWith(1, 2, 3));
    expectDecryptFailure(other, envelope, ctx);
  });

  it('opens envelopes of older keys when the ring has them', () => {
    const [one, two] = entries(1, 2);
    const oldVault = createVault(parseKeyring(`${one}`));
    const newVault = createVault(parseKeyring(`${one},${two}`));
    const old = oldVault.encrypt(PLAIN, ctx);
    expect(newVault.needsRotation(old)).toBe(true);
    expect(newVault.decrypt(old, ctx).reveal()).toBe(PLAIN);
    expect(newVault.keyIdOf(newVault.encrypt(PLAIN, ctx))).toBe(2);
  });

  it('uses a fresh nonce for each of 10^4 encryptions of one plaintext', () => {
    const nonces = new Set<string>();
    const envelopes = new Set<string>();
    for (let i = 0; i < 10_000; i += 1) {
      const envelope = vault.encrypt(PLAIN, ctx);
      envelopes.add(envelope);
      nonces.add(envelope.split(':')[2] ?? '');
    }
    expect(nonces.size).toBe(10_000);
    expect(envelopes.size).toBe(10_000);
  });

  it('rejects malformed envelopes without echoing them', () => {
    for (const bad of [
      '',
      'plaintext-api-key',
      'v1:1:abc:def',
      `v1:1:${'A'.repeat(32)}:short`,
      'v1:1:' + 'A'.repeat(32),
    ]) {
      const error = failure(() => vault.keyIdOf(bad));
      expect(error.code).toBe('vault-malformed-envelope');
      if (bad.length > 0) expect(error.message).not.toContain(bad);
    }
  });

  it('rejects an empty or unknown context', () => {
    expect(failure(() => vault.encrypt(PLAIN, { ...ctx, accountId: '' })).code).toBe('vault-bad-context');
    expect(failure(() => vault.encrypt(PLAIN, { ...ctx, ownerId: '' })).code).toBe('vault-bad-context');
    const badField = { ...ctx, field: 'password' } as unknown as SecretContext;
    expect(failure(() => vault.encrypt(PLAIN, badField)).message).toContain('apiKey, secret, passphrase');
  });
});
