import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base62,
  CLIENT_ORDER_ID_PATTERN,
  clientOrderId,
  closeLeg,
  entryLeg,
  fnv1a128,
  isBotClientOrderId,
  parseLeg,
  stopLeg,
  takeProfitLeg,
} from '../../../src/domain/clientOrderId';

/** Straightforward BigInt FNV-1a 128 over UTF-8, as the oracle for the limb implementation. */
function referenceFnv(text: string): bigint {
  const prime = 0x0000000001000000000000000000013bn;
  const mask = (1n << 128n) - 1n;
  let h = 0x6c62272e07bb014262b821756295c58dn;
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * prime) & mask;
  return h;
}

const toBig = (limbs: number[]) => limbs.reduceRight((acc, limb) => (acc << 16n) | BigInt(limb), 0n);

describe('FNV-1a 128', () => {
  it.each([
    ['', '6c62272e07bb014262b821756295c58d'],
    ['a', 'd228cb696f1a8caf78912b704e4a8964'],
    ['foobar', '343e1662793c64bf6f0d3597ba446f18'],
  ])('published vector %j', (text, hex) => {
    expect(toBig(fnv1a128(text)).toString(16).padStart(32, '0')).toBe(hex);
  });

  it('matches a BigInt reference on arbitrary well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        expect(toBig(fnv1a128(text))).toBe(referenceFnv(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('base62 is the 22-digit big-endian encoding of the 128 bits', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (limbs) => {
        const encoded = base62(limbs);
        expect(encoded).toMatch(/^[0-9A-Za-z]{22}$/);
        const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
        const decoded = [...encoded].reduce((acc, ch) => acc * 62n + BigInt(alphabet.indexOf(ch)), 0n);
        expect(decoded).toBe(toBig(limbs));
      }),
      { numRuns: 2000 },
    );
    expect(base62(Array(8).fill(0xffff))).toBe('7n42DGM5Tflk9n8mt7Fhc7');
  });
});

describe('clientOrderId', () => {
  it('is stable across releases (stored ids must keep matching)', () => {
    expect(clientOrderId('sig', 'acc', 'e0')).toBe('mb6yYyh5Z1BPP7fnRqgl2Eq4');
  });

  it('is deterministic and valid on every exchange', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (signal, account, leg) => {
        const id = clientOrderId(signal, account, leg);
        expect(id).toBe(clientOrderId(signal, account, leg));
        expect(id).toMatch(CLIENT_ORDER_ID_PATTERN);
        expect(id).toHaveLength(24);
        expect(isBotClientOrderId(id)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('tells distinct triples apart, including ones whose concatenations agree', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.string(), fc.string(), fc.string()),
        fc.tuple(fc.string(), fc.string(), fc.string()),
        (a, b) => {
          fc.pre(a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]);
          expect(clientOrderId(...a)).not.toBe(clientOrderId(...b));
        },
      ),
      { numRuns: 3000 },
    );
    expect(clientOrderId('ab', 'c', 'e0')).not.toBe(clientOrderId('a', 'bc', 'e0'));
    expect(clientOrderId('1:a', '', 'e0')).not.toBe(clientOrderId('', '1:a', 'e0'));
    // Lone surrogates are distinct inputs too (WTF-8 keeps the encoding injective).
    expect(clientOrderId('\ud800', 'a', 'e0')).not.toBe(clientOrderId('\udc00', 'a', 'e0'));
  });

  it('is collision-free over 10^6 distinct (signal, account, leg) inputs', () => {
    // Realistic shapes: UUID signals and accounts, every leg kind. 2 000 signals × 125 accounts × 4 legs.
    const uuid = (prefix: string, n: number) =>
      `${prefix}${n.toString(16).padStart(7, '0')}-4e5f-4a8b-9c0d-${((n * 2654435761) % 2 ** 32).toString(16).padStart(12, '0')}`;
    const legs = [entryLeg(0), stopLeg(0), takeProfitLeg(0), takeProfitLeg(1)];
    const seen = new Set<string>();
    let count = 0;
    for (let s = 0; s < 2000; s += 1) {
      const signal = uuid('5', s);
      for (let a = 0; a < 125; a += 1) {
        const account = uuid('a', a);
        for (const leg of legs) {
          seen.add(clientOrderId(signal, account, leg));
          count += 1;
        }
      }
    }
    expect(count).toBe(1_000_000);
    expect(seen.size).toBe(1_000_000);
  });
});

describe('leg ids', () => {
  it('follow the grammar', () => {
    expect([entryLeg(0), entryLeg(2), stopLeg(0), stopLeg(1), takeProfitLeg(3), closeLeg(0)]).toEqual([
      'e0',
      'e2',
      's0',
      's1',
      't3',
      'c0',
    ]);
    expect(() => entryLeg(-1)).toThrow(RangeError);
    expect(() => stopLeg(1.5)).toThrow(RangeError);
  });

  it('take-profits gain a version when replaced; version 0 is the unversioned leg', () => {
    expect([takeProfitLeg(1, 0), takeProfitLeg(1, 1), takeProfitLeg(0, 12)]).toEqual(['t1', 't1v1', 't0v12']);
    expect(() => takeProfitLeg(0, -1)).toThrow(RangeError);
    expect(() => takeProfitLeg(0, 0.5)).toThrow(RangeError);
    // Distinct versions are distinct orders, each with a valid id.
    const ids = [0, 1, 2].map((v) => clientOrderId('sig', 'acc', takeProfitLeg(1, v)));
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(CLIENT_ORDER_ID_PATTERN);
    // Legs stored before versions existed keep their ids.
    expect(clientOrderId('sig', 'acc', takeProfitLeg(0))).toBe(clientOrderId('sig', 'acc', 't0'));
  });

  it.each([
    ['e0', { kind: 'entry', index: 0, version: 0 }],
    ['s12', { kind: 'stop-loss', index: 12, version: 0 }],
    ['t2', { kind: 'take-profit', index: 2, version: 0 }],
    ['t2v3', { kind: 'take-profit', index: 2, version: 3 }],
    ['t0v10', { kind: 'take-profit', index: 0, version: 10 }],
    ['c1', { kind: 'close', index: 1, version: 0 }],
    ['t1v0', { kind: 'invalid' }],
    ['t1v01', { kind: 'invalid' }],
    ['t1v', { kind: 'invalid' }],
    ['tv1', { kind: 'invalid' }],
    ['s1v1', { kind: 'invalid' }],
    ['e0v2', { kind: 'invalid' }],
    ['t1v99999999999999999999', { kind: 'invalid' }],
    ['e01', { kind: 'invalid' }],
    ['x1', { kind: 'invalid' }],
    ['e', { kind: 'invalid' }],
    ['e-1', { kind: 'invalid' }],
    ['E1', { kind: 'invalid' }],
    ['t99999999999999999999', { kind: 'invalid' }],
  ])('parse %s', (leg, parsed) => {
    expect(parseLeg(leg)).toEqual(parsed);
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(fc.constantFrom(entryLeg, stopLeg, takeProfitLeg, closeLeg), fc.nat(), (make, n) => {
        const parsed = parseLeg(make(n));
        expect(parsed).toMatchObject({ index: n });
      }),
    );
  });

  it('take-profit versions round-trip and stay within the leg alphabet', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (index, version) => {
        const id = takeProfitLeg(index, version);
        expect(id).toMatch(/^[A-Za-z0-9]+$/);
        expect(parseLeg(id)).toEqual({ kind: 'take-profit', index, version });
      }),
    );
  });
});
