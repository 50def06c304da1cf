/**
 * Lets tests wait for a predicate: every simulator mutation calls `notify()` and each waiter re-checks
 * then; a 20 ms tick re-checks too, for predicates over client-side state the simulator cannot see.
 */
export class Waiter {
  readonly #waiting = new Set<() => void>();

  notify(): void {
    for (const wake of [...this.#waiting]) wake();
  }

  /** Resolves with the first non-undefined value of `check()`; rejects after `timeoutMs`. */
  until<T>(check: () => T | undefined, timeoutMs: number, what: string | (() => string)): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const wake = (): void => {
        let value: T | undefined;
        try {
          value = check();
        } catch (error) {
          finish();
          reject(error as Error);
          return;
        }
        if (value !== undefined) {
          finish();
          resolve(value);
        }
      };
      const tick = setInterval(wake, 20);
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`discord sim: timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        clearInterval(tick);
        this.#waiting.delete(wake);
      };
      this.#waiting.add(wake);
    });
  }

  /** Resolves once no notification has arrived for `quietMs` (after `first` holds), or rejects at `timeoutMs`. */
  async quiet(first: () => boolean, quietMs: number, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.until(() => (first() ? true : undefined), timeoutMs, what);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      let changed = false;
      const wake = (): void => {
        changed = true;
      };
      this.#waiting.add(wake);
      await new Promise((resolve) => setTimeout(resolve, Math.min(quietMs, left)));
      this.#waiting.delete(wake);
      if (!changed) return;
    }
  }
}
