import { describe, expect, it } from 'vitest';
import {
  describeReason,
  FAILURE_REASONS,
  isReasonCode,
  NOTE_TEXT,
  PLAN_NOTES,
  REASON_TEXT,
  SKIP_REASONS,
  skip,
} from '../../../src/domain/reasons';

describe('reason catalogue', () => {
  const codes = Object.keys(REASON_TEXT);

  it('every code is kebab-case and has plain words', () => {
    for (const code of [...codes, ...PLAN_NOTES]) expect(code).toMatch(/^[a-z]+(-[a-z0-9]+)*$/);
    for (const text of [...Object.values(REASON_TEXT), ...Object.values(NOTE_TEXT)]) {
      expect(text.length).toBeGreaterThan(3);
      expect(text).not.toMatch(/[a-z]+-[a-z]+-[a-z]+/); // words, not a code
    }
  });

  it('codes are unique across skips and failures', () => {
    const all = [...SKIP_REASONS, ...FAILURE_REASONS];
    expect(new Set(all).size).toBe(all.length);
  });

  it.each([
    ['below-min-notional', 'below the exchange minimum'],
    ['daily-loss-limit', 'daily loss limit reached'],
    ['key-revoked', 'key revoked'],
    ['exchange-timeout', 'exchange timed out'],
    ['insufficient-balance', 'insufficient balance'],
    ['symbol-not-listed', 'not listed on this exchange'],
  ] as const)('%s reads "%s"', (code, text) => {
    expect(describeReason(code)).toBe(text);
  });

  it('includes the failures the engine produces', () => {
    for (const code of [
      'key-revoked',
      'exchange-timeout',
      'rate-limited',
      'insufficient-funds',
      'invalid-order',
      'not-placed',
      'exchange-error',
      'account-disabled',
      'server-paused',
    ]) {
      expect(isReasonCode(code)).toBe(true);
    }
    expect(isReasonCode('toString')).toBe(false);
    expect(isReasonCode('nope')).toBe(false);
  });

  it('builds skip values', () => {
    expect(skip('exposure-cap')).toEqual({ kind: 'skipped', reason: 'exposure-cap' });
  });
});
