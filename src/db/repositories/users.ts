import { eq, inArray } from 'drizzle-orm';
import type { Database } from '../client';
import { users } from '../schema';

export type UserRow = typeof users.$inferSelect;

export function usersRepository(db: Database) {
  return {
    async ensure(discordId: string): Promise<UserRow> {
      await db.insert(users).values({ discordId }).onConflictDoNothing();
      const [row] = await db.select().from(users).where(eq(users.discordId, discordId));
      if (!row) throw new Error('user row missing after insert');
      return row;
    },

    /** The member-wide cap on exposure per symbol across all their accounts; null turns it off. */
    async setExposureCap(discordId: string, capUsd: number | null): Promise<void> {
      await db
        .insert(users)
        .values({ discordId, exposureCapUsd: capUsd })
        .onConflictDoUpdate({ target: users.discordId, set: { exposureCapUsd: capUsd } });
    },

    async getMany(discordIds: string[]): Promise<UserRow[]> {
      if (discordIds.length === 0) return [];
      return db.select().from(users).where(inArray(users.discordId, discordIds));
    },

    async get(discordId: string): Promise<UserRow | null> {
      const [row] = await db.select().from(users).where(eq(users.discordId, discordId));
      return row ?? null;
    },
  };
}

export type UsersRepository = ReturnType<typeof usersRepository>;
