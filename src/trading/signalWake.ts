/**
 * A signal queued in one process wakes the cycle of every process sharing the database (PostgreSQL
 * LISTEN/NOTIFY), not only its own: the process that reads a caller's message (the Discord leader) is
 * not always the one with room to execute it, and a peer must not wait for its next scheduled cycle.
 * PGlite has one process, so nothing is sent.
 */
import type { PeerChannel } from '../db/client';
import type { Logger } from '../logger';

const SIGNAL_CHANNEL = 'bot_signal_queued';

export function signalWakes(peers: PeerChannel, log: Logger) {
  return {
    /** Tells the other processes a signal is waiting. A notice that cannot be sent is only logged (their cycle comes anyway). */
    announce(): void {
      peers.publish(SIGNAL_CHANNEL, '').catch((error: unknown) => log.warn({ err: error }, 'could not wake the other processes for a signal'));
    },
    /** Calls `wake` whenever a process announces a signal (this one included); answers a function that stops listening. */
    listen(wake: () => void): Promise<() => Promise<void>> {
      return peers.subscribe(SIGNAL_CHANNEL, () => wake());
    },
  };
}
