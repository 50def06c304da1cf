/**
 * Exchange back-offs shared by the processes on one IP. A 429 or 418 is the exchange's word on the
 * whole IP: the process that got it stops at once, and its peers must too. Left to learn it from
 * their own requests they keep sending for a while, and Binance bans an IP that goes on sending
 * after a 429 (418, for minutes: no stop or close can be sent then). The process that was told
 * publishes it on the database (PostgreSQL LISTEN/NOTIFY, milliseconds); the others block the same.
 */
import { randomUUID } from 'node:crypto';
import type { PeerChannel } from '../db/client';
import type { RateLimiterRegistry } from '../exchange/factory';
import type { Logger } from '../logger';

export const BACK_OFF_CHANNEL = 'exchange_back_off';

interface BackOffNotice {
  from: string;
  exchangeId: string;
  ms: number;
}

export function peerBackOffs(peers: PeerChannel, log: Logger) {
  // Each process hears its own notices too: they are told apart by this token.
  const token = randomUUID();
  return {
    /** The registry's `onBackOff`: tells the peers. A notice that cannot be sent is only logged. */
    publish(exchangeId: string, ms: number): void {
      const notice: BackOffNotice = { from: token, exchangeId, ms };
      peers.publish(BACK_OFF_CHANNEL, JSON.stringify(notice)).catch((error: unknown) => {
        log.warn({ err: error, exchangeId }, 'could not tell the other processes to back off');
      });
    },
    /** Blocks `registry` whenever a peer was told to back off; answers a function that stops listening. */
    listen(registry: RateLimiterRegistry): Promise<() => Promise<void>> {
      return peers.subscribe(BACK_OFF_CHANNEL, (payload) => {
        const notice = parseNotice(payload);
        if (!notice || notice.from === token) return;
        registry.backOffFromPeer(notice.exchangeId, notice.ms);
        log.info({ exchangeId: notice.exchangeId, ms: notice.ms }, 'another process was asked to back off: so is this one');
      });
    },
  };
}

function parseNotice(payload: string): BackOffNotice | null {
  try {
    const value = JSON.parse(payload) as Partial<BackOffNotice>;
    if (typeof value.from !== 'string' || typeof value.exchangeId !== 'string' || typeof value.ms !== 'number') return null;
    // A notice never blocks for longer than a Binance ban (a garbled one must not stop trading for good).
    return { from: value.from, exchangeId: value.exchangeId, ms: Math.min(Math.max(0, value.ms), 10 * 60_000) };
  } catch {
    return null;
  }
}
