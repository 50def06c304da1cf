/**
 * Copy trading's tables: links (follower ← master, with their filters), masters and their snapshots,
 * read cursors, confirmations, ended masterships. Its size: one repository for the copy aggregate,
 * whose writes lock the master row together (a mastership's end, a poll's cursor move, an accepted
 * copy) and must stay in one place to keep that lock order.
 */
import { and, asc, eq, gte, inArray, isNull, lte, notInArray, sql, type SQL } from 'drizzle-orm';
import { followLoop } from '../../domain/copy';
import type { Database } from '../client';
import { signalsRepository, type NewSignal } from './signals';
import { copyConfirmations, copyCursors, copyEndedMasterships, copyLinks, copyMasters, exchangeAccounts, executions, orders, signals } from '../schema';

export type CopyLinkRow = typeof copyLinks.$inferSelect;
export type NewCopyLink = typeof copyLinks.$inferInsert;
export type CopyMasterRow = typeof copyMasters.$inferSelect;
export type CopyCursorRow = typeof copyCursors.$inferSelect;
export type EndedMastershipRow = typeof copyEndedMasterships.$inferSelect;
export type CopyConfirmationRow = typeof copyConfirmations.$inferSelect;
export type NewCopyConfirmation = typeof copyConfirmations.$inferInsert;

import type { MasterSnapshot } from '../../domain/copy';
export type { MasterSnapshot };

/** A copy fill's signed quantity: opens and adds count in, reductions out. */
export const signedFill = sql`case when ${orders.reduceOnly} then -${orders.filledQuantity} else ${orders.filledQuantity} end`;

/**
 * Copy signals of one mastership, `since` its start in epoch ms (copies written before masterships
 * were told apart belong to every one).
 */
