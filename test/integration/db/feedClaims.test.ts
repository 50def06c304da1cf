import { describe, expect, it } from 'vitest';
import { guildsRepository } from '../../../src/db/repositories/guilds';
import { outboxRepository, type NewOutboxRow } from '../../../src/db/repositories/outbox';
import { readModels } from '../../../src/db/repositories/readModels';
import { createFeedPoster, type FeedRest } from '../../../src/discord/feedPoster';
import { createLogger } from '../../../src/logger';
import { createFeedService } from '../../../src/services/feed';
import { systemClock } from '../../../src/clock';
import { databaseKinds, freshDatabase } from '../../support/db';

/**
 * Every process posts the feed; each server's channel (and each member's DMs) by one process at a
 * time, claimed pass by pass (issue #16): no row is posted twice or by two processes at once, a
 * channel reads in order, and a scope whose holder died goes to another once its claim lapses.
 */
const log = createLogger({ level: 'silent' });
const GUILDS = ['100000000000000001', '100000000000000002', '100000000000000003'];

function summaryRow(guildId: string, i: number): NewOutboxRow {
  const signalId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return {
    guildId,
    kind: 'summary',
    signalId,
    accountId: null,
    payload: { type: 'summary', signalId, symbol: `S${i}/USDT`, side: 'long', source: 'command', total: 1, filled: 1, placed: 1, pending: 0, skipped: [], failed: [], sharedNotional: 0, final: true },
  };
}

describe.each(databaseKinds)('feed claims (%s)', (kind) => {
  it('a scope is held by one holder until its claim lapses (on the database clock) or is released', { timeout: 60_000 }, async () => {
    const db = await freshDatabase(kind);
    try {
      const outbox = outboxRepository(db.db);
      expect([...(await outbox.claim(['g:1', 'g:2'], 'A', 400))].sort()).toEqual(['g:1', 'g:2']);
      expect([...(await outbox.claim(['g:1', 'g:3'], 'B', 400))]).toEqual(['g:3']);
      // Renewed by its holder; taken once it lapsed.
      expect([...(await outbox.claim(['g:1'], 'A', 5_000))]).toEqual(['g:1']);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect([...(await outbox.claim(['g:2'], 'B', 5_000))]).toEqual(['g:2']);
      expect([...(await outbox.claim(['g:1'], 'B', 5_000))]).toEqual([]);
      await outbox.releaseClaims('A');
      expect([...(await outbox.claim(['g:1'], 'B', 5_000))]).toEqual(['g:1']);
    } finally {
      await db.close();
    }
  });

  it('a pass that outlasts its claim stops once another poster holds the scope: every row once, in order', { timeout: 60_000 }, async () => {
    const db = await freshDatabase(kind);
    try {
      const guilds = guildsRepository(db.db);
      await guilds.update(GUILDS[0]!, { feedChannelId: '200000000000000000' });
      const outbox = outboxRepository(db.db);
      for (let i = 0; i < 6; i++) await outbox.enqueue([summaryRow(GUILDS[0]!, i)]);
      const feed = createFeedService({ outbox, guilds, reads: readModels(db.db) });
      // One bot: Discord answers a nonce it saw with the message it made (enforce_nonce).
      const byNonce = new Map<string, { id: string; symbol: string }>();
      const shown: string[] = [];
      let hold: Promise<void> | null = null;
      const rest = {
        post: async (_route: string, options: { body: { nonce: string; embeds?: { title?: string }[] } }) => {
          if (hold) await hold;
          const known = byNonce.get(options.body.nonce);
          if (known) return { id: known.id };
          const symbol = /S\d+\/USDT/.exec(options.body.embeds?.[0]?.title ?? '')?.[0] ?? '?';
          const made = { id: `m${byNonce.size + 1}`, symbol };
          byNonce.set(options.body.nonce, made);
          shown.push(symbol);
          return { id: made.id };
        },
        patch: async () => ({}),
      } as unknown as FeedRest;
      const poster = (name: string) => createFeedPoster({ rest, feed, log, clock: systemClock, isLeader: async () => true, holder: name, claimTtlMs: 300, maxBackoffMs: 0 });
      // A's pass stalls on its first send (rate-limited) past its claim's 300 ms.
      let release!: () => void;
      hold = new Promise<void>((resolve) => (release = resolve));
      const a = poster('A').flush();
      await new Promise((resolve) => setTimeout(resolve, 700));
      hold = null;
      await poster('B').flush();
      release();
      await a;
      expect(shown).toEqual(['S0/USDT', 'S1/USDT', 'S2/USDT', 'S3/USDT', 'S4/USDT', 'S5/USDT']);
      expect(await outbox.backlog()).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('two posters on one database post every row once, each server by one poster, in order', { timeout: 60_000 }, async () => {
    const db = await freshDatabase(kind);
    try {
      const guilds = guildsRepository(db.db);
      for (const [i, guildId] of GUILDS.entries()) await guilds.update(guildId, { feedChannelId: `20000000000000000${i}` });
      const outbox = outboxRepository(db.db);
      let n = 0;
      for (let round = 0; round < 4; round++) await outbox.enqueue(GUILDS.map((guildId) => summaryRow(guildId, n++)));
      const feed = createFeedService({ outbox, guilds, reads: readModels(db.db) });
      const sent: { poster: string; channel: string; symbol: string }[] = [];
      const restOf = (poster: string): FeedRest =>
        ({
          post: async (route: string, options: { body: { embeds?: { title?: string }[] } }) => {
            const channel = route.split('/')[2]!;
            for (const embed of options.body.embeds ?? []) {
              const symbol = /S\d+\/USDT/.exec(embed.title ?? '')?.[0];
              if (symbol) sent.push({ poster, channel, symbol });
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
            return { id: `${poster}-${sent.length}`, channel_id: channel };
          },
          patch: async () => ({}),
        }) as unknown as FeedRest;
      const poster = (name: string) =>
        createFeedPoster({ rest: restOf(name), feed, log, clock: systemClock, isLeader: async () => true, holder: name, maxScopes: 2, maxBackoffMs: 0 });
      const a = poster('A');
      const b = poster('B');
      await Promise.all([a.flush(), b.flush()]);
      await Promise.all([a.flush(), b.flush()]);
      // Every summary once.
      expect(sent.map((s) => s.symbol).sort()).toEqual(Array.from({ length: n }, (_, i) => `S${i}/USDT`).sort());
      // Each channel by one poster, in the order the rows were written.
      for (const channel of new Set(sent.map((s) => s.channel))) {
        const of = sent.filter((s) => s.channel === channel);
        expect(new Set(of.map((s) => s.poster)).size).toBe(1);
        const order = of.map((s) => Number(s.symbol.slice(1, -5)));
        expect(order).toEqual([...order].sort((x, y) => x - y));
      }
      expect(await outbox.backlog()).toBe(0);

      // A scope another poster holds is left to it: C holds the first server; B posts the others only
      // (A and B stopped: their claims released).
      await a.stop();
      await b.stop();
      await outbox.enqueue(GUILDS.map((guildId) => summaryRow(guildId, n++)));
      await outbox.claim([`g:${GUILDS[0]}`], 'C', 60_000);
      sent.length = 0;
      await b.flush();
      expect(sent.map((s) => s.channel).sort()).toEqual(['200000000000000001', '200000000000000002']);
      expect(await outbox.backlog()).toBe(1);
    } finally {
      await db.close();
    }
  });
});
