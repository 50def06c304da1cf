import type { Clock } from '../../src/clock';

/**
 * A clock several processes agree on: `factor` times faster than the wall clock from `realStart`
 * (Date.now() when it began), starting at `epoch`. The chaos benchmark gives the same spec to the
 * simulator's process and every bot process, so all of them read the same accelerated time.
 */
export interface SharedClockSpec {
  readonly epoch: number;
  readonly realStart: number;
  readonly factor: number;
}

export const sharedClockNow = (spec: SharedClockSpec): number => Math.floor(spec.epoch + (Date.now() - spec.realStart) * spec.factor);

export function sharedClock(spec: SharedClockSpec): Clock {
  return {
    now: () => sharedClockNow(spec),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / spec.factor))),
  };
}
