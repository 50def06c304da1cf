import { randomInt } from 'node:crypto';
import { takeSessionLock, type SessionLock } from './lockConnection';

/**
 * Advisory lock space of the processes' liveness locks (the two-key form: pg_locks shows it as
 * classid = space, objid = key, objsubid = 2).
 */
export const LIVENESS_LOCK_SPACE = 727_274_002;

/**
 * A session advisory lock held on a connection of its own for as long as this process lives. The
 * database frees it the moment that connection closes (the process died, or was killed), which is how
 * the other processes learn of a death without waiting out the heartbeat.
 */
export interface LivenessLock extends SessionLock {
  /** The lock's key, written in the process's engine_instances row. */
  readonly key: number;
}

/**
 * Opens a dedicated connection and takes a free key there. `onLost` is called once if the connection
 * closes while the lock is held: from then on the process must not count on its claims (the others
 * may already have deleted its row and taken them over), see EngineInstance.
 */
export async function holdLivenessLock(url: string, onLost: () => void): Promise<LivenessLock> {
  let key = 0;
  const lock = await takeSessionLock({
    url,
    applicationName: 'bot-liveness',
    onLost,
    // Keys are random; another process holding the same one is simply a key to skip.
    take: async (connection) => {
      for (let attempt = 0; attempt < 8; attempt += 1) {
        key = randomInt(1, 2 ** 31 - 1);
        const [row] = await connection<
          { locked: boolean }[]
        >`select pg_try_advisory_lock(${LIVENESS_LOCK_SPACE}::int, ${key}::int) as locked`;
        if (row?.locked) return true;
      }
      return false;
    },
    stillHeld: async (connection) => {
      const [row] = await connection<{ held: boolean }[]>`select exists (
          select 1 from pg_locks where pid = pg_backend_pid() and locktype = 'advisory' and granted and objsubid = 2
            and classid = ${LIVENESS_LOCK_SPACE}::int::oid and objid = ${key}::int::oid) as held`;
      return row?.held === true;
    },
  });
  if (!lock) throw new Error('no free liveness lock key after 8 tries');
  // The key joins the lock object itself, whose `lost` getter stays live.
  return Object.assign(lock, { key });
}
