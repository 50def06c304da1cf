import { takeSessionLock, type SessionLock } from './lockConnection';

/**
 * Leadership (the Discord gateway and the feed poster) held as a session advisory lock on a
 * connection of its own. The server frees it the moment that connection closes (the leader died,
 * was killed, or its connection was terminated), and `onLost` tells the holder at once, so it stops
 * its gateway before another process can have started one. `verify` asks the server whether the
 * session still holds the lock (a session dropped while the socket here stayed open).
 */
export type LeaderLock = SessionLock;

/** The lock, or null when another process holds it. */
export function tryLeaderLock(url: string, key: number, onLost: () => void): Promise<LeaderLock | null> {
  return takeSessionLock({
    url,
    applicationName: 'bot-leader',
    onLost,
    take: async (connection) => {
      const [row] = await connection<{ locked: boolean }[]>`select pg_try_advisory_lock(${key}) as locked`;
      return row?.locked === true;
    },
    stillHeld: async (connection) => {
      const [row] = await connection<{ held: boolean }[]>`select exists (
          select 1 from pg_locks where pid = pg_backend_pid() and locktype = 'advisory' and granted
            and objsubid = 1 and objid = ${key}::bigint::oid) as held`;
      return row?.held === true;
    },
  });
}
