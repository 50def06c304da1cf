import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { apiKeyHint, HIDDEN_HINT } from '../../../src/vault/mask';
import * as mask from '../../../src/vault/mask';

describe('apiKeyHint', () => {
  it('shows the first 4 and last 4 characters', () => {
    expect(apiKeyHint('vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A')).toBe('vmPU…Eh8A');
    expect(apiKeyHint('abcdefghijkl')).toBe('abcd…ijkl');
  });

  it('shows nothing of keys shorter than 12 characters', () => {
    for (const key of ['', 'a', 'abcdefgh', 'abcdefghijk']) expect(apiKeyHint(key)).toBe(HIDDEN_HINT);
  });

  it('never reveals more than 8 characters, nor more than two thirds of the key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 80 }), (key) => {
        const hint = apiKeyHint(key);
        const shown = hint.replace('…', '').replace(HIDDEN_HINT, '');
        expect(shown.length).toBeLessThanOrEqual(8);
        expect(shown.length * 3).toBeLessThanOrEqual(key.trim().length * 2);
      }),
    );
  });

  it('offers nothing that masks a secret or a passphrase', () => {
    expect(Object.keys(mask).sort()).toEqual(['HIDDEN_HINT', 'apiKeyHint']);
  });
});
