import { eq, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { guildSettings } from '../schema';

export type GuildSettingsRow = typeof guildSettings.$inferSelect;
export type GuildSettingsPatch = Partial<Omit<typeof guildSettings.$inferInsert, 'guildId' | 'updatedAt'>>;

export function guildsRepository(db: Database) {
  return {
    async get(guildId: string): Promise<GuildSettingsRow | null> {
      const [row] = await db.select().from(guildSettings).where(eq(guildSettings.guildId, guildId));
      return row ?? null;
    },

    async update(guildId: string, patch: GuildSettingsPatch): Promise<GuildSettingsRow> {
      const [row] = await db
        .insert(guildSettings)
        .values({ guildId, ...patch })
        .onConflictDoUpdate({ target: guildSettings.guildId, set: { ...patch, updatedAt: sql`now()` } })
        .returning();
      if (!row) throw new Error('guild settings upsert returned nothing');
      return row;
    },

    listWithStrategy(): Promise<GuildSettingsRow[]> {
      return db.select().from(guildSettings).where(eq(guildSettings.strategyEnabled, true));
    },
  };
}

export type GuildsRepository = ReturnType<typeof guildsRepository>;
