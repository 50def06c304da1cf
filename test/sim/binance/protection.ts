/**
 * Watches the simulator's books for the invariant the bot promises: an open futures position always
 * has a resting stop. After every change (a request, a price move) each touched account's positions
 * are checked; a position with no working stop-market order on its closing side covering its size
 * opens a window, closed when a stop covers it again or the position is flat. The longest window
 * (exchange clock) is the benchmark's `unprotectedMaxMs`.
 */
import type { Account, AlgoOrder, Position } from './engine';

interface Window {
  readonly since: number;
}

export interface ProtectionReport {
  /** Longest closed or still open window so far, in ms of the simulator's clock. */
  readonly maxMs: number;
  /** Windows opened so far. */
  readonly windows: number;
  /** The longest windows: account, symbol, start, length (open ones have `open: true`). */
  readonly worst: readonly { apiKey: string; symbol: string; since: number; ms: number; open: boolean }[];
}

const WORKING: ReadonlySet<AlgoOrder['algoStatus']> = new Set(['NEW', 'TRIGGERING', 'TRIGGERED']);
const STOPS: ReadonlySet<string> = new Set(['STOP_MARKET', 'STOP']);

const closingSide = (position: Position): 'BUY' | 'SELL' =>
  position.positionSide === 'SHORT' || (position.positionSide === 'BOTH' && position.amt < 0) ? 'BUY' : 'SELL';

/** Quantity of working stops that would close this position. */
function stopCover(account: Account, position: Position): number {
  const side = closingSide(position);
  let cover = 0;
  for (const order of account.algoOrders) {
    if (order.symbol !== position.symbol || !WORKING.has(order.algoStatus) || !STOPS.has(order.orderType) || order.side !== side) continue;
    if (order.positionSide !== position.positionSide && order.positionSide !== 'BOTH') continue;
    cover += order.closePosition ? Number.POSITIVE_INFINITY : order.quantity;
  }
  return cover;
}

export class ProtectionMonitor {
  private readonly open = new Map<string, Window & { apiKey: string; symbol: string }>();
  private readonly closed: { apiKey: string; symbol: string; since: number; ms: number }[] = [];
  private count = 0;
  private max = 0;

  constructor(private readonly now: () => number) {}

  /** Re-checks one account's futures positions. */
  observe(account: Account): void {
    const t = this.now();
    const seen = new Set<string>();
    for (const position of account.positions.values()) {
      if (position.amt === 0) continue;
      const key = `${account.apiKey}|${position.symbol}|${position.positionSide}`;
      seen.add(key);
      // A small tolerance: quantities are on the market's step, the cover is a sum of them.
      const covered = stopCover(account, position) >= Math.abs(position.amt) - 1e-9;
      const window = this.open.get(key);
      if (!covered && !window) {
        this.open.set(key, { since: t, apiKey: account.apiKey, symbol: position.symbol });
        this.count += 1;
      } else if (covered && window) {
        this.close(key, window, t);
      }
    }
    for (const [key, window] of this.open) {
      if (window.apiKey === account.apiKey && !seen.has(key)) this.close(key, window, t);
    }
  }

  private close(key: string, window: Window & { apiKey: string; symbol: string }, t: number): void {
    this.open.delete(key);
    const ms = t - window.since;
    this.max = Math.max(this.max, ms);
    this.closed.push({ apiKey: window.apiKey, symbol: window.symbol, since: window.since, ms });
    if (this.closed.length > 1000) this.closed.sort((a, b) => b.ms - a.ms).splice(100);
  }

  report(): ProtectionReport {
    const t = this.now();
    const open = [...this.open.values()].map((w) => ({ apiKey: w.apiKey, symbol: w.symbol, since: w.since, ms: t - w.since, open: true }));
    const all = [...open, ...this.closed.map((w) => ({ ...w, open: false }))].sort((a, b) => b.ms - a.ms);
    return { maxMs: Math.max(this.max, ...open.map((w) => w.ms), 0), windows: this.count, worst: all.slice(0, 10) };
  }

  reset(): void {
    this.open.clear();
    this.closed.length = 0;
    this.count = 0;
    this.max = 0;
  }
}
