import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/domain/tokenBucket';

describe('token bucket', () => {
  it('gives its capacity at once, then one token per interval', () => {
    const bucket = new TokenBucket(3, 1_000, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.waitMs(0)).toBe(1_000);
    expect(bucket.take(600)).toBe(false);
    expect(bucket.waitMs(600)).toBe(400);
    expect(bucket.take(1_000)).toBe(true);
    expect(bucket.take(1_000)).toBe(false);
  });

  it('never holds more than its capacity, however long it rested', () => {
    const bucket = new TokenBucket(2, 1_000, 0);
    bucket.take(0);
    bucket.take(0);
    const taken = Array.from({ length: 5 }, () => bucket.take(3_600_000)).filter(Boolean);
    expect(taken).toHaveLength(2);
  });

  it('a clock that goes back refills nothing and owes nothing', () => {
    const bucket = new TokenBucket(1, 1_000, 10_000);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(5_000)).toBe(false);
    // Time lost to the step back is not counted twice: one interval after the latest reading.
    expect(bucket.take(10_999)).toBe(false);
    expect(bucket.take(11_000)).toBe(true);
  });
});
