import sodium from 'libsodium-wrappers';
import { VaultError } from './errors';
import { isKeyId } from './keyring';
import type { Keyring } from './keyring';
import { Secret } from './secret';

/**
 * Envelope format (one string per encrypted column value):
 *
 *   v1:<keyId>:<nonce>:<ciphertext>
 *
 * - `v1`: format version; XChaCha20-Poly1305-IETF AEAD from libsodium.
 * - `keyId`: decimal id of the keyring entry that encrypted it.
 * - `nonce`: 24 random bytes, fresh for every encryption, base64url without padding (32 chars).
 * - `ciphertext`: ciphertext plus 16-byte tag, base64url without padding.
 *
 * Additional data (authenticated, not stored) is the JSON array
 * `["trading-bot-vault", "v1", keyId, accountId, ownerId, field]`, so a ciphertext only opens
 * for the same version, key id, account row, owner and field it was written for: copying it to
 * another row or field, or editing the key id, makes decryption fail.
 */
export const ENVELOPE_VERSION = 'v1';

export type SecretField = 'apiKey' | 'secret' | 'passphrase';
export const SECRET_FIELDS: readonly SecretField[] = ['apiKey', 'secret', 'passphrase'];

export interface SecretContext {
  /** The exchange account row's id. */
  accountId: string;
  /** The owner's Discord user id. */
  ownerId: string;
  field: SecretField;
}

export interface Vault {
  /** The key id new envelopes are written under (the keyring's highest). */
  readonly currentKeyId: number;
  encrypt(plain: Secret | string, ctx: SecretContext): string;
  /** Throws VaultError (`vault-malformed-envelope`, `vault-unknown-key`, `vault-decrypt-failed`). */
  decrypt(envelope: string, ctx: SecretContext): Secret;
  /** The key id an envelope was written under; throws `vault-malformed-envelope`. */
  keyIdOf(envelope: string): number;
  /** True when the envelope is not under the current key (rotation should rewrite it). */
  needsRotation(envelope: string): boolean;
}

let sodiumIsReady = false;
/** Resolves once libsodium's WebAssembly is loaded; createVault needs it. */
export const vaultReady: Promise<void> = sodium.ready.then(() => {
  sodiumIsReady = true;
});

const ENVELOPE = /^v1:([1-9][0-9]{0,9}):([A-Za-z0-9_-]{32}):([A-Za-z0-9_-]{22,})$/;
const B64 = () => sodium.base64_variants.URLSAFE_NO_PADDING;

interface ParsedEnvelope {
  keyId: number;
  nonce: string;
  ciphertext: string;
}

function parseEnvelope(envelope: string): ParsedEnvelope {
  const match = typeof envelope === 'string' ? ENVELOPE.exec(envelope) : null;
  const keyId = Number(match?.[1]);
  if (!match || !isKeyId(keyId) || match[2] === undefined || match[3] === undefined) {
    // Never echo the envelope: even ciphertext stays out of logs and messages.
    throw new VaultError(
      'vault-malformed-envelope',
      `not a vault envelope (expected ${ENVELOPE_VERSION}:<keyId>:<nonce>:<ciphertext>)`,
    );
  }
  return { keyId, nonce: match[2], ciphertext: match[3] };
}

function checkContext(ctx: SecretContext): void {
  const problems: string[] = [];
  if (typeof ctx.accountId !== 'string' || ctx.accountId.length === 0) problems.push('accountId is empty');
  if (typeof ctx.ownerId !== 'string' || ctx.ownerId.length === 0) problems.push('ownerId is empty');
  if (!SECRET_FIELDS.includes(ctx.field)) problems.push(`field must be one of ${SECRET_FIELDS.join(', ')}`);
  if (problems.length > 0)
    throw new VaultError('vault-bad-context', `bad vault context: ${problems.join('; ')}`);
}

const additionalData = (keyId: number, ctx: SecretContext): Uint8Array =>
  sodium.from_string(
    JSON.stringify(['trading-bot-vault', ENVELOPE_VERSION, keyId, ctx.accountId, ctx.ownerId, ctx.field]),
  );

const describe = (ctx: SecretContext): string => `${ctx.field} of account ${ctx.accountId}`;

/** A vault over `keyring`. Call after `await vaultReady` (or use openVault). */
export function createVault(keyring: Keyring): Vault {
  if (!sodiumIsReady) {
    throw new VaultError(
      'vault-not-ready',
      'libsodium is not loaded yet: await vaultReady (or use openVault)',
    );
  }
  const currentKeyId = keyring.currentKeyId;

  const keyIdOf = (envelope: string): number => parseEnvelope(envelope).keyId;

  return {
    currentKeyId,
    keyIdOf,
    needsRotation: (envelope) => keyIdOf(envelope) !== currentKeyId,

    encrypt(plain, ctx) {
      checkContext(ctx);
      const key = keyring.key(currentKeyId);
      if (!key) throw new VaultError('vault-unknown-key', `vault key ${currentKeyId} is missing`);
      const message = sodium.from_string(plain instanceof Secret ? plain.reveal() : String(plain));
      const nonce = sodium.randombytes_buf(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
      const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        message,
        additionalData(currentKeyId, ctx),
        null,
        nonce,
        key,
      );
      sodium.memzero(message);
      return `${ENVELOPE_VERSION}:${currentKeyId}:${sodium.to_base64(nonce, B64())}:${sodium.to_base64(ciphertext, B64())}`;
    },

    decrypt(envelope, ctx) {
      checkContext(ctx);
      const parsed = parseEnvelope(envelope);
      const key = keyring.key(parsed.keyId);
      if (!key) {
        throw new VaultError(
          'vault-unknown-key',
          `cannot decrypt ${describe(ctx)}: it was encrypted with vault key ${parsed.keyId}, which is not in the keyring (ids: ${keyring.ids.join(', ')})`,
        );
      }
      let message: Uint8Array;
      try {
        message = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
          null,
          sodium.from_base64(parsed.ciphertext, B64()),
          additionalData(parsed.keyId, ctx),
          sodium.from_base64(parsed.nonce, B64()),
          key,
        );
      } catch {
        // No cause attached: the library's error adds nothing and must not carry bytes along.
        throw new VaultError(
          'vault-decrypt-failed',
          `cannot decrypt ${describe(ctx)} with vault key ${parsed.keyId}: wrong key, altered ciphertext, or a ciphertext from another row or field`,
        );
      }
      const plain = new Secret(sodium.to_string(message));
      sodium.memzero(message);
      return plain;
    },
  };
}

/** Waits for libsodium, then creates the vault. */
export async function openVault(keyring: Keyring): Promise<Vault> {
  await vaultReady;
  return createVault(keyring);
}
