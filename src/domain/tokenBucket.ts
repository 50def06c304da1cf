/**
 * A token bucket on a caller's clock: `capacity` tokens at once, then one every `everyMs`. Paces what
 * an exchange limits per window (stream connects, reconciliation visits) without a timer of its own.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly capacity: number,
    private readonly everyMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.refilledAt = now;
  }

  /** Takes a token if one is there. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** How long until a token is there (0: now). */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) * this.everyMs);
  }

  private refill(now: number): void {
    // A clock that went back (a test's, say) refills nothing and is not a debt.
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, now - this.refilledAt) / this.everyMs);
    this.refilledAt = Math.max(this.refilledAt, now);
  }
}
