import { keepSessionOpen, lockConnection, withinVerifyTimeout } from './lockConnection';

/**
 * Leadership (the Discord gateway and the feed poster) held as a session advisory lock on a
 * connection of its own. The server frees it the moment that connection closes (the leader died,
 * was killed, or its connection was terminated), and `onLost` tells the holder at once, so it stops
 * its gateway before another process can have started one. `verify` asks the server whether the
 * session still holds the lock (a session dropped while the socket here stayed open).
 */
export interface LeaderLock {
  readonly lost: boolean;
  verify(): Promise<boolean>;
  release(): Promise<void>;
}

/** The lock, or null when another process holds it. */
export async function tryLeaderLock(url: string, key: number, onLost: () => void): Promise<LeaderLock | null> {
  let held = false;
  let lost = false;
  let released = false;
  const connection = lockConnection(url, 'bot-leader', () => {
    if (!held || released || lost) return;
    lost = true;
    onLost();
  });
  try {
    await keepSessionOpen(connection);
    const [row] = await connection<{ locked: boolean }[]>`select pg_try_advisory_lock(${key}) as locked`;
    if (!row?.locked) {
      await connection.end({ timeout: 1 });
      return null;
    }
    held = true;
    return {
      get lost() {
        return lost;
      },
      async verify() {
        if (lost || released) return false;
        return withinVerifyTimeout(
          connection<{ held: boolean }[]>`select exists (
            select 1 from pg_locks where pid = pg_backend_pid() and locktype = 'advisory' and granted
              and objsubid = 1 and objid = ${key}::bigint::oid) as held`.then(([answer]) => answer?.held === true),
        );
      },
      async release() {
        released = true;
        await connection.end({ timeout: 1 });
      },
    };
  } catch (error) {
    await connection.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
}
