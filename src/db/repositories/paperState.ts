import { eq, sql } from 'drizzle-orm';
import type { PaperState, PaperStore } from '../../exchange/factory';
import type { Database } from '../client';
import { paperState } from '../schema';
import { isUuid } from './ids';

/**
 * Paper wallets over `paper_state` (one jsonb row per paper account), so balances, positions, orders
 * and trades survive restarts. Implements the PaperStore port of src/exchange/paper (type only: the
 * database layer knows nothing else of exchanges).
 */
export function paperStateRepository(db: Database): PaperStore & { remove(accountId: string): Promise<void> } {
  return {
    async load(accountId: string): Promise<PaperState | null> {
      if (!isUuid(accountId)) return null;
      const [row] = await db.select({ state: paperState.state }).from(paperState).where(eq(paperState.accountId, accountId));
      return row ? row.state : null;
    },

    async save(accountId: string, state: PaperState): Promise<void> {
      await db
        .insert(paperState)
        .values({ accountId, state })
        .onConflictDoUpdate({ target: paperState.accountId, set: { state, updatedAt: sql`now()` } });
    },

    async remove(accountId: string): Promise<void> {
      if (!isUuid(accountId)) return;
      await db.delete(paperState).where(eq(paperState.accountId, accountId));
    },
  };
}

export type PaperStateRepository = ReturnType<typeof paperStateRepository>;
