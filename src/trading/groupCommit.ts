/**
 * Group commit: callers submit one item each and await it; items that arrive while a write is
 * running are written together by the next one. Each caller stays independent (it only waits for
 * its own item), yet a thousand outcomes cost a few transactions instead of a thousand.
 */
export class GroupCommit<T> {
  private queue: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly writeMany: (items: T[]) => Promise<void>,
    /** Used when a group write fails, so one bad item cannot fail the others. */
    private readonly writeOne: (item: T) => Promise<void>,
    /** Told when a group write failed and its items are being written one by one (a slow path worth seeing). */
    private readonly onGroupFailure: (error: unknown, size: number) => void = () => {},
    private readonly maxGroup = 500,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    // Let the callers that are ready in this tick join the first group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxGroup);
      try {
        await this.writeMany(group.map((entry) => entry.item));
        for (const entry of group) entry.resolve();
      } catch (groupError) {
        this.onGroupFailure(groupError, group.length);
        for (const entry of group) {
          try {
            await this.writeOne(entry.item);
            entry.resolve();
          } catch (error) {
            entry.reject(error);
          }
        }
      }
    }
    this.flushing = null;
  }
}
