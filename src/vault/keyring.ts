import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { VaultError } from './errors';

/** XChaCha20-Poly1305 keys are 32 bytes. */
export const KEY_BYTES = 32;
const MAX_KEY_ID = 2 ** 31 - 1;

/**
 * The vault keys by id. The highest id encrypts; every id decrypts (so a rotation can read rows
 * written under older keys). Key bytes stay in a private field and the object prints as a list
 * of ids only, so logging a keyring cannot leak a key.
 */
export class Keyring {
  readonly #keys: ReadonlyMap<number, Uint8Array>;
  readonly currentKeyId: number;

  constructor(keys: ReadonlyMap<number, Uint8Array>) {
    if (keys.size === 0) throw new VaultError('vault-bad-keyring', 'the vault keyring is empty');
    for (const [id, key] of keys) {
      if (!isKeyId(id))
        throw new VaultError('vault-bad-keyring', `vault key id ${String(id)} is not a positive integer`);
      if (key.length !== KEY_BYTES) {
        throw new VaultError(
          'vault-bad-keyring',
          `vault key ${id} must be ${KEY_BYTES} bytes, got ${key.length}`,
        );
      }
    }
    this.#keys = new Map([...keys].map(([id, key]) => [id, Uint8Array.from(key)]));
    this.currentKeyId = Math.max(...keys.keys());
  }

  /** Ids in ascending order. */
  get ids(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  has(id: number): boolean {
    return this.#keys.has(id);
  }

  /** The key bytes for `id`, or undefined. Only the envelope code calls this. */
  key(id: number): Uint8Array | undefined {
    return this.#keys.get(id);
  }

  toString(): string {
    return `Keyring(ids: ${this.ids.join(', ')}; current: ${this.currentKeyId})`;
  }

  toJSON(): { ids: number[]; currentKeyId: number } {
    return { ids: this.ids, currentKeyId: this.currentKeyId };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export const isKeyId = (id: number): boolean => Number.isInteger(id) && id >= 1 && id <= MAX_KEY_ID;

const STANDARD_B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const URLSAFE_B64 = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * Parses `VAULT_KEYS`: comma-separated `id:base64` entries (standard or URL-safe base64, each
 * key 32 bytes, ids positive integers, no duplicates). Whitespace and newlines around entries are
 * ignored, so the same text works in an env var and in the key file. On any problem it throws ONE
 * VaultError listing every bad entry by position and id, never echoing key material.
 */
export function parseKeyring(text: string, source = 'VAULT_KEYS'): Keyring {
  const entries = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) {
    throw new VaultError(
      'vault-bad-keyring',
      `${source} holds no key; expected "id:base64" entries separated by commas (npm run vault:keygen makes one)`,
    );
  }
  const problems: string[] = [];
  const keys = new Map<number, Uint8Array>();
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) {
      problems.push(`${where}: expected "id:base64", found no ":"`);
      return;
    }
    const idText = entry.slice(0, colon).trim();
    const keyText = entry.slice(colon + 1).trim();
    // Echo the id only when it looks like one: a key pasted in the wrong place must not be logged.
    const named = /^[+-]?[0-9]{1,12}$/.test(idText) ? `${where} (id ${idText})` : where;
    const id = /^[0-9]{1,10}$/.test(idText) ? Number(idText) : Number.NaN;
    let ok = true;
    if (!isKeyId(id)) {
      problems.push(`${named}: id must be a positive integer`);
      ok = false;
    } else if (keys.has(id)) {
      problems.push(`${where} (id ${id}): duplicate id`);
      ok = false;
    }
    const key = decodeKey(keyText);
    if (typeof key === 'string') {
      problems.push(`${ok ? `${where} (id ${id})` : named}: ${key}`);
      ok = false;
    }
    if (ok && typeof key !== 'string') keys.set(id, key);
  });
  if (problems.length > 0) {
    throw new VaultError('vault-bad-keyring', `${source} is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return new Keyring(keys);
}

/** The key bytes, or a description of what is wrong (without the key). */
function decodeKey(text: string): Uint8Array | string {
  if (text.length === 0) return 'key is empty';
  const standard = STANDARD_B64.test(text);
  if (!standard && !URLSAFE_B64.test(text)) return 'key is not base64';
  const bytes = Buffer.from(text, standard ? 'base64' : 'base64url');
  if (bytes.length !== KEY_BYTES) return `key must be ${KEY_BYTES} bytes, got ${bytes.length}`;
  return new Uint8Array(bytes);
}

/** A fresh random key as a `VAULT_KEYS` entry: `id:base64`. */
export function generateKeyEntry(id = 1): string {
  if (!isKeyId(id)) throw new VaultError('vault-bad-keyring', `key id must be a positive integer, got ${id}`);
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
