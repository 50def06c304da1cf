/** The key vault: see envelope.ts for the format, rotation.ts for the RotationStore contract. */
export { Secret, REDACTED } from './secret';
export { VaultError, isVaultError } from './errors';
export type { VaultErrorCode } from './errors';
export { Keyring, KEY_BYTES, parseKeyring, generateKeyEntry, isKeyId } from './keyring';
export { createVault, openVault, vaultReady, ENVELOPE_VERSION, SECRET_FIELDS } from './envelope';
export type { SecretContext, SecretField, Vault } from './envelope';
export { apiKeyHint, HIDDEN_HINT } from './mask';
export { loadOrCreateKeyFile, resolveKeyring, KEY_FILE_NAME } from './keyFile';
export type { ResolveKeyringOptions } from './keyFile';
export { rotateAll } from './rotation';
export type {
  RotateOptions,
  RotationFailure,
  RotationResult,
  RotationRow,
  RotationStore,
  SecretEnvelopes,
} from './rotation';
export { runRotation } from './rotateCommand';
export type { RunRotationOptions } from './rotateCommand';
export type { VaultLogger } from './log';
