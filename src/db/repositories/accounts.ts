import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, notInArray, or, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { exchangeAccounts, positions, users } from '../schema';
import { isUuid } from './ids';
import { enqueueFeed, type NewOutboxRow } from './outbox';
import type { MemberScope } from '../../domain/account';

export type AccountRow = typeof exchangeAccounts.$inferSelect;

/** Advisory lock key space of per-member account adds. */
const MEMBER_LOCK_SPACE = 1_101_002;
export type NewAccount = typeof exchangeAccounts.$inferInsert;

/** Settings an owner may change with /account settings. */
export type AccountSettingsPatch = Partial<
  Pick<
    AccountRow,
    | 'sizingMode'
    | 'sizingValue'
    | 'maxPositionUsd'
    | 'leverage'
    | 'maxDailyTrades'
    | 'riskPerTradePct'
    | 'maxDailyLossPct'
    | 'stopOnLoss'
    | 'minNotionalPolicy'
    | 'symbolAllow'
    | 'symbolBlock'
    | 'shareAmounts'
    | 'strategyOptIn'
    | 'takeProfitSplit'
    | 'breakEvenAfterTp1'
  >
>;

/**
 * Every personal query is scoped by the owner's Discord user id and the server (MemberScope): another
 * member's id, or the same member in another server, finds nothing.
 */
