/**
 * Binance's 24-hour connection life: "a single connection is only valid for 24 hours; expect to be
 * disconnected at the 24 hour mark" (spot streams and WebSocket API, USDⓈ-M futures streams). Each
 * stream server registers its connections here; `enforce` closes those past their life on the
 * simulator's clock (run before every request and every second), with a normal close frame.
 */
import type { WebSocket } from 'ws';

export const CONNECTION_LIFE_MS = 24 * 3_600_000;

export class ConnectionLife {
  private readonly openedAt = new Map<WebSocket, number>();

  constructor(
    private readonly now: () => number,
    /** Binance's 24 hours; tests shorten it to meet the cut. */
    private readonly lifeMs = CONNECTION_LIFE_MS,
  ) {}

  track(ws: WebSocket): void {
    this.openedAt.set(ws, this.now());
    ws.once('close', () => this.openedAt.delete(ws));
  }

  /** Closes the connections opened at least a life ago; answers how many. */
  enforce(): number {
    const t = this.now();
    let closed = 0;
    for (const [ws, at] of this.openedAt) {
      if (t - at < this.lifeMs) continue;
      this.openedAt.delete(ws);
      ws.close(1000, 'connection life of 24 hours ended');
      closed += 1;
    }
    return closed;
  }
}
