import { Writable } from 'node:stream';
import { Buffer } from 'node:buffer';
import { generateKeyEntry, parseKeyring } from '../../../src/vault/keyring';
import type { Keyring } from '../../../src/vault/keyring';
import type { RotationRow, RotationStore, SecretEnvelopes } from '../../../src/vault/rotation';

/** A keyring with the given ids and fresh random keys. */
export const keyringWith = (...ids: number[]): Keyring =>
  parseKeyring(ids.map((id) => generateKeyEntry(id)).join(','));

/** Text of a keyring entry list, for building a second keyring that shares some keys. */
export const entries = (...ids: number[]): string[] => ids.map((id) => generateKeyEntry(id));

export const fromB64url = (text: string): Buffer => Buffer.from(text, 'base64url');
export const toB64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** The envelope with one bit flipped in part 2 (nonce) or 3 (ciphertext). */
export function flipBit(envelope: string, part: 2 | 3, bit: number): string {
  const parts = envelope.split(':');
  const bytes = fromB64url(parts[part] ?? '');
  const index = Math.floor(bit / 8) % bytes.length;
  bytes[index] = (bytes[index] ?? 0) ^ (1 << (bit % 8));
  parts[part] = toB64url(bytes);
  return parts.join(':');
}

/** Collects everything written to it, for asserting on log output. */
export class Capture extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(String(chunk));
    callback();
  }
  get text(): string {
    return this.chunks.join('');
  }
  get lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/** RotationStore over a Map, with the compare-and-set the database implementation must provide. */
export class MemoryRotationStore implements RotationStore {
  readonly rows = new Map<string, RotationRow>();
  updates = 0;
  /** Throw on the update after this many successful ones (simulates a crash). */
  failAfter: number | undefined;

  constructor(rows: RotationRow[]) {
    for (const row of rows) this.rows.set(row.id, structuredClone(row));
  }

  async nextBatch(afterId: string | null, limit: number): Promise<RotationRow[]> {
    return [...this.rows.values()]
      .filter((row) => afterId === null || row.id > afterId)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((row) => structuredClone(row));
  }

  async update(
    key: Pick<RotationRow, 'id' | 'ownerId'>,
    next: SecretEnvelopes,
    expected: SecretEnvelopes,
  ): Promise<boolean> {
    if (this.failAfter !== undefined && this.updates >= this.failAfter) throw new Error('simulated crash');
    const row = this.rows.get(key.id);
    if (!row || row.ownerId !== key.ownerId) return false;
    for (const [field, envelope] of Object.entries(expected)) {
      if (row.envelopes[field as keyof SecretEnvelopes] !== envelope) return false;
    }
    row.envelopes = { ...row.envelopes, ...next };
    this.updates += 1;
    return true;
  }
}
