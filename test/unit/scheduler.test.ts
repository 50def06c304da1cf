import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';
import { createScheduler } from '../../src/scheduler';

const quietLog = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });

describe('scheduler', () => {
  it('runs the cycle on the bree interval, in the main thread', async () => {
    let cycles = 0;
    const scheduler = createScheduler({ intervalSeconds: 1, runCycle: async () => void cycles++, log: quietLog });
    await scheduler.start();
    try {
      await expect.poll(() => cycles, { timeout: 8_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    } finally {
      await scheduler.stop();
    }
  });

  it('never overlaps cycles, and a trigger during a cycle runs exactly one more after it', async () => {
    let active = 0;
    let maxActive = 0;
    let cycles = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const scheduler = createScheduler({
      intervalSeconds: 3600,
      log: quietLog,
      runCycle: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        cycles += 1;
        if (cycles === 1) await gate;
        active -= 1;
      },
    });
    scheduler.trigger();
    scheduler.trigger();
    scheduler.trigger();
    release();
    await scheduler.idle();
    expect(maxActive).toBe(1);
    expect(cycles).toBe(2);
  });
});
