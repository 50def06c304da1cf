/** What went wrong in the vault; kebab-case, carried in the error's `name` (DESIGN.md). */
export type VaultErrorCode =
  | 'vault-bad-keyring'
  | 'vault-unknown-key'
  | 'vault-malformed-envelope'
  | 'vault-decrypt-failed'
  | 'vault-bad-context'
  | 'vault-not-ready'
  | 'vault-key-file'
  | 'vault-keys-required';

/**
 * Every vault failure. Messages name the account, field, key id or keyring entry involved and
 * never contain key material, ciphertext or plaintext, so they are safe to log and to show.
 */
export class VaultError extends Error {
  readonly code: VaultErrorCode;

  constructor(code: VaultErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = `VaultError[${code}]`;
  }
}

export const isVaultError = (error: unknown, code?: VaultErrorCode): error is VaultError =>
  error instanceof VaultError && (code === undefined || error.code === code);
