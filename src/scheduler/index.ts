import type { MessagePort } from 'node:worker_threads';
import Bree from 'bree';
import type { Logger } from '../logger';

/**
 * The bree job is only a trigger: it runs in a worker thread and posts a message; the cycle itself
 * runs in the main thread, because PGlite is single-process and the engine's state lives here.
 * This function is serialised into the worker, so it may use nothing from this module's scope.
 */
function cycleTrigger(): void {
  const { parentPort } = require('node:worker_threads') as { parentPort: MessagePort | null };
  parentPort?.postMessage('cycle');
  parentPort?.postMessage('done');
}

declare const require: (id: string) => unknown;

export interface Scheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs a cycle now (a new signal); coalesced with a running one, followed by one more if needed. */
  trigger(): void;
  /** Resolves when no cycle is running or queued. */
  idle(): Promise<void>;
}

export function createScheduler(options: {
  intervalSeconds: number;
  runCycle: () => Promise<unknown>;
  log: Logger;
}): Scheduler {
  const { log } = options;
  let running: Promise<void> | null = null;
  let again = false;

  const trigger = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = options
      .runCycle()
      .then(
        () => undefined,
        (error: unknown) => log.error({ err: error }, 'trading cycle failed'),
      )
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          trigger();
        }
      });
  };

  const bree = new Bree({
    root: false,
    doRootCheck: false,
    logger: {
      info: () => {},
      warn: (message: unknown) => log.warn({ bree: message }, 'scheduler warning'),
      error: (message: unknown) => log.error({ bree: message }, 'scheduler error'),
    } as unknown as Bree.BreeLogger,
    jobs: [{ name: 'trading-cycle', path: cycleTrigger, interval: `${options.intervalSeconds}s` }],
    workerMessageHandler: ({ message }: { message?: unknown }) => {
      if (message === 'cycle') trigger();
    },
  });

  return {
    start: () => bree.start(),
    stop: () => bree.stop(),
    trigger,
    async idle() {
      while (running) await running;
    },
  };
}
