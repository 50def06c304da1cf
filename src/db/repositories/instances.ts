import { eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { executeRows } from '../executeRows';
import { LIVENESS_LOCK_SPACE } from '../liveness';
import { engineInstances } from '../schema';

/**
 * Running engine processes and their heartbeats (DESIGN.md, "Scaling past one process"). Times come
 * from the engine's injected clock, never from the database's now(), so every comparison with a
 * heartbeat uses the same clock that wrote it.
 */
export function instancesRepository(db: Database) {
  return {
    /**
     * Registers a process (a start, or a new id after a lapse) with its first heartbeat. An upsert: a
     * registration whose answer was lost after it committed may be written again under the same id.
     */
    async register(id: string, startedAt: Date, now: Date, livenessKey: number | null): Promise<void> {
      await db
        .insert(engineInstances)
        .values({ id, startedAt, heartbeatAt: now, livenessKey })
        .onConflictDoUpdate({ target: engineInstances.id, set: { heartbeatAt: now, livenessKey } });
    },

    /**
     * Writes the heartbeat; false when the row is gone (another process found this one dead and
     * deleted it): the id is spent, and the process must go on under a new one.
     */
    async beat(id: string, now: Date): Promise<boolean> {
      const rows = await db
        .update(engineInstances)
        .set({ heartbeatAt: now })
        .where(eq(engineInstances.id, id))
        .returning({ id: engineInstances.id });
      return rows.length > 0;
    },

    /** A clean stop: its claims are free at once ("claimer row gone" counts as dead). */
    async remove(id: string): Promise<void> {
      await db.delete(engineInstances).where(eq(engineInstances.id, id));
    },

    /**
     * Deletes the rows of processes whose liveness lock nobody holds any more (their connection closed:
     * they died), so their claims are free now rather than when their heartbeat goes stale. Answers the
     * ids deleted. A row is written only after its lock is taken, so a starting process is never
     * mistaken for a dead one; a row without a key (PGlite) is left to the heartbeat.
     */
    async removeDead(selfId: string): Promise<string[]> {
      const rows = await executeRows<{ id: string }>(
        db,
        sql`delete from ${engineInstances} i
          where i.liveness_key is not null and i.id <> ${selfId}
            and not exists (
              select 1 from pg_locks l
              where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                and l.database = (select oid from pg_database where datname = current_database())
                and l.classid = ${LIVENESS_LOCK_SPACE}::int::oid and l.objid = i.liveness_key::oid)
          returning i.id`,
      );
      return rows.map((row) => row.id);
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