const ofMastership = (since: SQL) =>
  sql`(${signals.copy}->>'mastershipSince' is null or (${signals.copy}->>'mastershipSince')::bigint = ${since})`;

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
    /**
     * Makes the account a master (`grantedBy` says on whose authority). A new mastership starts with
     * no trade cursors: one left by an earlier mastership would replay the fills made in between.
     * Made again by an admin, a member's mastership becomes an admin's.
     */
    async addMaster(accountId: string, guildId: string, grantedBy: 'admin' | 'member' = 'member'): Promise<void> {
      await db.transaction(async (tx) => {
        // A mastership is known by its start (ms): a new one starts after every ended one of the account.
        const createdAt = sql`greatest(now(), coalesce((select to_timestamp((max(${copyEndedMasterships.mastershipSince}) + 1.5) / 1000.0) from ${copyEndedMasterships} where ${copyEndedMasterships.masterAccountId} = ${accountId}), now()))`;
        const inserted = await tx
          .insert(copyMasters)
          .values({ accountId, guildId, grantedBy, createdAt })
          .onConflictDoNothing()
          .returning({ accountId: copyMasters.accountId });
        if (inserted.length > 0) await tx.delete(copyCursors).where(eq(copyCursors.masterAccountId, accountId));
        else if (grantedBy === 'admin') await tx.update(copyMasters).set({ grantedBy }).where(eq(copyMasters.accountId, accountId));
      });
    },

    /**
     * Ends a mastership (run inside the caller's transaction): the master row and its cursors go, so
     * no poll reads it again; its follow links are switched off (making the account a master again
     * does not silently resume them) and copies still waiting for a follower's answer expire. Answers
     * the ended row and its links, or null when the account was not a master.
     */
    async endMaster(accountId: string): Promise<{ master: CopyMasterRow; links: CopyLinkRow[] } | null> {
      const [master] = await db.delete(copyMasters).where(eq(copyMasters.accountId, accountId)).returning();
      if (!master) return null;
      await db.delete(copyCursors).where(eq(copyCursors.masterAccountId, accountId));
      const links = await db
        .update(copyLinks)
        .set({ active: false })
        .where(and(eq(copyLinks.masterAccountId, accountId), eq(copyLinks.active, true)))
        .returning();
      if (links.length > 0) {
        await db
          .update(copyConfirmations)
          .set({ status: 'expired' })
          .where(and(inArray(copyConfirmations.linkId, links.map((link) => link.id)), sql`${copyConfirmations.status} in ('pending', 'sent')`));
      }
      return { master, links };
    },

    /**
     * What each follower still holds from one mastership's copies, per market and side: filled opens
     * and adds minus filled reductions of copy signals carrying this master and mastership (copies
     * written before masterships were told apart count for every one), with their average price.
     * Closes outside copy signals (/panic, by hand, liquidation) are not in it: see heldByLiveMasterships.
     */
    async heldFromMaster(masterAccountId: string, mastershipSince: number): Promise<{ accountId: string; symbol: string; side: 'long' | 'short'; quantity: number; price: number }[]> {
      const rows = await db
        .select({
          accountId: orders.accountId,
          symbol: orders.symbol,
          side: signals.side,
          quantity: sql<string>`sum(${signedFill})::text`,
          price: sql<string | null>`(sum(${orders.filledQuantity} * coalesce(${orders.averagePrice}, ${orders.price})) / nullif(sum(${orders.filledQuantity}), 0))::text`,
        })
        .from(orders)
        .innerJoin(signals, eq(signals.id, orders.signalId))
        .where(
          and(
            eq(signals.source, 'copy'),
            sql`${signals.copy}->>'masterAccountId' = ${masterAccountId}`,
            ofMastership(sql`${mastershipSince}`),
            sql`${orders.filledQuantity} > 0`,
          ),
        )
        .groupBy(orders.accountId, orders.symbol, signals.side);
      return rows
        .map((row) => ({ accountId: row.accountId, symbol: row.symbol, side: row.side, quantity: Number(row.quantity), price: Number(row.price ?? 0) }))
        .filter((row) => row.quantity > 1e-12);
    },

    /**
     * What masterships still running (other than `exceptMaster`'s) hold on a follower's market and
     * side from their copies: theirs to steer, never closed for another master.
     */
    async heldByLiveMasterships(accountId: string, symbol: string, side: 'long' | 'short', exceptMaster: string): Promise<number> {
      const rows = await db
        .select({
          master: sql<string>`${signals.copy}->>'masterAccountId'`,
          quantity: sql<string>`sum(${signedFill})::text`,
        })
        .from(orders)
        .innerJoin(signals, eq(signals.id, orders.signalId))
        .innerJoin(copyMasters, sql`${copyMasters.accountId}::text = ${signals.copy}->>'masterAccountId'`)
        .where(
          and(
            eq(orders.accountId, accountId),
            eq(orders.symbol, symbol),
            eq(signals.source, 'copy'),
            eq(signals.side, side),
            sql`${orders.filledQuantity} > 0`,
            // The ended mastership only: the same account's new (running) mastership is another.
            sql`(${copyMasters.accountId} <> ${exceptMaster}::uuid or ${signals.copy}->>'mastershipSince' is not null)`,
            ofMastership(sql`floor(extract(epoch from ${copyMasters.createdAt}) * 1000)::bigint`),
          ),
        )
        .groupBy(sql`${signals.copy}->>'masterAccountId'`);
      return rows.reduce((sum, row) => sum + Math.max(0, Number(row.quantity)), 0);
    },

    /**
     * Followers with a copy of this mastership (copies before masterships were told apart included)
     * whose outcome is not known yet: in a signal not fanned out yet, or an execution still pending
     * or in flight.
     */
    async pendingCopyFollowers(masterAccountId: string, mastershipSince: number): Promise<Set<string>> {
      const copiesOf = and(
        eq(signals.source, 'copy'),
        sql`${signals.copy}->>'masterAccountId' = ${masterAccountId}`,
        ofMastership(sql`${mastershipSince}`),
      );
      const queued = await db.select({ copy: signals.copy }).from(signals).where(and(copiesOf, eq(signals.status, 'pending')));
      const running = await db
        .select({ accountId: executions.accountId })
        .from(executions)
        .innerJoin(signals, eq(signals.id, executions.signalId))
        .where(and(copiesOf, inArray(executions.status, ['pending', 'in-flight'])));
      const out = new Set(running.map((row) => row.accountId));
      for (const row of queued) for (const follower of row.copy?.followers ?? []) out.add(follower.accountId);
      return out;
    },

    async recordEndedMastership(row: typeof copyEndedMasterships.$inferInsert): Promise<void> {
      await db.insert(copyEndedMasterships).values(row).onConflictDoNothing();
    },

    /** Ended masterships whose next round is due, locked for this transaction (others skip them). */
    dueEndedMasterships(now: Date, limit: number): Promise<EndedMastershipRow[]> {
      return db
        .select()
        .from(copyEndedMasterships)
        .where(and(isNull(copyEndedMasterships.settledAt), lte(copyEndedMasterships.nextRoundAt, now)))
        .orderBy(asc(copyEndedMasterships.nextRoundAt))
        .limit(limit);
    },

    async lockEndedMastership(masterAccountId: string, mastershipSince: number): Promise<EndedMastershipRow | null> {
      const [row] = await db
        .select()
        .from(copyEndedMasterships)
        .where(and(eq(copyEndedMasterships.masterAccountId, masterAccountId), eq(copyEndedMasterships.mastershipSince, mastershipSince)))
        .for('update', { skipLocked: true });
      return row ?? null;
    },

    async updateEndedMastership(masterAccountId: string, mastershipSince: number, patch: Partial<Pick<EndedMastershipRow, 'rounds' | 'nextRoundAt' | 'settledAt'>>): Promise<void> {
      await db
        .update(copyEndedMasterships)
        .set(patch)
        .where(and(eq(copyEndedMasterships.masterAccountId, masterAccountId), eq(copyEndedMasterships.mastershipSince, mastershipSince)));
    },

    /** Copies of this master on a pair and side still waiting for a follower's answer expire. */
    async expireConfirmationsOf(masterAccountId: string, pair: string, side: 'long' | 'short'): Promise<void> {
      await db
        .update(copyConfirmations)
        .set({ status: 'expired' })
        .where(
          and(
            sql`${copyConfirmations.status} in ('pending', 'sent')`,
            sql`${copyConfirmations.copy}->>'masterAccountId' = ${masterAccountId}`,
            sql`${copyConfirmations.signal}->>'symbol' = ${pair}`,
            sql`${copyConfirmations.signal}->>'side' = ${side}`,
          ),
        );
    },

    /** Locks the master's row for the transaction: its mastership's start, or null when it is no master. */
    async lockMaster(accountId: string): Promise<{ since: number } | null> {
      const [row] = await db.select({ createdAt: copyMasters.createdAt }).from(copyMasters).where(eq(copyMasters.accountId, accountId)).for('update');
      return row ? { since: row.createdAt.getTime() } : null;
    },

    /**
     * Whether a copy of this master order was queued before (a copy signal, or a copy waiting for a
     * follower's answer): the rest of an order filling over several polls is then its continuation.
     */
    async masterOrderCopied(masterAccountId: string, symbol: string, orderId: string): Promise<boolean> {
      const pair = symbol.split(':')[0] ?? symbol;
      const copyOf = (column: typeof signals.copy | typeof copyConfirmations.copy) =>
        sql`${column}->>'masterAccountId' = ${masterAccountId} and ${column}->>'orderId' = ${orderId}`;
      const [signal] = await db
        .select({ id: signals.id })
        .from(signals)
        .where(and(eq(signals.source, 'copy'), eq(signals.symbol, pair), copyOf(signals.copy)))
        .limit(1);
      if (signal) return true;
      const [asked] = await db
        .select({ id: copyConfirmations.id })
        .from(copyConfirmations)
        .where(sql`${copyOf(copyConfirmations.copy)} and ${copyConfirmations.signal}->>'symbol' = ${pair}`)
        .limit(1);
      return asked !== undefined;
    },

    /** Every master of the server with its owner (revocation checks who may still be one). */
    mastersWithOwners(guildId?: string): Promise<(CopyMasterRow & { ownerId: string })[]> {
      return db
        .select({ master: copyMasters, ownerId: exchangeAccounts.ownerId })
        .from(copyMasters)
        .innerJoin(exchangeAccounts, eq(exchangeAccounts.id, copyMasters.accountId))
        .where(guildId === undefined ? undefined : eq(copyMasters.guildId, guildId))
        .then((rows) => rows.map((row) => ({ ...row.master, ownerId: row.ownerId })));
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
     * The bot's own orders on an account and symbol (any signal, copies included) active since a time:
     * the exchange ids their trades may name (a triggered algo order's placed order included), whether
     * one of them has no exchange id yet (sent, its answer not known), and the client ids of its
     * conditional orders still working (one may have triggered before the bot read it).
     */
    async botOrdersOn(
      accountId: string,
      symbol: string,
      since: Date,
    ): Promise<{ exchangeOrderIds: Set<string>; unresolved: boolean; workingConditional: string[] }> {
      const rows = await db
        .select({
          exchangeOrderId: orders.exchangeOrderId,
          fillOrderId: orders.fillOrderId,
          clientOrderId: orders.clientOrderId,
          type: orders.type,
          status: orders.status,
        })
        .from(orders)
        // Updated since, not created: a stop placed weeks before it fires is still the bot's.
        .where(and(eq(orders.accountId, accountId), eq(orders.symbol, symbol), gte(orders.updatedAt, since)));
      return {
        exchangeOrderIds: new Set(rows.flatMap((row) => [row.exchangeOrderId, row.fillOrderId].filter((id): id is string => !!id))),
        unresolved: rows.some((row) => row.exchangeOrderId === null && (row.status === 'intent' || row.status === 'unknown')),
        workingConditional: rows
          .filter(
            (row) =>
              (row.type === 'stop-loss' || row.type === 'take-profit') &&
              row.fillOrderId === null &&
              (row.status === 'open' || row.status === 'partially-filled' || row.status === 'unknown'),
          )
          .map((row) => row.clientOrderId),
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

    /** The oldest copies waiting to be offered, leaving out `waiting` (ids the sender tries again later). */
    pendingConfirmations(limit: number, waiting: readonly string[] = []): Promise<CopyConfirmationRow[]> {
      return db
        .select()
        .from(copyConfirmations)
        .where(and(eq(copyConfirmations.status, 'pending'), waiting.length > 0 ? notInArray(copyConfirmations.id, [...waiting]) : undefined))
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

    /**
     * The follower's Copy: under the master's row lock, the confirmation moves to accepted (once, and
     * only while open) and its copy signal is queued, in one transaction. Null when it was answered,
     * expired (the master left the position), or the mastership has ended.
     */
    async acceptConfirmationAndQueue(id: string, ownerId: string, signal: NewSignal): Promise<{ signalId: string } | null> {
      return db.transaction(async (tx) => {
        const masterId = signal.copy?.masterAccountId;
        const since = signal.copy?.mastershipSince;
        const [master] = masterId
          ? await tx.select({ createdAt: copyMasters.createdAt }).from(copyMasters).where(eq(copyMasters.accountId, masterId)).for('update')
          : [];
        const [row] = await tx
          .update(copyConfirmations)
          .set({ status: master && (since === undefined || since === master.createdAt.getTime()) ? 'accepted' : 'expired' })
          .where(and(eq(copyConfirmations.id, id), eq(copyConfirmations.followerOwnerId, ownerId), sql`${copyConfirmations.status} in ('pending', 'sent')`))
          .returning();
        if (!row || row.status !== 'accepted') return null;
        return { signalId: (await signalsRepository(tx as unknown as Database).enqueue(signal)).id };
      });
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
