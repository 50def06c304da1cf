import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../src/timeout';

describe('withTimeout', () => {
  it('passes a value or an error through, and rejects with the given error once the time passed', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, () => new Error('late'))).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('refused')), 1_000, () => new Error('late'))).rejects.toThrow('refused');
    await expect(withTimeout(new Promise(() => {}), 10, () => new Error('late'))).rejects.toThrow('late');
  });

  it('wraps a rejection that is not an Error', async () => {
    const rejected = Promise.reject('plain text');
    await expect(withTimeout(rejected, 1_000, () => new Error('late'))).rejects.toThrow(new Error('plain text'));
  });
});
