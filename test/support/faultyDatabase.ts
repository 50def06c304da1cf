import type { Database } from '../../src/db/client';

/**
 * The database with `times` failures injected: an INSERT into `table` throws, whether it runs on the
 * database or inside one of its transactions (no vi.mock; the statements that do run are real).
 */
export function failingInserts(db: Database, table: object, times: number): { db: Database; failures: () => number } {
  let left = times;
  let failures = 0;
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object) as unknown;
        if (typeof value !== 'function') return value;
        if (property === 'insert') {
          return (into: object) => {
            if (into === table && left > 0) {
              left -= 1;
              failures += 1;
              throw new Error('injected fault: the insert failed');
            }
            return (value as (into: object) => unknown).call(object, into);
          };
        }
        if (property === 'transaction') {
          return (run: (tx: object) => Promise<unknown>, config?: unknown) =>
            (value as (run: (tx: object) => Promise<unknown>, config?: unknown) => Promise<unknown>).call(
              object,
              (tx) => run(wrap(tx)),
              config,
            );
        }
        return (value as (...args: unknown[]) => unknown).bind(object);
      },
    });
  return { db: wrap(db), failures: () => failures };
}
