import { and, asc, eq, gte, sql } from 'drizzle-orm';
import { followLoop } from '../../domain/copy';
import type { Database } from '../client';
import { copyConfirmations, copyCursors, copyLinks, copyMasters, executions, orders, signals } from '../schema';

export type CopyLinkRow = typeof copyLinks.$inferSelect;
export type NewCopyLink = typeof copyLinks.$inferInsert;
export type CopyMasterRow = typeof copyMasters.$inferSelect;
export type CopyCursorRow = typeof copyCursors.$inferSelect;
export type CopyConfirmationRow = typeof copyConfirmations.$inferSelect;
export type NewCopyConfirmation = typeof copyConfirmations.$inferInsert;

/**
 * What the poller remembers of a master between cycles: per symbol, the signed position after the
 * last fill it turned into signals (not merely the last one seen), and the balance, so a cycle can
 * tell which symbols changed and fetch trades only for those.
 */
export interface MasterSnapshot {
  positions: Record<string, number>;
  free: number;
  equity: number;
  /** Trades before this time (ms, exchange clock) existed before the account became a master. */
  since: number;
}

async function writeLink(q: Pick<Database, 'insert'>, link: NewCopyLink): Promise<CopyLinkRow> {
  const { id: _id, masterAccountId: _m, followerAccountId: _f, createdAt: _c, ...changes } = link;
  const [row] = await q
    .insert(copyLinks)
    .values(link)
    .onConflictDoUpdate({ target: [copyLinks.masterAccountId, copyLinks.followerAccountId], set: { ...changes, active: true } })
    .returning();
  if (!row) throw new Error('copy link upsert returned nothing');
  return row;
}

