/**
 * The promise's outcome, or a rejection with `timeoutError()` once `ms` passed. The call itself goes
 * on (nothing here can stop it); only its caller stops waiting. A rejection that is not an Error is
 * wrapped in one, so callers can read `.message`.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
    timer.unref?.();
  });
  const settled = promise.catch((error: unknown) => {
    throw error instanceof Error ? error : new Error(String(error));
  });
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}
