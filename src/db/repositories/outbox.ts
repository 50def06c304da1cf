import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { feedClaims, feedOutbox, installation } from '../schema';

export type OutboxRow = typeof feedOutbox.$inferSelect;
export type NewOutboxRow = Pick<
  typeof feedOutbox.$inferInsert,
  'guildId' | 'kind' | 'signalId' | 'accountId' | 'recipientId' | 'payload'
>;

/** Anything that can run a query: the database or an open transaction. */
export type Queryable = Pick<Database, 'insert' | 'select' | 'update' | 'delete' | 'execute'>;

/** Written in the transaction of the outcome it reports, posted later by the feed poster. */
export async function enqueueFeed(q: Queryable, rows: readonly NewOutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  // One JSON parameter however many rows (a thousand order events per signal): the rows keep their
  // order, so ids (and the channel) follow the order things happened.
  const records = rows.map((row) => ({
    guild_id: row.guildId,
    kind: row.kind,
    signal_id: row.signalId ?? null,
    account_id: row.accountId ?? null,
    recipient_id: row.recipientId ?? null,
    payload: row.payload,
  }));
  await q.execute(sql`
    insert into ${feedOutbox} (guild_id, kind, signal_id, account_id, recipient_id, payload)
    select v.guild_id, v.kind, v.signal_id, v.account_id, v.recipient_id, v.payload
    from rows from (
      json_to_recordset(${JSON.stringify(records)}::json)
        as (guild_id text, kind text, signal_id uuid, account_id uuid, recipient_id text, payload jsonb)
    ) with ordinality as v(guild_id, kind, signal_id, account_id, recipient_id, payload, position)
    order by v.position`);
}

export function outboxRepository(db: Database) {
  return {
    enqueue: (rows: NewOutboxRow[]) => enqueueFeed(db, rows),

    /** This deployment's random id (migration 0013), for the feed's message nonces. */
    async installId(): Promise<string> {
      const [row] = await db.select({ id: installation.id }).from(installation).limit(1);
      if (!row) throw new Error('the installation row is missing (migration 0013 not applied)');
      return row.id;
    },

    /**
     * Oldest first, so a channel reads in the order things happened; with `holder`, not the rows of a
     * scope another process holds a live claim on (feedClaims): they are that process's to post.
     */
    due(limit: number, now: Date, holder?: string): Promise<OutboxRow[]> {
      const others = holder
        ? sql`not exists (select 1 from ${feedClaims} c
              where c.scope = (case when ${feedOutbox.kind} = 'dm' then 'u:' || coalesce(${feedOutbox.recipientId}, '') else 'g:' || ${feedOutbox.guildId} end)
                and c.holder <> ${holder} and c.until > now())`
        : undefined;
      return db
        .select()
        .from(feedOutbox)
        .where(and(eq(feedOutbox.status, 'pending'), lte(feedOutbox.nextAttemptAt, now), others))
        .orderBy(asc(feedOutbox.id))
        .limit(limit);
    },

    /**
     * Claims `scopes` for `holder` for `ttlMs`: the ones free (never claimed, lapsed) or its own
     * already; answers those granted. One statement, and the database's clock (never a host's, which
     * may be skewed): two processes never both get a scope.
     */
    async claim(scopes: readonly string[], holder: string, ttlMs: number): Promise<Set<string>> {
      if (scopes.length === 0) return new Set();
      const until = sql`now() + ${Math.max(1, Math.round(ttlMs))} * interval '1 millisecond'`;
      const granted = await db
        .insert(feedClaims)
        .values([...new Set(scopes)].map((scope) => ({ scope, holder, until })))
        .onConflictDoUpdate({
          target: feedClaims.scope,
          set: { holder: sql`excluded.holder`, until: sql`excluded.until` },
          setWhere: sql`${feedClaims.until} <= now() or ${feedClaims.holder} = excluded.holder`,
        })
        .returning({ scope: feedClaims.scope });
      return new Set(granted.map((row) => row.scope));
    },

    /** Frees every claim of `holder` (a clean stop): its scopes go to the others at once. */
    async releaseClaims(holder: string): Promise<void> {
      await db.delete(feedClaims).where(eq(feedClaims.holder, holder));
    },

    /** Tags still pending rows with their message's batch; answers how many it tagged (fewer: some were posted or dropped meanwhile). */
    async reserveBatch(ids: readonly number[], tag: string): Promise<number> {
      if (ids.length === 0) return 0;
      const tagged = await db
        .update(feedOutbox)
        .set({ messageId: tag })
        .where(and(inArray(feedOutbox.id, [...ids]), eq(feedOutbox.status, 'pending')))
        .returning({ id: feedOutbox.id });
      return tagged.length;
    },

    async markPosted(ids: number[], channelId: string, messageId: string, now: Date): Promise<void> {
      if (ids.length === 0) return;
      await db
        .update(feedOutbox)
        .set({ status: 'posted', channelId, messageId, postedAt: now, lastError: null })
        .where(inArray(feedOutbox.id, ids));
    },

    async markRetry(ids: number[], error: string, nextAttemptAt: Date): Promise<void> {
      if (ids.length === 0) return;
      await db
        .update(feedOutbox)
        .set({ attempts: sql`${feedOutbox.attempts} + 1`, lastError: error.slice(0, 500), nextAttemptAt })
        .where(inArray(feedOutbox.id, ids));
    },

    /** Nowhere to post (no feed channel set): kept for the record, never retried. */
    async markDropped(ids: number[], reason: string): Promise<void> {
      if (ids.length === 0) return;
      await db
        .update(feedOutbox)
        .set({ status: 'dropped', lastError: reason })
        .where(inArray(feedOutbox.id, ids));
    },

    async backlog(): Promise<number> {
      const [row] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(feedOutbox)
        .where(eq(feedOutbox.status, 'pending'));
      return row?.count ?? 0;
    },

    /**
     * Pending rows, and how long the longest-due one has been due (since its next attempt time, so a row
     * retried for a long time counts from its last retry), by the database's clock (null when none is
     * due): the feed's health.
     */
    async backlogAge(): Promise<{ pending: number; oldestDueMs: number | null }> {
      const [row] = await db
        .select({
          count: sql<number>`count(*)::int`,
          oldest: sql<number | null>`(extract(epoch from now() - min(${feedOutbox.nextAttemptAt}) filter (where ${feedOutbox.nextAttemptAt} <= now())) * 1000)::float8`,
        })
        .from(feedOutbox)
        .where(eq(feedOutbox.status, 'pending'));
      return { pending: row?.count ?? 0, oldestDueMs: row?.oldest ?? null };
    },

    /** The posted summary of a signal, to edit it when late outcomes arrive. */
    /** The first of a signal's per-order lines posted in a channel (the summary links to it). */
    async firstPostedOrder(signalId: string): Promise<OutboxRow | null> {
      const [row] = await db
        .select()
        .from(feedOutbox)
        .where(and(eq(feedOutbox.signalId, signalId), eq(feedOutbox.kind, 'order'), eq(feedOutbox.status, 'posted')))
        .orderBy(asc(feedOutbox.id))
        .limit(1);
      return row ?? null;
    },

    async postedSummary(signalId: string): Promise<OutboxRow | null> {
      const [row] = await db
        .select()
        .from(feedOutbox)
        .where(
          and(
            eq(feedOutbox.signalId, signalId),
            eq(feedOutbox.kind, 'summary'),
            eq(feedOutbox.status, 'posted'),
          ),
        )
        .orderBy(asc(feedOutbox.id))
        .limit(1);
      return row ?? null;
    },
  };
}

export type OutboxRepository = ReturnType<typeof outboxRepository>;