export function copyRepository(db: Database) {
  return {
    async addMaster(accountId: string, guildId: string): Promise<void> {
      await db.insert(copyMasters).values({ accountId, guildId }).onConflictDoNothing();
    },

    async removeMaster(accountId: string): Promise<void> {
      await db.delete(copyMasters).where(eq(copyMasters.accountId, accountId));
    },

    async master(accountId: string): Promise<CopyMasterRow | null> {
      const [row] = await db.select().from(copyMasters).where(eq(copyMasters.accountId, accountId));
      return row ?? null;
    },

    listMasters(guildId?: string): Promise<CopyMasterRow[]> {
      return guildId === undefined
        ? db.select().from(copyMasters)
        : db.select().from(copyMasters).where(eq(copyMasters.guildId, guildId));
    },

    async saveSnapshot(accountId: string, snapshot: MasterSnapshot): Promise<void> {
      await db
        .update(copyMasters)
        .set({ snapshot, equityUsd: snapshot.equity })
        .where(eq(copyMasters.accountId, accountId));
    },

    async cursor(masterAccountId: string, symbol: string): Promise<CopyCursorRow | null> {
      const [row] = await db
        .select()
        .from(copyCursors)
        .where(and(eq(copyCursors.masterAccountId, masterAccountId), eq(copyCursors.symbol, symbol)));
      return row ?? null;
    },

    listCursors(masterAccountId: string): Promise<CopyCursorRow[]> {
      return db.select().from(copyCursors).where(eq(copyCursors.masterAccountId, masterAccountId));
    },

    /**
     * After a fill's signal is queued: moves the (master, symbol) cursor past it and records the
     * master's position after it, in one transaction, so a restart resumes exactly after this fill.
     */
    async advance(masterAccountId: string, symbol: string, trade: { id: string; at: number }, position: number): Promise<void> {
      await db.transaction(async (tx) => {
        await tx
          .insert(copyCursors)
          .values({ masterAccountId, symbol, lastTradeId: trade.id, lastTradeAt: trade.at })
          .onConflictDoUpdate({
            target: [copyCursors.masterAccountId, copyCursors.symbol],
            set: { lastTradeId: trade.id, lastTradeAt: trade.at },
          });
        await tx
          .update(copyMasters)
          .set({
            snapshot: sql`jsonb_set(coalesce(${copyMasters.snapshot}, '{"positions":{}}'::jsonb), array['positions', ${symbol}::text], to_jsonb(${position}::float8), true)`,
          })
          .where(eq(copyMasters.accountId, masterAccountId));
      });
    },

    /**
     * Creates (or updates) a link unless it would close a copy loop, decided under a lock on the
     * server's links: two members linking A→B and B→A at once cannot both pass the check.
     */
    async upsertLinkUnlessLoop(link: NewCopyLink): Promise<{ kind: 'linked'; row: CopyLinkRow } | { kind: 'loop'; through: string[] }> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`copy-links:${link.guildId}`}))`);
        const active = await tx
          .select({ follower: copyLinks.followerAccountId, master: copyLinks.masterAccountId })
          .from(copyLinks)
          .where(and(eq(copyLinks.guildId, link.guildId), eq(copyLinks.active, true)));
        const through = followLoop(active, link.followerAccountId, link.masterAccountId);
        if (through.length > 0) return { kind: 'loop' as const, through };
        return { kind: 'linked' as const, row: await writeLink(tx, link) };
      });
    },

    /** Without the loop check (tests that build links directly). */
    upsertLink(link: NewCopyLink): Promise<CopyLinkRow> {
      return writeLink(db, link);
    },

    /**
     * The bot's own orders on an account and symbol (any signal, copies included) since a time: their
     * exchange ids, and whether one sent in the last few minutes has no exchange id yet (in flight).
     */
    async botOrdersOn(accountId: string, symbol: string, since: Date, inFlightSince: Date): Promise<{ exchangeOrderIds: Set<string>; inFlight: boolean }> {
      const rows = await db
        .select({ exchangeOrderId: orders.exchangeOrderId, status: orders.status, createdAt: orders.createdAt })
        .from(orders)
        .where(and(eq(orders.accountId, accountId), eq(orders.symbol, symbol), gte(orders.createdAt, since)));
      return {
        exchangeOrderIds: new Set(rows.flatMap((row) => (row.exchangeOrderId ? [row.exchangeOrderId] : []))),
        inFlight: rows.some((row) => row.exchangeOrderId === null && (row.status === 'intent' || row.status === 'unknown') && row.createdAt >= inFlightSince),
      };
    },

    activeLinksOf(masterAccountId: string): Promise<CopyLinkRow[]> {
      return db
        .select()
        .from(copyLinks)
        .where(and(eq(copyLinks.masterAccountId, masterAccountId), eq(copyLinks.active, true)));
    },

    linksOfFollowerOwner(guildId: string, ownerId: string): Promise<CopyLinkRow[]> {
      return db
        .select()
        .from(copyLinks)
        .where(and(eq(copyLinks.guildId, guildId), eq(copyLinks.followerOwnerId, ownerId)));
    },

    async stopLinks(guildId: string, ownerId: string, masterAccountId?: string): Promise<number> {
      const rows = await db
        .update(copyLinks)
        .set({ active: false })
        .where(
          and(
            eq(copyLinks.guildId, guildId),
            eq(copyLinks.followerOwnerId, ownerId),
            eq(copyLinks.active, true),
            ...(masterAccountId === undefined ? [] : [eq(copyLinks.masterAccountId, masterAccountId)]),
          ),
        )
        .returning({ id: copyLinks.id });
      return rows.length;
    },

    async addConfirmation(row: NewCopyConfirmation): Promise<void> {
      await db.insert(copyConfirmations).values(row).onConflictDoNothing();
    },

    pendingConfirmations(limit: number): Promise<CopyConfirmationRow[]> {
      return db
        .select()
        .from(copyConfirmations)
        .where(eq(copyConfirmations.status, 'pending'))
        .orderBy(asc(copyConfirmations.createdAt))
        .limit(limit);
    },

    async setConfirmation(id: string, patch: Partial<Pick<CopyConfirmationRow, 'status' | 'messageId'>>): Promise<void> {
      await db.update(copyConfirmations).set(patch).where(eq(copyConfirmations.id, id));
    },

    /** Moves an open confirmation (pending or sent) of this owner to its answer, once; null when already answered. */
    async answerConfirmation(id: string, ownerId: string, status: 'accepted' | 'skipped' | 'expired'): Promise<CopyConfirmationRow | null> {
      const [row] = await db
        .update(copyConfirmations)
        .set({ status })
        .where(
          and(
            eq(copyConfirmations.id, id),
            eq(copyConfirmations.followerOwnerId, ownerId),
            sql`${copyConfirmations.status} in ('pending', 'sent')`,
          ),
        )
        .returning();
      return row ?? null;
    },

    async confirmation(id: string): Promise<CopyConfirmationRow | null> {
      const [row] = await db.select().from(copyConfirmations).where(eq(copyConfirmations.id, id));
      return row ?? null;
    },

    /** Outcomes of one follower's copies of one master, by status and reason (the engine's executions). */
    async outcomes(masterAccountId: string, followerAccountId: string): Promise<{ status: string; reason: string | null; n: number }[]> {
      const rows = await db
        .select({ status: executions.status, reason: executions.reason, n: sql<number>`count(*)::int` })
        .from(executions)
        .innerJoin(signals, eq(signals.id, executions.signalId))
        .where(
          and(
            eq(executions.accountId, followerAccountId),
            eq(signals.source, 'copy'),
            sql`${signals.copy}->>'masterAccountId' = ${masterAccountId}`,
          ),
        )
        .groupBy(executions.status, executions.reason);
      return rows;
    },

    async count(linkId: string, what: 'copied' | 'skipped' | 'failed'): Promise<void> {
      const column = copyLinks[what];
      await db
        .update(copyLinks)
        .set({ [what]: sql`${column} + 1` })
        .where(eq(copyLinks.id, linkId));
    },
  };
}

export type CopyRepository = ReturnType<typeof copyRepository>;
