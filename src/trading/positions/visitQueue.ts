/**
 * The slots of the continuous position sync (PositionSync.start): at most `slots` account visits at
 * once, each account queued or visited once at a time.
 *
 * Urgent visits start earliest deadline first. An account that may hold a position with no resting
 * stop (syncPriority.ts mayBeExposed) is due when queued, any other urgent one `urgentGraceMs`
 * later: exposed accounts go ahead of those queued less than the grace before them, but never starve
 * them (a strict exposed lane did: accounts re-queued each second kept the urgent ones waiting 42 s).
 * One slot start in `routineEvery` goes to a routine turn when one waits: the prices that rank
 * accounts miss a wick between two reads, so an entry that filled on one is only found by its
 * account's routine turn, which must come round within seconds however busy the urgent lane is.
 */
export class VisitQueue<T extends { readonly id: string }> {
  private readonly urgentLane: { item: T; due: number }[] = [];
  private readonly routineLane: T[] = [];
  /** Queued or being visited. */
  private readonly known = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private active = 0;
  private started = 0;
  private closed = false;

  constructor(
    private readonly slots: number,
    private readonly routineEvery: number,
    private readonly visit: (item: T) => Promise<void>,
    private readonly urgentGraceMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Queues an urgent visit (or moves a queued routine one up, or brings a queued urgent one's
   * deadline forward when it turned exposed); nothing if it is already queued as due or running.
   */
  urgent(item: T, exposed = false): void {
    const due = this.now() + (exposed ? 0 : this.urgentGraceMs);
    const queued = this.urgentLane.find((entry) => entry.item.id === item.id);
    if (queued) {
      queued.due = Math.min(queued.due, due);
      return;
    }
    const waiting = this.routineLane.findIndex((q) => q.id === item.id);
    if (waiting >= 0) this.routineLane.splice(waiting, 1);
    else if (this.known.has(item.id)) return;
    this.known.add(item.id);
    this.urgentLane.push({ item, due });
    this.pump();
  }

  /** Queues a routine turn; nothing if the account is queued or being visited. */
  routine(item: T): void {
    if (this.known.has(item.id)) return;
    this.known.add(item.id);
    this.routineLane.push(item);
    this.pump();
  }

  /** Routine turns waiting for a slot. */
  get routineWaiting(): number {
    return this.routineLane.length;
  }

  /** Starts nothing more; resolves when the visits under way are over. */
  async close(): Promise<void> {
    this.closed = true;
    this.urgentLane.length = 0;
    this.routineLane.length = 0;
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** The urgent visit due first (the earliest queued among equals). */
  private nextUrgent(): T | undefined {
    let best = -1;
    this.urgentLane.forEach((entry, i) => {
      if (best < 0 || entry.due < this.urgentLane[best]!.due) best = i;
    });
    return best < 0 ? undefined : this.urgentLane.splice(best, 1)[0]!.item;
  }

  private pump(): void {
    while (!this.closed && this.active < this.slots) {
      const routineTurn =
        this.routineLane.length > 0 &&
        (this.urgentLane.length === 0 || this.started % this.routineEvery === this.routineEvery - 1);
      const item = routineTurn ? this.routineLane.shift() : this.nextUrgent();
      if (!item) return;
      this.started += 1;
      this.active += 1;
      const run: Promise<void> = this.visit(item)
        .catch(() => undefined)
        .finally(() => {
          this.active -= 1;
          this.known.delete(item.id);
          this.running.delete(run);
          this.pump();
        });
      this.running.add(run);
    }
  }
}
