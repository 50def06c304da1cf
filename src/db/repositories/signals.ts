import { and, asc, eq, ne, notInArray, or, sql } from 'drizzle-orm';
import type { CopyInstructions } from '../../domain/copy';
import type { Signal } from '../../domain/records';
import type { TradeSignal, ValidatedSignal } from '../../domain/signal';
import type { Database } from '../client';
import { executions, signals } from '../schema';
import { isUuid } from './ids';

export type SignalRow = typeof signals.$inferSelect;
import type { SignalSource } from '../../domain/signal';
export type { SignalSource };

export interface NewSignal extends Pick<Signal, 'id' | 'guildId' | 'source' | 'sourceRef' | 'authorId' | 'channelId' | 'createdAt'> {
  /** Validated at intake, the only validation: fan-out and execution trust it. */
  signal: ValidatedSignal;
  copy?: CopyInstructions;
}

export const toTradeSignal = (row: SignalRow): TradeSignal => ({
  symbol: row.symbol,
  side: row.side,
  entryType: row.entryType,
  entries: row.entries,
  stopLoss: row.stopLoss,
  takeProfits: row.takeProfits,
  leverage: row.leverage,
});

export function signalsRepository(db: Database) {
  const claimable = () =>
    or(
      eq(signals.status, 'pending'),
      and(eq(signals.status, 'executing'), sql`not exists (select 1 from ${executions} e where e.signal_id = ${signals.id})`),
    );

  /**
   * One attempt: lock the oldest claimable signal (SKIP LOCKED), then claim it by an UPDATE that
   * checks again. The check again matters on PostgreSQL: when the lock was waited for, the row is
   * re-read but the NOT EXISTS sub-query still sees the old snapshot, so a signal another process
   * claimed and fanned out in the meantime would look claimable; the UPDATE is a new statement
   * with a new snapshot, which sees that process's executions. "raced": try the next one.
   */
  async function claimOnce(
    instanceId: string,
    now: Date,
    exclude: readonly string[],
  ): Promise<{ kind: 'done'; row: SignalRow | null } | { kind: 'raced'; id: string }> {
    const [candidate] = await db
      .select({ id: signals.id })
      .from(signals)
      .where(and(claimable(), exclude.length > 0 ? notInArray(signals.id, [...exclude]) : undefined))
      .orderBy(asc(signals.createdAt))
      .limit(1)
      .for('update', { skipLocked: true });
    if (!candidate) return { kind: 'done', row: null };
    const [row] = await db
      .update(signals)
      .set({ status: 'executing', claimedBy: instanceId, claimedAt: now })
      .where(and(eq(signals.id, candidate.id), claimable()))
      .returning();
    return row ? { kind: 'done', row } : { kind: 'raced', id: candidate.id };
  }

  return {
    /** Idempotent per (source, sourceRef): a message or fill seen twice queues one signal. */
    async enqueue(input: NewSignal): Promise<{ inserted: boolean; id: string }> {
      const { signal } = input;
      const inserted = await db
        .insert(signals)
        .values({
          id: input.id,
          guildId: input.guildId,
          source: input.source,
          sourceRef: input.sourceRef,
          authorId: input.authorId,
          channelId: input.channelId,
          symbol: signal.symbol,
          side: signal.side,
          entryType: signal.entryType,
          entries: signal.entries,
          stopLoss: signal.stopLoss,
          takeProfits: signal.takeProfits,
          leverage: signal.leverage,
          copy: input.copy ?? null,
          createdAt: input.createdAt,
        })
        .onConflictDoNothing()
        .returning({ id: signals.id });
      if (inserted[0]) return { inserted: true, id: inserted[0].id };
      const [existing] = await db
        .select({ id: signals.id })
        .from(signals)
        .where(and(eq(signals.source, input.source), eq(signals.sourceRef, input.sourceRef)));
      if (!existing) throw new Error('signal neither inserted nor found');
      return { inserted: false, id: existing.id };
    },

    async byId(id: string): Promise<SignalRow | null> {
      if (!isUuid(id)) return null;
      const [row] = await db.select().from(signals).where(eq(signals.id, id));
      return row ?? null;
    },

    /**
     * Claims the oldest signal waiting for its fan-out, skipping `exclude` (signals whose fan-out
     * failed this cycle). Call inside the transaction that creates its executions: FOR UPDATE SKIP
     * LOCKED keeps other processes off it until that transaction commits, and a rollback leaves it
     * as it was. Waiting: pending, or 'executing' without a single execution, which only an older
     * version could leave behind (it claimed and fanned out in separate transactions) and is fanned
     * out again here.
     */
    async claimNext(instanceId: string, now: Date, exclude: readonly string[] = []): Promise<SignalRow | null> {
      const passed = [...exclude];
      for (;;) {
        const claimed = await claimOnce(instanceId, now, passed);
        if (claimed.kind !== 'raced') return claimed.row;
        passed.push(claimed.id);
      }
    },

    listExecuting(): Promise<SignalRow[]> {
      return db.select().from(signals).where(eq(signals.status, 'executing')).orderBy(asc(signals.createdAt));
    },

    async complete(id: string, now: Date): Promise<void> {
      await db
        .update(signals)
        .set({ status: 'done', completedAt: now })
        .where(and(eq(signals.id, id), eq(signals.status, 'executing')));
    },

    /**
     * Withdraws a signal its author published. A done signal may still have resting limit entries,
     * so anything not already cancelled can be withdrawn; the engine cancels what has not filled.
     */
    async cancel(id: string, authorId: string, now: Date): Promise<SignalRow | null> {
      if (!isUuid(id)) return null;
      const [row] = await db
        .update(signals)
        .set({ status: 'cancelled', completedAt: now })
        .where(
          and(
            eq(signals.id, id),
            eq(signals.authorId, authorId),
            // A copy signal carries a master's fill to the followers (their exits too): nobody withdraws it.
            ne(signals.source, 'copy'),
            sql`${signals.status} in ('pending', 'executing', 'done')`,
          ),
        )
        .returning();
      return row ?? null;
    },

    listRecentByAuthor(guildId: string, authorId: string, limit: number): Promise<SignalRow[]> {
      return db
        .select()
        .from(signals)
        .where(
          and(
            eq(signals.guildId, guildId),
            eq(signals.authorId, authorId),
            ne(signals.source, 'copy'),
            sql`${signals.status} in ('pending', 'executing')`,
          ),
        )
        .orderBy(sql`${signals.createdAt} desc`)
        .limit(limit);
    },
  };
}

export type SignalsRepository = ReturnType<typeof signalsRepository>;
