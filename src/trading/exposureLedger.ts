/**
 * A member's exposure per base asset as one batch of executions sees it: the open exposure read once
 * per (member, asset) for the batch, plus what this batch has already planned for that member. The
 * plans of one member's accounts run one at a time through it, so a cap holds across accounts that
 * execute side by side (each sees what the others planned), and members without a cap cost nothing:
 * no query, no waiting.
 */
export class ExposureLedger {
  private readonly opened = new Map<string, Promise<number>>();
  private readonly planned = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly openExposure: (ownerId: string, mode: string, baseAsset: string) => Promise<number>) {}

  /**
   * Runs `plan` with the member's current exposure in `baseAsset` and counts what it adds. A planned
   * notional stays counted for the batch even if its order then fails: erring on the side of the cap.
   */
  async plan<T>(
    ownerId: string,
    mode: string,
    baseAsset: string,
    capUsd: number | null,
    plan: (currentUsd: number) => Promise<{ result: T; addedUsd: number }>,
  ): Promise<T> {
    if (capUsd === null) return (await plan(0)).result;
    // Per mode: paper and demo exposure is not money and never counts against live (nor the reverse).
    const key = `${ownerId}:${mode}:${baseAsset.toUpperCase()}`;
    const run = async (): Promise<T> => {
      let opened = this.opened.get(key);
      if (!opened) {
        opened = this.openExposure(ownerId, mode, baseAsset);
        this.opened.set(key, opened);
      }
      const current = (await opened) + (this.planned.get(key) ?? 0);
      const { result, addedUsd } = await plan(current);
      if (addedUsd > 0) this.planned.set(key, (this.planned.get(key) ?? 0) + addedUsd);
      return result;
    };
    const previous = this.queues.get(key) ?? Promise.resolve();
    const mine = previous.then(run, run);
    this.queues.set(
      key,
      mine.catch(() => undefined),
    );
    return mine;
  }
}
