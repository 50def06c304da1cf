/**
 * A cycle step whose work runs on its own time: each cycle starts it when it is not running already
 * and never waits for it. For slow, non-urgent bookkeeping (funding reads queue behind the exchange's
 * weight limiter; fee corrections look orders up), so that the passes beside a long fan-out — the
 * position sync that places stops — are never held up by it.
 */
import type { Logger } from '../logger';

export interface BackgroundStep {
  /** The cycle step: starts a run unless one is under way; resolves at once. */
  step(): Promise<void>;
  /** Resolves once no run is under way (a clean stop waits for it before closing the database). */
  idle(): Promise<void>;
}

export function inBackground(name: string, run: () => Promise<unknown>, log: Logger): BackgroundStep {
  let running: Promise<void> | null = null;
  return {
    step() {
      running ??= run()
        .then(() => undefined)
        .catch((error: unknown) => log.warn({ err: error, step: name }, 'background step failed; the next cycle starts it again'))
        .finally(() => {
          running = null;
        });
      return Promise.resolve();
    },
    idle() {
      return running ?? Promise.resolve();
    },
  };
}
