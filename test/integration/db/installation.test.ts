import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/client';
import { outboxRepository } from '../../../src/db/repositories/outbox';
import { nonceOf } from '../../../src/discord/feedPoster';

/**
 * Discord holds a message nonce per author across channels for a few minutes: a bot reinstalled on a
 * new database (outbox ids from 1 again) or two deployments of one bot must not make the same nonces,
 * or Discord answers a new feed message with an old one and the new one is never posted.
 */
describe('the installation id', () => {
  it('each new database makes its own at migration, stable, and the feed nonces carry it within 25 characters', { timeout: 60_000 }, async () => {
    const first = await openDatabase({ pglite: await PGlite.create() });
    const second = await openDatabase({ pglite: await PGlite.create() });
    try {
      await first.migrate();
      await second.migrate();
      const a = await outboxRepository(first.db).installId();
      const b = await outboxRepository(second.db).installId();
      expect(a).toMatch(/^[0-9a-f]{6}$/);
      await first.migrate();
      expect(await outboxRepository(first.db).installId()).toBe(a);
      expect(a).not.toBe(b);
      expect(nonceOf(a, [1])).not.toBe(nonceOf(b, [1]));
      expect(nonceOf(a, [999_999_999_999_999], '.9').length).toBeLessThanOrEqual(25);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
