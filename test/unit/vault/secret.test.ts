import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger';
import { REDACTED, Secret } from '../../../src/vault/secret';
import { Capture } from './helpers';

const PLAIN = 'sk-live-0123456789abcdef';

describe('Secret', () => {
  const secret = new Secret(PLAIN);
  const holder = { account: { name: 'main', secret }, list: [secret] };

  it('reveals the plaintext only through reveal()', () => {
    expect(secret.reveal()).toBe(PLAIN);
    expect(secret.isEmpty).toBe(false);
    expect(new Secret('').isEmpty).toBe(true);
  });

  it('prints as [redacted] through String, templates, concatenation and toString', () => {
    expect(String(secret)).toBe(REDACTED);
    expect(`${secret}`).toBe(REDACTED);
    expect('k=' + secret).toBe(`k=${REDACTED}`);
    expect(secret.toString()).toBe(REDACTED);
    expect([secret].join(',')).toBe(REDACTED);
  });

  it('serialises as [redacted] in JSON, alone and nested', () => {
    expect(JSON.stringify(secret)).toBe(`"${REDACTED}"`);
    const json = JSON.stringify(holder);
    expect(json).not.toContain(PLAIN);
    expect(JSON.parse(json)).toEqual({ account: { name: 'main', secret: REDACTED }, list: [REDACTED] });
  });

  it('inspects and formats as [redacted] (console.log uses the same code)', () => {
    expect(inspect(secret)).toBe(REDACTED);
    for (const text of [
      inspect(holder, { depth: 10, showHidden: true }),
      format('%s %o %O %j', secret, holder, holder, holder),
      format(secret),
      format('%s', holder),
    ]) {
      expect(text).not.toContain(PLAIN);
    }
  });

  it('keeps no enumerable or own property holding the plaintext', () => {
    expect(Object.keys(secret)).toEqual([]);
    expect(Reflect.ownKeys(secret)).toEqual([]);
    expect({ ...secret }).toEqual({});
    expect(Object.getOwnPropertyDescriptors(secret)).toEqual({});
  });

  it('loses the plaintext (rather than copying it) under structuredClone', () => {
    const clone = structuredClone(holder);
    expect(JSON.stringify(clone)).not.toContain(PLAIN);
    expect(inspect(clone, { depth: 10, showHidden: true })).not.toContain(PLAIN);
    expect(clone.account.secret).not.toBeInstanceOf(Secret);
  });

  it('never reaches pino output', () => {
    const out = new Capture();
    const log = createLogger({ destination: out });
    log.info({ holder, secret, nested: { deep: { deeper: { s: secret } } } }, 'with %s', secret);
    log.info(`template ${secret}`);
    expect(out.text).not.toContain(PLAIN);
    expect(out.text).toContain(REDACTED);
  });

  it('rejects a non-string at runtime', () => {
    expect(() => new Secret(42 as unknown as string)).toThrow(TypeError);
  });
});
