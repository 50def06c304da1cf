import type { Clock } from '../../src/clock';

/**
 * A clock that runs `factor` times faster than real time, shared by the engine, ccxt's request
 * signing and the simulators, so a 60 s lookup window passes in well under a second while every
 * party still agrees on the time. `advance` jumps ahead (the next UTC day, an expired lease).
 */
export interface TestClock extends Clock {
  advance(ms: number): void;
  set(epochMs: number): void;
}

export function acceleratedClock(factor = 100, start = Date.UTC(2026, 0, 5, 12, 0, 0)): TestClock {
  let base = start;
  let realStart = performance.now();
  return {
    now: () => Math.floor(base + (performance.now() - realStart) * factor),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / factor))),
    advance(ms) {
      base += ms;
    },
    set(epochMs) {
      base = epochMs;
      realStart = performance.now();
    },
  };
}
