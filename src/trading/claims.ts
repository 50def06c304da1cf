/**
 * Thrown when this process no longer holds the claim on the work it is doing (another process took
 * it over after this one's heartbeat went stale): the work stops at once and writes nothing more; the
 * process that holds the claim now continues it.
 */
export class LostClaim extends Error {
  override readonly name = 'LostClaim';
  readonly code = 'lost-claim';
  constructor(what = 'this process no longer holds the claim') {
    super(what);
  }
}

export const isLostClaim = (error: unknown): error is LostClaim => error instanceof LostClaim;

/**
 * Claim checks asked in the same tick are answered by one query: the sends of a thousand accounts
 * cost a few statements, not one each. A failed query answers every waiting check with its error
 * (never "held": a check that could not be made must not let an order go).
 */
export class BatchedClaimCheck {
  private waiting = new Map<string, { resolve: (held: boolean) => void; reject: (error: unknown) => void }[]>();
  private scheduled = false;

  constructor(private readonly heldOf: (ids: string[]) => Promise<ReadonlySet<string>>) {}

  holds(id: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const list = this.waiting.get(id);
      if (list) list.push({ resolve, reject });
      else this.waiting.set(id, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Map();
    this.scheduled = false;
    try {
      const held = await this.heldOf([...batch.keys()]);
      for (const [id, waiters] of batch) for (const waiter of waiters) waiter.resolve(held.has(id));
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
    }
  }
}
