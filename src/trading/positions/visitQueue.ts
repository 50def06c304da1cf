/**
 * The slots of the continuous position sync (PositionSync.start): at most `slots` account visits at
 * once, each account queued or visited once at a time. Urgent accounts (a position that may be
 * unprotected) go first, but one slot start in `routineEvery` goes to a routine turn when one waits:
 * the prices that rank accounts miss a wick between two reads, so an entry that filled on one is only
 * found by its account's routine turn, which must come round within seconds however busy the urgent
 * lane is. A quarter of the slots is kept for urgent visits: routine turns that wait for the
 * exchange's weight budget (their reads are background) never hold every slot while a fill waits.
 */
export type VisitTurn = 'urgent' | 'routine';

export class VisitQueue<T extends { readonly id: string }> {
  private readonly urgentLane: T[] = [];
  private readonly routineLane: T[] = [];
  /** Queued or being visited. */
  private readonly known = new Set<string>();
  /** Being visited, and asked for again meanwhile: queued as urgent when the visit ends. */
  private readonly again = new Set<string>();
  private readonly visiting = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private active = 0;
  private activeRoutine = 0;
  private started = 0;
  private closed = false;

  constructor(
    private readonly slots: number,
    private readonly routineEvery: number,
    private readonly visit: (item: T, turn: VisitTurn) => Promise<void>,
    /** Slots routine turns may not take (default: a quarter, rounded down). */
    private readonly urgentReserve = Math.floor(slots / 4),
  ) {}

  /**
   * Queues an urgent visit (or moves a queued routine one up); nothing if it is already urgent, or
   * running. With `afterRunning`, a running visit is followed by another one: what asked for it (a
   * stream's report) may have come after the running visit read the exchange.
   */
  urgent(item: T, options: { afterRunning?: boolean } = {}): void {
    const waiting = this.routineLane.findIndex((queued) => queued.id === item.id);
    if (waiting >= 0) this.routineLane.splice(waiting, 1);
    else if (this.known.has(item.id)) {
      if (options.afterRunning && this.visiting.has(item.id)) this.again.add(item.id);
      return;
    }
    this.known.add(item.id);
    this.urgentLane.push(item);
    this.pump();
  }

  /** Queues a routine turn; nothing if the account is queued or being visited. */
  routine(item: T): void {
    if (this.known.has(item.id)) return;
    this.known.add(item.id);
    this.routineLane.push(item);
    this.pump();
  }

  /** Whether the account is queued or being visited. */
  has(id: string): boolean {
    return this.known.has(id);
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

  private pump(): void {
    while (!this.closed && this.active < this.slots) {
      const routineRoom = this.activeRoutine < this.slots - this.urgentReserve;
      const routineTurn =
        routineRoom &&
        this.routineLane.length > 0 &&
        (this.urgentLane.length === 0 || this.started % this.routineEvery === this.routineEvery - 1);
      const item = (routineTurn ? this.routineLane : this.urgentLane).shift();
      if (!item) return;
      this.started += 1;
      this.active += 1;
      if (routineTurn) this.activeRoutine += 1;
      this.visiting.add(item.id);
      const run: Promise<void> = this.visit(item, routineTurn ? 'routine' : 'urgent')
        .catch(() => undefined)
        .finally(() => {
          this.active -= 1;
          if (routineTurn) this.activeRoutine -= 1;
          this.known.delete(item.id);
          this.visiting.delete(item.id);
          this.running.delete(run);
          if (this.again.delete(item.id) && !this.closed) this.urgent(item);
          this.pump();
        });
      this.running.add(run);
    }
  }
}
