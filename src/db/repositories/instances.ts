import { eq, lt } from 'drizzle-orm';
import type { Database } from '../client';
import { engineInstances } from '../schema';

/**
 * Running engine processes and their heartbeats (DESIGN.md, "Scaling past one process"). Times come
 * from the engine's injected clock, never from the database's now(), so every comparison with a
 * heartbeat uses the same clock that wrote it.
 */
export function instancesRepository(db: Database) {
  return {
    /** Writes the heartbeat; registers the process again if its row was removed meanwhile. */
    async beat(id: string, startedAt: Date, now: Date): Promise<void> {
      await db
        .insert(engineInstances)
        .values({ id, startedAt, heartbeatAt: now })
        .onConflictDoUpdate({ target: engineInstances.id, set: { heartbeatAt: now } });
    },

    /** A clean stop: its claims are free at once ("claimer row gone" counts as dead). */
    async remove(id: string): Promise<void> {
      await db.delete(engineInstances).where(eq(engineInstances.id, id));
    },

    /**
     * Rows of processes dead for long. Removing one changes nothing about its claims (a stale heartbeat
     * already lets them be taken over); it only keeps the table small across many restarts.
     */
    async forgetDeadSince(before: Date): Promise<void> {
      await db.delete(engineInstances).where(lt(engineInstances.heartbeatAt, before));
    },

    byId(id: string) {
      return db
        .select()
        .from(engineInstances)
        .where(eq(engineInstances.id, id))
        .then((rows) => rows[0] ?? null);
    },
  };
}

export type InstancesRepository = ReturnType<typeof instancesRepository>;
