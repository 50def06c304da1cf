import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { accountsRepository } from '../../src/db/repositories/accounts';
import { outboxRepository, type NewOutboxRow } from '../../src/db/repositories/outbox';
import { createFeedPoster } from '../../src/discord/feedPoster';
import { botWorld, embedText, type BotWorld } from '../support/bot';
import { databaseKinds } from '../support/db';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Paper accounts straight into the database (the engine trades them like any other). */
async function paperAccounts(w: BotWorld, count: number, members: number): Promise<void> {
  const repo = accountsRepository(w.db.db);
  for (let i = 0; i < count; i++) {
    await repo.create({
      id: randomUUID(),
      ownerId: `3000000000000${String(i % members).padStart(5, '0')}`,
      guildId: w.guild.id,
      name: `paper-${String(i).padStart(4, '0')}`,
      exchangeId: 'binance',
      marketType: 'futures',
      mode: 'paper',
      enabled: true,
      verified: true,
      shareAmounts: i % 3 === 0,
      // A few skip with a reason, so the summary names them.
      ...(i % 10 === 9 ? { symbolBlock: ['BTC'] } : {}),
    });
  }
}

describe.each(databaseKinds)('channel trade feed (%s)', (kind) => {
  it('1,000 orders for one signal reach the feed, compacted, in a few messages, with zero 429 answers', async () => {
    // The test clock runs 20x: a slow machine must not make balances or the signal look stale.
    world = await botWorld({ kind, logLevel: 'info', engine: { concurrency: 64, balanceMaxAgeMs: 7 * 86_400_000, maxSignalLagMs: 7 * 86_400_000 } });
    const w = world;
    await w.slash(w.people.admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
    await w.slash(w.people.admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
    await paperAccounts(w, 1000, 250);

    const posted = w.slash(w.people.caller, 'signal', 'post', { symbol: 'BTC/USDT', side: 'long', stop: 48_000, take_profits: '52000, 54000', leverage: 5 });
    expect(w.text(await posted.reply())).toContain('Executing on **1000** accounts of **250** members');
    const started = Date.now();
    await w.runCycle();
    const cycleMs = Date.now() - started;
    const flushStarted = Date.now();
    const rows = await w.flushFeed();
    const flushMs = Date.now() - flushStarted;
    expect(rows).toBe(1001);
    expect(await outboxRepository(w.db.db).backlog()).toBe(0);

    const messages = w.discord.channelMessages(w.channels.feed);
    const text = messages.map((m) => embedText(m.embeds)).join('\n');
    // Every account is named once in the compacted lines, and the summary counts them all.
    for (const i of [0, 1, 499, 998, 999]) expect(text).toContain(`paper-${String(i).padStart(4, '0')}`);
    const headings = messages.flatMap((m) => m.embeds.map((e) => e.title ?? '')).join('\n');
    expect(text, headings).toContain('filled 900 of 1000');
    expect(text).toContain('symbol blocked in account settings: 100');
    expect(messages.length).toBeLessThanOrEqual(20);
    for (const message of messages) {
      expect(message.embeds.length).toBeLessThanOrEqual(10);
      expect(message.mentions).toEqual([]);
    }
    expect(w.discord.stats.rateLimited).toBe(0);
    expect(w.discord.violations).toEqual([]);
    console.log(`[feed] 1000 accounts: cycle ${cycleMs} ms, ${messages.length} messages posted in ${flushMs} ms`);
  }, 240_000);

  it('posts each outbox row once across a crash between sending and recording (enforce_nonce)', async () => {
    world = await botWorld({ kind });
    const w = world;
    await w.slash(w.people.admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
    await w.slash(w.people.admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
    await paperAccounts(w, 3, 3);

    // A poster that "crashes" after Discord accepted the message, before recording it.
    let crashes = 1;
    const crashing = createFeedPoster({
      rest: w.bot.client.rest,
      feed: {
        ...w.services.feed,
        markPosted: async (...args: Parameters<typeof w.services.feed.markPosted>) => {
          if (crashes-- > 0) throw new Error('process died');
          return w.services.feed.markPosted(...args);
        },
      },
      log: w.log,
      clock: w.clock,
      isLeader: async () => true,
      maxBackoffMs: 0,
    });
    await w.slash(w.people.caller, 'signal', 'post', { symbol: 'ETH', side: 'short', stop: 3_300, take_profits: '2800' }).reply();
    await w.runCycle();
    expect(await crashing.flush()).toBe(0);
    const afterCrash = w.discord.channelMessages(w.channels.feed).length;
    expect(afterCrash).toBe(1);
    expect(await outboxRepository(w.db.db).backlog()).toBe(4);

    // The restarted poster sends the same rows with the same nonce: Discord returns the message.
    w.clock.advance(60_000);
    expect(await w.flushFeed()).toBe(4);
    const messages = w.discord.channelMessages(w.channels.feed);
    const text = messages.map((m) => embedText(m.embeds)).join('\n');
    for (const name of ['paper-0000', 'paper-0001', 'paper-0002']) expect(text.split(name)).toHaveLength(2);
    expect(text.split('filled 3 of 3')).toHaveLength(2);
    expect(messages).toHaveLength(2);
    expect(await outboxRepository(w.db.db).backlog()).toBe(0);
    expect(w.discord.violations).toEqual([]);
  });

  it('a summary posted after the timeout is edited when the final one arrives; no feed channel drops rows', async () => {
    world = await botWorld({ kind });
    const w = world;
    const outbox = outboxRepository(w.db.db);
    const signalId = randomUUID();
    const summary = (final: boolean, filled: number, pending: number): NewOutboxRow => ({
      guildId: w.guild.id,
      kind: 'summary' as const,
      signalId,
      accountId: null,
      payload: {
        type: 'summary',
        signalId,
        symbol: 'SOL/USDT',
        side: 'long',
        source: 'command',
        total: 3,
        filled,
        placed: filled,
        pending,
        skipped: [],
        failed: pending === 0 ? [{ accountName: 'late', ownerId: w.people.alice, reason: 'key-revoked' }] : [],
        sharedNotional: 0,
        final,
      },
    });
    // No feed channel yet: kept for the record, not posted.
    await outbox.enqueue([summary(false, 1, 2)]);
    expect(await w.flushFeed()).toBe(0);
    expect(await outbox.backlog()).toBe(0);

    await w.slash(w.people.admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
    await outbox.enqueue([summary(false, 1, 2)]);
    expect(await w.flushFeed()).toBe(1);
    const [first] = w.discord.channelMessages(w.channels.feed);
    expect(embedText(first!.embeds)).toContain('2 still pending');
    await outbox.enqueue([summary(true, 2, 0)]);
    expect(await w.flushFeed()).toBe(1);
    const after = w.discord.channelMessages(w.channels.feed);
    expect(after).toHaveLength(1);
    expect(after[0]!.id).toBe(first!.id);
    const text = embedText(after[0]!.embeds);
    expect(text).toContain('filled 2 of 3');
    expect(text).toContain('key revoked');
    expect(text).toContain('Final summary');
    expect(w.discord.callsTo('/channels/{channel_id}/messages/{message_id}', 'PATCH')).toHaveLength(1);
    expect(w.discord.violations).toEqual([]);
  });

  it('direct messages an owner whose account was disabled; a member with closed DMs is skipped, not retried', async () => {
    world = await botWorld({ kind });
    const w = world;
    const outbox = outboxRepository(w.db.db);
    const notice = (recipientId: string): NewOutboxRow => ({
      guildId: w.guild.id,
      kind: 'dm' as const,
      signalId: null,
      accountId: null,
      recipientId,
      payload: { type: 'notice', kind: 'account-disabled', accountName: 'main', reason: 'key-revoked', detail: null },
    });
    const closed = w.discord.addMember(w.guild.id, { username: 'dave', dmsOpen: false });
    await outbox.enqueue([notice(w.people.alice), notice(closed.id)]);
    expect(await w.flushFeed()).toBe(1);
    const [dm] = w.discord.dmMessages(w.people.alice);
    expect(embedText(dm?.embeds)).toContain('key revoked');
    expect(await outbox.backlog()).toBe(0);
    expect(w.discord.violations).toEqual([]);
  });
});
