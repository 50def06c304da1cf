import postgres from 'postgres';

/** How long a check of a held lock may take before the lock counts as lost. */
export const VERIFY_TIMEOUT_MS = 3_000;

/**
 * A connection of its own for a session advisory lock that must live exactly as long as this process
 * holds it: never recycled for idleness or age, and `onClosed` when it closes for any reason (the
 * server terminated it, the network dropped), which frees the lock on the server.
 */
function lockConnection(url: string, applicationName: string, onClosed: () => void): postgres.Sql {
  return postgres(url, {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    fetch_types: false,
    onnotice: () => {},
    // The server notices a holder gone without a word (a host crash, a network partition) in about
    // 25 s, not the operating system's two hours: until then the lock would stay held by nobody alive.
    connection: { application_name: applicationName, tcp_keepalives_idle: 10, tcp_keepalives_interval: 5, tcp_keepalives_count: 3 },
    onclose: onClosed,
  });
}

/** A session advisory lock held on a connection of its own. */
export interface SessionLock {
  /** Whether the connection holding the lock has closed (the lock may already belong to nobody). */
  readonly lost: boolean;
  /**
   * Asks the server, on the lock's own connection, whether this session still holds the lock: false
   * (or no answer within VERIFY_TIMEOUT_MS) when the server dropped the session while the socket here
   * stayed open, which `lost` cannot see.
   */
  verify(): Promise<boolean>;
  /** Frees the lock by closing its connection. */
  release(): Promise<void>;
}

/**
 * Opens a lock connection and runs `take` on it (true when the lock was granted); null when it was
 * not (the connection is closed again). Once held, `onLost` is called once if the connection closes
 * before `release`; `stillHeld` is the query behind `verify`.
 */
export async function takeSessionLock(options: {
  url: string;
  applicationName: string;
  onLost: () => void;
  take: (connection: postgres.Sql) => Promise<boolean>;
  stillHeld: (connection: postgres.Sql) => Promise<boolean>;
}): Promise<SessionLock | null> {
  let held = false;
  let lost = false;
  let released = false;
  const connection = lockConnection(options.url, options.applicationName, () => {
    if (!held || released || lost) return;
    lost = true;
    options.onLost();
  });
  try {
    // A session the server closes for idleness would free the lock of a live process. PostgreSQL
    // before 14 has no such setting (and no such closing): its refusal is ignored.
    await connection`select set_config('idle_session_timeout', '0', false)`.catch(() => undefined);
    if (!(await options.take(connection))) {
      await connection.end({ timeout: 1 });
      return null;
    }
  } catch (error) {
    await connection.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
  held = true;
  return {
    get lost() {
      return lost;
    },
    async verify() {
      if (lost || released) return false;
      const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), VERIFY_TIMEOUT_MS).unref());
      return Promise.race([options.stillHeld(connection).catch(() => false), timeout]);
    },
    async release() {
      released = true;
      await connection.end({ timeout: 1 });
    },
  };
}
