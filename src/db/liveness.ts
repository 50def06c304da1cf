import { randomInt } from 'node:crypto';
import { keepSessionOpen, lockConnection, withinVerifyTimeout } from './lockConnection';

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
export interface LivenessLock {
  /** The lock's key, written in the process's engine_instances row. */
  readonly key: number;
  /** Whether the connection holding the lock has closed (the lock may already belong to nobody). */
  readonly lost: boolean;
  /**
   * Asks the server, on the lock's own connection, whether this session still holds the lock: false
   * (or no answer within a few seconds) when the server dropped the session while the socket here
   * stayed open, which `lost` cannot see. Also keeps the connection from looking idle.
   */
  verify(): Promise<boolean>;
  /** Frees the lock (a clean stop, after the row is deleted). */
  release(): Promise<void>;
}

/**
 * Opens a dedicated connection and takes a free key there. `onLost` is called once if the connection
 * closes while the lock is held: from then on the process must not count on its claims (the others
 * may already have deleted its row and taken them over), see EngineInstance.
 */
export async function holdLivenessLock(url: string, onLost: () => void): Promise<LivenessLock> {
  let held = false;
  let lost = false;
  let released = false;
  const connection = lockConnection(url, 'bot-liveness', () => {
    if (!held || released || lost) return;
    lost = true;
    onLost();
  });
  try {
    await keepSessionOpen(connection);
    // Keys are random; another process holding the same one is simply a key to skip.
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const key = randomInt(1, 2 ** 31 - 1);
      const [row] = await connection<
        { locked: boolean }[]
      >`select pg_try_advisory_lock(${LIVENESS_LOCK_SPACE}::int, ${key}::int) as locked`;
      if (!row?.locked) continue;
      held = true;
      return {
        key,
        get lost() {
          return lost;
        },
        async verify() {
          if (lost || released) return false;
          return withinVerifyTimeout(
            connection<{ held: boolean }[]>`select exists (
              select 1 from pg_locks where pid = pg_backend_pid() and locktype = 'advisory' and granted and objsubid = 2
                and classid = ${LIVENESS_LOCK_SPACE}::int::oid and objid = ${key}::int::oid) as held`.then(([row]) => row?.held === true),
          );
        },
        async release() {
          released = true;
          await connection.end({ timeout: 1 });
        },
      };
    }
    throw new Error('no free liveness lock key after 8 tries');
  } catch (error) {
    await connection.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
}
