import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../src/trading/groupCommit';

describe('GroupCommit', () => {
  it('writes the items submitted together in one group write', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number>(
      async (items) => void groups.push(items),
      async () => {
        throw new Error('not used');
      },
    );
    await Promise.all([1, 2, 3].map((item) => commit.submit(item)));
    await commit.submit(4);
    expect(groups).toEqual([[1, 2, 3], [4]]);
  });

  it('writes a failed group one by one, says so, and fails only the bad item', async () => {
    const single: number[] = [];
    const failures: number[] = [];
    const commit = new GroupCommit<number>(
      async (items) => {
        if (items.includes(2)) throw new Error('one bad item');
      },
      async (item) => {
        if (item === 2) throw new Error('bad');
        single.push(item);
      },
      (_error, size) => failures.push(size),
    );
    const results = await Promise.allSettled([1, 2, 3].map((item) => commit.submit(item)));
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(single).toEqual([1, 3]);
    expect(failures).toEqual([3]);
  });
});
