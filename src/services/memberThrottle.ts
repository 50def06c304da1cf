/**
 * Per-member throttle of the actions that read a key's whole state from the exchange (Verify, the
 * probe of /account add). Each one costs tens of the IP's shared weight (futures: account, position
 * mode, Multi-Assets mode, API restrictions), so one member pressing Verify in a loop would spend the
 * minute's budget every other member's orders and stops need. A sliding window per member, kept in a
 * bounded cache (a member idle for a window is forgotten).
 */
import { LRUCache } from 'lru-cache';

export interface ThrottleVerdict {
  allowed: boolean;
  /** When refused: how long until the oldest use leaves the window. */
  retryAfterMs: number;
}

export class MemberThrottle {
  private readonly uses: LRUCache<string, number[]>;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number,
    maxMembers = 10_000,
  ) {
    this.uses = new LRUCache({ max: maxMembers });
  }

  /** Takes one use for `memberId`, or says how long to wait. */
  take(memberId: string): ThrottleVerdict {
    const at = this.now();
    const recent = (this.uses.get(memberId) ?? []).filter((t) => at - t < this.windowMs);
    if (recent.length >= this.perWindow) {
      this.uses.set(memberId, recent);
      return { allowed: false, retryAfterMs: recent[0]! + this.windowMs - at };
    }
    recent.push(at);
    this.uses.set(memberId, recent);
    return { allowed: true, retryAfterMs: 0 };
  }
}