export function accountsRepository(db: Database) {
  const owned = (scope: MemberScope, accountId: string) =>
    and(
      eq(exchangeAccounts.ownerId, scope.ownerId),
      eq(exchangeAccounts.guildId, scope.guildId),
      eq(exchangeAccounts.id, accountId),
    );

  async function insertAccount(account: NewAccount, maxPerMember?: number): Promise<AccountRow | null> {
    return db.transaction(async (tx) => {
      await tx.insert(users).values({ discordId: account.ownerId }).onConflictDoNothing();
      if (maxPerMember !== undefined) {
        await tx.execute(
          sql`select pg_advisory_xact_lock(${MEMBER_LOCK_SPACE}, hashtext(${`${account.guildId}:${account.ownerId}`}))`,
        );
        const [held] = await tx
          .select({ count: sql<number>`count(*)::int` })
          .from(exchangeAccounts)
          .where(
            and(eq(exchangeAccounts.ownerId, account.ownerId), eq(exchangeAccounts.guildId, account.guildId)),
          );
        if ((held?.count ?? 0) >= maxPerMember) return null;
      }
      const [row] = await tx.insert(exchangeAccounts).values(account).returning();
      if (!row) throw new Error('account insert returned nothing');
      return row;
    });
  }

  return {
    /** Every stored secret envelope with what it is bound to (the start checks the keyring reads them). */
    async storedSecrets(): Promise<{ accountId: string; ownerId: string; field: 'apiKey' | 'secret' | 'passphrase'; envelope: string }[]> {
      const rows = await db
        .select({
          id: exchangeAccounts.id,
          ownerId: exchangeAccounts.ownerId,
          apiKeyEnc: exchangeAccounts.apiKeyEnc,
          secretEnc: exchangeAccounts.secretEnc,
          passphraseEnc: exchangeAccounts.passphraseEnc,
        })
        .from(exchangeAccounts)
        .where(or(isNotNull(exchangeAccounts.apiKeyEnc), isNotNull(exchangeAccounts.secretEnc), isNotNull(exchangeAccounts.passphraseEnc)));
      return rows.flatMap((row) =>
        (
          [
            ['apiKey', row.apiKeyEnc],
            ['secret', row.secretEnc],
            ['passphrase', row.passphraseEnc],
          ] as const
        )
          .filter((entry): entry is readonly ['apiKey' | 'secret' | 'passphrase', string] => entry[1] !== null)
          .map(([field, envelope]) => ({ accountId: row.id, ownerId: row.ownerId, field, envelope })),
      );
    },

    /** Whether any exchange key is stored. */
    async holdsSecrets(): Promise<boolean> {
      const [first] = await db
        .select({ id: exchangeAccounts.id })
        .from(exchangeAccounts)
        .where(or(isNotNull(exchangeAccounts.apiKeyEnc), isNotNull(exchangeAccounts.secretEnc)))
        .limit(1);
      return first !== undefined;
    },

    async create(account: NewAccount): Promise<AccountRow> {
      const row = await insertAccount(account);
      if (!row) throw new Error('account insert returned nothing');
      return row;
    },

    /**
     * Inserts the account only while the member has fewer than `maxPerMember` in that server (null
     * otherwise). Counted and inserted under a per-member lock: adds submitted together cannot pass
     * the cap side by side.
     */
    createWithinCap(account: NewAccount, maxPerMember: number): Promise<AccountRow | null> {
      return insertAccount(account, maxPerMember);
    },

    listOwned(ownerId: string, guildId?: string): Promise<AccountRow[]> {
      return db
        .select()
        .from(exchangeAccounts)
        .where(
          guildId === undefined
            ? eq(exchangeAccounts.ownerId, ownerId)
            : and(eq(exchangeAccounts.ownerId, ownerId), eq(exchangeAccounts.guildId, guildId)),
        )
        .orderBy(asc(exchangeAccounts.createdAt), asc(exchangeAccounts.name));
    },

    async findOwned(scope: MemberScope, accountId: string): Promise<AccountRow | null> {
      if (!isUuid(accountId)) return null;
      const [row] = await db.select().from(exchangeAccounts).where(owned(scope, accountId));
      return row ?? null;
    },

    async findOwnedByName(ownerId: string, guildId: string, name: string): Promise<AccountRow | null> {
      const [row] = await db
        .select()
        .from(exchangeAccounts)
        .where(
          and(
            eq(exchangeAccounts.ownerId, ownerId),
            eq(exchangeAccounts.guildId, guildId),
            eq(exchangeAccounts.name, name),
          ),
        );
      return row ?? null;
    },

    async updateOwned(
      scope: MemberScope,
      accountId: string,
      patch: AccountSettingsPatch & Partial<Pick<AccountRow, 'enabled' | 'pausedUntil' | 'disabledReason'>>,
    ): Promise<AccountRow | null> {
      if (!isUuid(accountId)) return null;
      const [row] = await db
        .update(exchangeAccounts)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(owned(scope, accountId))
        .returning();
      return row ?? null;
    },

    /** Deletes the account and, with it, its ciphertexts. */
    async deleteOwned(scope: MemberScope, accountId: string): Promise<boolean> {
      if (!isUuid(accountId)) return false;
      const deleted = await db
        .delete(exchangeAccounts)
        .where(owned(scope, accountId))
        .returning({ id: exchangeAccounts.id });
      return deleted.length > 0;
    },

    async countOpenPositions(accountId: string): Promise<number> {
      const [row] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(positions)
        .where(and(eq(positions.accountId, accountId), eq(positions.status, 'open')));
      return row?.count ?? 0;
    },

    /** Internal (engine): enabled accounts of a guild, paused ones included (they skip with a reason). */
    listEnabledInGuild(guildId: string): Promise<AccountRow[]> {
      return db
        .select()
        .from(exchangeAccounts)
        .where(and(eq(exchangeAccounts.guildId, guildId), eq(exchangeAccounts.enabled, true)));
    },

    /** Internal (engine): accounts of a guild that take new entries right now. */
    listTradingInGuild(guildId: string, now: Date): Promise<AccountRow[]> {
      return db
        .select()
        .from(exchangeAccounts)
        .where(
          and(
            eq(exchangeAccounts.guildId, guildId),
            eq(exchangeAccounts.enabled, true),
            or(isNull(exchangeAccounts.pausedUntil), lte(exchangeAccounts.pausedUntil, now)),
          ),
        );
    },

    /** Internal (engine, feed): by id, unscoped. Never reachable from a member's input. */
    async byId(accountId: string): Promise<AccountRow | null> {
      if (!isUuid(accountId)) return null;
      const [row] = await db.select().from(exchangeAccounts).where(eq(exchangeAccounts.id, accountId));
      return row ?? null;
    },

    /** Internal (engine): enabled accounts whose balance is oldest (or never read), oldest first. */
    listStaleBalances(olderThan: Date, limit: number): Promise<AccountRow[]> {
      return db
        .select()
        .from(exchangeAccounts)
        .where(
          and(
            eq(exchangeAccounts.enabled, true),
            or(isNull(exchangeAccounts.balanceAt), lt(exchangeAccounts.balanceAt, olderThan)),
          ),
        )
        .orderBy(sql`${exchangeAccounts.balanceAt} asc nulls first`)
        .limit(limit);
    },

    /** Internal (engine): many accounts in one query. */
    async byIds(accountIds: string[]): Promise<AccountRow[]> {
      const ids = accountIds.filter(isUuid);
      if (ids.length === 0) return [];
      return db.select().from(exchangeAccounts).where(inArray(exchangeAccounts.id, ids));
    },

    async update(accountId: string, patch: Partial<NewAccount>): Promise<void> {
      await db
        .update(exchangeAccounts)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(exchangeAccounts.id, accountId));
    },

    async recordBalance(accountId: string, free: number, equity: number, at: Date): Promise<void> {
      await db
        .update(exchangeAccounts)
        .set({ lastBalanceUsd: free, lastEquityUsd: equity, balanceAt: at })
        .where(eq(exchangeAccounts.id, accountId));
    },

    /** Balances known unchanged (their stream reported nothing) are as of `at`: never moved back. */
    async confirmBalances(accountIds: string[], at: Date): Promise<void> {
      if (accountIds.length === 0) return;
      await db
        .update(exchangeAccounts)
        .set({ balanceAt: at })
        .where(and(inArray(exchangeAccounts.id, accountIds), lt(exchangeAccounts.balanceAt, at)));
    },

    /** Stops new entries (key revoked...); exits keep being managed. */
    async disable(accountId: string, reason: string): Promise<void> {
      await db
        .update(exchangeAccounts)
        .set({ enabled: false, disabledReason: reason, updatedAt: sql`now()` })
        .where(eq(exchangeAccounts.id, accountId));
    },

    /**
     * Live accounts whose key's trading permission ends before `before`, with reminders still to send;
     * not those whose key was refused or replaced (their owner was told already, or must verify first).
     */
    expiringKeys(before: Date, remindersSent: number): Promise<AccountRow[]> {
      return db
        .select()
        .from(exchangeAccounts)
        .where(
          and(
            eq(exchangeAccounts.mode, 'live'),
            lte(exchangeAccounts.tradingExpiresAt, before),
            lt(exchangeAccounts.expiryNotices, remindersSent),
            or(
              isNull(exchangeAccounts.disabledReason),
              notInArray(exchangeAccounts.disabledReason, ['key-revoked', 'key-refused', 'key-changed']),
            ),
          ),
        );
    },

    /**
     * Records a reminder and queues its direct message together, only if no one (another process) has
     * moved the count since it was read: each reminder goes once.
     */
    async recordExpiryReminder(
      accountId: string,
      expiresAt: Date,
      sent: number,
      stage: number,
      feed: NewOutboxRow[],
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        // The date too: a verify that brought a new date (and reset the count) since the read wins.
        const marked = await tx
          .update(exchangeAccounts)
          .set({ expiryNotices: stage })
          .where(
            and(
              eq(exchangeAccounts.id, accountId),
              eq(exchangeAccounts.expiryNotices, sent),
              eq(exchangeAccounts.tradingExpiresAt, expiresAt),
            ),
          )
          .returning({ id: exchangeAccounts.id });
        if (marked.length === 0) return false;
        await enqueueFeed(tx, feed);
        return true;
      });
    },

    listAll(): Promise<AccountRow[]> {
      return db.select().from(exchangeAccounts).orderBy(asc(exchangeAccounts.id));
    },
  };
}

export type AccountsRepository = ReturnType<typeof accountsRepository>;
