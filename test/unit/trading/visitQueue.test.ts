import { describe, expect, it } from 'vitest';
import { VisitQueue } from '../../../src/trading/positions/visitQueue';

/** Visits that end when the test says so, recorded in start order. */
function harness(slots: number, routineEvery: number) {
  const turns: string[] = [];
  const started: string[] = [];
  const pending = new Map<string, () => void>();
  let concurrent = 0;
  let maxConcurrent = 0;
  const queue = new VisitQueue<{ id: string }>(slots, routineEvery, (item, turn) => {
    started.push(item.id);
    turns.push(turn);
    concurrent += 1;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    return new Promise<void>((resolve) =>
      pending.set(item.id, () => {
        pending.delete(item.id);
        concurrent -= 1;
        resolve();
      }),
    );
  });
  const finish = async (id: string) => {
    pending.get(id)?.();
    // Let the queue start what the freed slot allows.
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { queue, started, turns, pending, finish, maxConcurrent: () => maxConcurrent };
}

describe('VisitQueue: the continuous position sync slots', () => {
  it('runs at most `slots` visits at once, urgent ones first', async () => {
    const h = harness(2, 4);
    h.queue.routine({ id: 'r1' });
    h.queue.routine({ id: 'r2' });
    h.queue.urgent({ id: 'u1' });
    h.queue.urgent({ id: 'u2' });
    // r1 and r2 took the free slots when they were queued; the urgent ones wait for them.
    expect(h.started).toEqual(['r1', 'r2']);
    await h.finish('r1');
    await h.finish('r2');
    expect(h.started).toEqual(['r1', 'r2', 'u1', 'u2']);
    expect(h.maxConcurrent()).toBe(2);
  });

  it('never queues or runs an account twice at once; once done it may come again', async () => {
    const h = harness(1, 4);
    h.queue.urgent({ id: 'a' });
    h.queue.urgent({ id: 'a' });
    h.queue.routine({ id: 'a' });
    h.queue.urgent({ id: 'b' });
    h.queue.urgent({ id: 'b' });
    await h.finish('a');
    await h.finish('b');
    expect(h.started).toEqual(['a', 'b']);
    h.queue.urgent({ id: 'a' });
    expect(h.started).toEqual(['a', 'b', 'a']);
  });

  it('visits a running account once more when asked with afterRunning (a report that came after its reads)', async () => {
    const h = harness(1, 4);
    h.queue.urgent({ id: 'a' });
    // Asked again while running: plain requests are dropped, afterRunning ones queue one more visit.
    h.queue.urgent({ id: 'a' });
    h.queue.urgent({ id: 'a' }, { afterRunning: true });
    h.queue.urgent({ id: 'a' }, { afterRunning: true });
    await h.finish('a');
    expect(h.started).toEqual(['a', 'a']);
    await h.finish('a');
    expect(h.started).toEqual(['a', 'a']);
  });

  it('moves a queued routine turn up when the account turns urgent', async () => {
    const h = harness(1, 100);
    h.queue.urgent({ id: 'busy' });
    h.queue.routine({ id: 'r1' });
    h.queue.routine({ id: 'r2' });
    h.queue.urgent({ id: 'u1' });
    h.queue.urgent({ id: 'r2' });
    for (const id of ['busy', 'u1', 'r2', 'r1']) await h.finish(id);
    expect(h.started).toEqual(['busy', 'u1', 'r2', 'r1']);
  });

  it('gives one start in `routineEvery` to a routine turn however busy the urgent lane is', async () => {
    const h = harness(1, 4);
    h.queue.urgent({ id: 'u0' });
    for (let i = 1; i <= 12; i += 1) h.queue.urgent({ id: `u${i}` });
    h.queue.routine({ id: 'r1' });
    h.queue.routine({ id: 'r2' });
    for (let i = 0; i < 10; i += 1) await h.finish(h.started[h.started.length - 1]!);
    // Starts 4 and 8 (every fourth) are routine turns, though urgent ones were waiting.
    expect(h.started.slice(0, 9)).toEqual(['u0', 'u1', 'u2', 'r1', 'u3', 'u4', 'u5', 'r2', 'u6']);
  });

  it('keeps a quarter of the slots for urgent visits: routine turns waiting on the exchange never hold them all', async () => {
    const h = harness(4, 4);
    for (let i = 1; i <= 6; i += 1) h.queue.routine({ id: `r${i}` });
    // Three routine turns run; the fourth slot stays free however many wait.
    expect(h.started).toEqual(['r1', 'r2', 'r3']);
    h.queue.urgent({ id: 'u1' });
    expect(h.started).toEqual(['r1', 'r2', 'r3', 'u1']);
    // Each visit is told which turn it is (an urgent one reads ahead of routine ones).
    expect(h.turns).toEqual(['routine', 'routine', 'routine', 'urgent']);
    await h.finish('u1');
    expect(h.started).toHaveLength(4);
    await h.finish('r1');
    expect(h.started).toEqual(['r1', 'r2', 'r3', 'u1', 'r4']);
  });

  it('knows the accounts queued or being visited (a paced turn is not spent on one of them)', async () => {
    const h = harness(1, 4);
    h.queue.urgent({ id: 'a' });
    h.queue.routine({ id: 'b' });
    expect([h.queue.has('a'), h.queue.has('b'), h.queue.has('c')]).toEqual([true, true, false]);
    await h.finish('a');
    expect(h.queue.has('a')).toBe(false);
  });

  it('close starts nothing more and waits for the visits under way', async () => {
    const h = harness(1, 4);
    h.queue.urgent({ id: 'a' });
    h.queue.urgent({ id: 'b' });
    let closed = false;
    const closing = h.queue.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(closed).toBe(false);
    await h.finish('a');
    await closing;
    expect(h.started).toEqual(['a']);
  });
});
