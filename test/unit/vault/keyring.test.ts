import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { Buffer } from 'node:buffer';
import { isVaultError, VaultError } from '../../../src/vault/errors';
import { generateKeyEntry, KEY_BYTES, Keyring, parseKeyring } from '../../../src/vault/keyring';

const b64 = (bytes: number, fill = 7): string => Buffer.alloc(bytes, fill).toString('base64');
const KEY = b64(32);

function parseError(text: string): VaultError {
  try {
    parseKeyring(text);
  } catch (error) {
    if (error instanceof VaultError) return error;
    throw error;
  }
  throw new Error('expected parseKeyring to throw');
}

describe('parseKeyring', () => {
  it('parses entries and picks the highest id as current', () => {
    const keyring = parseKeyring(`2:${KEY}, 10:${b64(32, 1)},3:${b64(32, 2)}`);
    expect(keyring.ids).toEqual([2, 3, 10]);
    expect(keyring.currentKeyId).toBe(10);
    expect(keyring.key(2)).toEqual(new Uint8Array(32).fill(7));
    expect(keyring.has(4)).toBe(false);
  });

  it('accepts URL-safe base64 and newline separators (the key file format)', () => {
    const urlsafe = Buffer.alloc(32, 0xfb).toString('base64url');
    expect(urlsafe).toMatch(/[-_]/);
    const keyring = parseKeyring(`1:${KEY}\n2:${urlsafe}\n`);
    expect(keyring.key(2)).toEqual(new Uint8Array(32).fill(0xfb));
  });

  it('round-trips generateKeyEntry output', () => {
    const entry = generateKeyEntry(5);
    expect(entry).toMatch(/^5:[A-Za-z0-9+/]{43}=$/);
    expect(parseKeyring(entry).currentKeyId).toBe(5);
    expect(generateKeyEntry()).toMatch(/^1:/);
    expect(generateKeyEntry(1)).not.toBe(generateKeyEntry(1));
    expect(() => generateKeyEntry(0)).toThrow(VaultError);
  });

  it('names every bad entry in one error without echoing key material', () => {
    const shortKey = b64(16, 9);
    const longKey = b64(48, 8);
    const error = parseError(
      [
        `1:${KEY}`,
        `0:${KEY}`,
        `x:${KEY}`,
        `3:${shortKey}`,
        `4:not*base64!`,
        `5`,
        `1:${KEY}`,
        `6:`,
        `7:${longKey}`,
      ].join(','),
    );
    expect(error.code).toBe('vault-bad-keyring');
    expect(error.name).toBe('VaultError[vault-bad-keyring]');
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('VAULT_KEYS is invalid:');
    expect(error.message).toContain('entry 2 (id 0): id must be a positive integer');
    expect(error.message).toContain('entry 3: id must be a positive integer');
    expect(error.message).toContain(`entry 4 (id 3): key must be ${KEY_BYTES} bytes, got 16`);
    expect(error.message).toContain('entry 5 (id 4): key is not base64');
    expect(error.message).toContain('entry 6: expected "id:base64"');
    expect(error.message).toContain('entry 7 (id 1): duplicate id');
    expect(error.message).toContain('entry 8 (id 6): key is empty');
    expect(error.message).toContain('entry 9 (id 7): key must be 32 bytes, got 48');
    expect(error.message).not.toContain('entry 1 ');
    for (const material of [KEY, shortKey, longKey, 'not*base64!'])
      expect(error.message).not.toContain(material);
  });

  it('does not echo a key pasted where the id belongs', () => {
    const error = parseError(`${KEY}:1`);
    expect(error.message).toContain('entry 1: id must be a positive integer');
    expect(error.message).not.toContain(KEY.slice(0, 8));
  });

  it('rejects empty text and names the source', () => {
    expect(parseError('  ').message).toMatch(/VAULT_KEYS holds no key/);
    expect(() => parseKeyring(' , ', '/data/vault.key')).toThrow(/\/data\/vault\.key holds no key/);
  });

  it('rejects ids beyond 2^31-1 and signs', () => {
    expect(parseError(`2147483648:${KEY}`).message).toContain(
      'entry 1 (id 2147483648): id must be a positive integer',
    );
    expect(parseError(`-1:${KEY}`).message).toContain('entry 1 (id -1)');
    expect(parseKeyring(`2147483647:${KEY}`).currentKeyId).toBe(2147483647);
  });

  it('never prints key bytes when logged or serialised', () => {
    const keyring = parseKeyring(`1:${KEY},2:${b64(32, 3)}`);
    for (const text of [
      String(keyring),
      JSON.stringify(keyring),
      inspect(keyring, { showHidden: true, depth: 5 }),
    ]) {
      expect(text).toMatch(/1, ?2/);
      expect(text).not.toMatch(/7, ?7/);
      expect(text).not.toContain(KEY);
    }
    expect(JSON.parse(JSON.stringify({ keyring }))).toEqual({ keyring: { ids: [1, 2], currentKeyId: 2 } });
  });

  it('validates keys given directly to the constructor', () => {
    expect(() => new Keyring(new Map())).toThrow(/empty/);
    expect(() => new Keyring(new Map([[1, new Uint8Array(31)]]))).toThrow(/32 bytes/);
    expect(isVaultError(parseError('1:x'), 'vault-bad-keyring')).toBe(true);
  });
});
