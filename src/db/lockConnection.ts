import postgres from 'postgres';

/** How long a check of a held lock may take before the lock counts as lost. */
export const VERIFY_TIMEOUT_MS = 3_000;

/**
 * A connection of its own for a session advisory lock that must live exactly as long as this process
 * holds it: never recycled for idleness or age, and `onClosed` when it closes for any reason (the
 * server terminated it, the network dropped), which frees the lock on the server.
 */
export function lockConnection(url: string, applicationName: string, onClosed: () => void): postgres.Sql {
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

/**
 * A session the server closes for idleness would free the lock of a live process. PostgreSQL before 14
 * has no such setting (and no such closing): its refusal is ignored.
 */
export async function keepSessionOpen(connection: postgres.Sql): Promise<void> {
  await connection`select set_config('idle_session_timeout', '0', false)`.catch(() => undefined);
}

/** The answer of `check`, or false when it fails or takes longer than VERIFY_TIMEOUT_MS. */
export function withinVerifyTimeout(check: Promise<boolean>): Promise<boolean> {
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), VERIFY_TIMEOUT_MS).unref());
  return Promise.race([check.catch(() => false), timeout]);
}
