import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { outboxRepository } from '../../../src/db/repositories/outbox';
import { feedOutbox } from '../../../src/db/schema';
import type { FeedEvent } from '../../../src/domain/feedEvents';
import { databaseKinds, freshDatabase } from '../../support/db';

/** The feed's health reads how long the longest-due row has been due, not how old it is. */
describe.each(databaseKinds)('feed backlog age (%s)', (kind) => {
  it('counts a due row from its next attempt time; rows waiting out a retry are pending but not due', { timeout: 60_000 }, async () => {
    const db = await freshDatabase(kind);
    try {
      const outbox = outboxRepository(db.db);
      expect(await outbox.backlogAge()).toEqual({ pending: 0, oldestDueMs: null });
      const row = { guildId: '100000000000000001', kind: 'event' as const, signalId: null, accountId: null, recipientId: null, payload: {} as FeedEvent };
      await outbox.enqueue([row, row]);
      const [first, second] = await db.db.select({ id: feedOutbox.id }).from(feedOutbox).orderBy(feedOutbox.id);
      // Written an hour ago and retried since: due again 30 s ago. The other waits out its retry.
      await db.db.execute(sql`update feed_outbox set created_at = now() - interval '1 hour', next_attempt_at = now() - interval '30 seconds' where id = ${first!.id}`);
      await db.db.execute(sql`update feed_outbox set next_attempt_at = now() + interval '5 minutes' where id = ${second!.id}`);
      const age = await outbox.backlogAge();
      expect(age.pending).toBe(2);
      expect(age.oldestDueMs).toBeGreaterThanOrEqual(30_000);
      expect(age.oldestDueMs).toBeLessThan(60_000);
    } finally {
      await db.close();
    }
  });
});
