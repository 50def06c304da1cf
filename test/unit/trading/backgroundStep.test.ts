import { describe, expect, it } from 'vitest';
import { inBackground } from '../../../src/trading/backgroundStep';
import { createLogger } from '../../../src/logger';

describe('a background step', () => {
  it('never holds the cycle up, runs once at a time, and survives a failure', async () => {
    let release!: () => void;
    let runs = 0;
    const work = inBackground(
      'slow',
      async () => {
        runs += 1;
        if (runs === 2) throw new Error('exchange down');
        await new Promise<void>((resolve) => (release = resolve));
      },
      createLogger({ level: 'silent' }),
    );
    await work.step(); // resolves at once, the run goes on
    await work.step(); // one under way: not started again
    expect(runs).toBe(1);
    release();
    await work.idle();
    await work.step(); // the failing run is logged, not thrown
    await work.idle();
    await work.step();
    expect(runs).toBe(3);
    release();
    await work.idle();
  });
});
