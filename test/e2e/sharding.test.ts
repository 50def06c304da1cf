import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { guildsRepository } from '../../src/db/repositories/guilds';
import { outboxRepository } from '../../src/db/repositories/outbox';
import { shardOf } from '../sim/discord/gateway';
import { startDiscordSim, type DiscordSim, type GuildHandle } from '../sim/discord';
import { startBotCluster } from '../support/botCluster';
import { addTradersGuild } from '../support/tradersGuild';

/**
 * Gateway shards across real bot processes on one PostgreSQL (issue #16). Discord recommends two
 * shards (GET /gateway/bot) and DISCORD_SHARDS is left at 'auto': the processes share the shards, one
 * session per shard, each server's interactions reach the one process whose shard serves it and are
 * answered once; when a process dies, the others take its shards within 15 s, and the feed it was
 * posting goes on from the other process with no message lost or posted twice.
 */
const adminUrl = inject('postgresTemplateUrl');

/** A server on each shard of 2 (a server's shard comes from its id's timestamp). */
async function guildPerShard(discord: DiscordSim): Promise<GuildHandle[]> {
  const found = new Map<number, GuildHandle>();
  while (found.size < 2) {
    const guild = addTradersGuild(discord);
    const shard = shardOf(guild.id, 2);
    if (!found.has(shard)) found.set(shard, guild);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return [found.get(0)!, found.get(1)!];
}

/** The most sessions any one shard had at once. */
function watchShards(discord: DiscordSim) {
  let most = 0;
  const timer = setInterval(() => {
    const shards = discord.connectedShards;
    for (const shard of new Set(shards)) most = Math.max(most, shards.filter((s) => s === shard).length);
  }, 20);
  return {
    get most() {
      return most;
    },
    stop: () => clearInterval(timer),
  };
}

describe.skipIf(!adminUrl)('gateway shards (PostgreSQL, real processes)', () => {
  it('two processes share the recommended shards, each server answered once, and a dead process\'s shards are taken over within 15 s', { timeout: 240_000 }, async () => {
    const discord = await startDiscordSim({ heartbeatIntervalMs: 1_000, specPath: null, privilegedIntents: { messageContent: true }, recommendedShards: 2 });
    const guilds = await guildPerShard(discord);
    const cluster = await startBotCluster({ adminUrl: adminUrl!, name: 'sharding', discord, count: 2 });
    const { fleet, database } = cluster;
    const shards = watchShards(discord);
    const answeredOnce = async (what: string) => {
      for (const guild of guilds) {
        const help = discord.slash({ userId: guild.members['alice']!, guildId: guild.id, name: 'help' });
        await help.acknowledged(20_000);
        // Two sessions of one shard would show as a second callback (Discord refuses it: 40060).
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(help.events.filter((event) => event.kind === 'callback'), `${what}, shard ${shardOf(guild.id, 2)}`).toHaveLength(1);
      }
    };
    const bothShards = (label: string, extra: () => boolean = () => true) =>
      discord.waitFor(() => (discord.connectedShards.join(',') === '0/2,1/2' && extra() ? true : undefined), 15_000, label);
    try {
      await fleet.start(0);
      // One process alone runs every shard ('auto': two, as Discord recommends).
      await bothShards('one process holding both shards');
      await answeredOnce('one process');
      await fleet.start(1);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(discord.connectedShards).toEqual(['0/2', '1/2']);
      await answeredOnce('two processes');

      // The feed has 12 summaries to post (Discord lets 5 a channel through every 5 s): the process
      // posting them dies part-way.
      const feedGuild = guilds[0]!;
      const feedChannel = feedGuild.channels['feed']!;
      await guildsRepository(database.handle.db).update(feedGuild.id, { feedChannelId: feedChannel });
      const signalIds = Array.from({ length: 12 }, () => randomUUID());
      await outboxRepository(database.handle.db).enqueue(
        signalIds.map((signalId, i) => ({
          guildId: feedGuild.id,
          kind: 'summary' as const,
          signalId,
          accountId: null,
          payload: { type: 'summary', signalId, symbol: `S${i}/USDT`, side: 'long', source: 'command', total: 1, filled: 1, placed: 1, pending: 0, skipped: [], failed: [], sharedNotional: 0, final: true },
        })),
      );
      await discord.waitFor(() => (discord.channelMessages(feedChannel).length >= 3 ? true : undefined), 20_000, 'the feed under way');

      // The process holding the shards and the feed dies: the other one takes both shards within 15 s.
      const identifies = discord.stats.identifies;
      const killedAt = Date.now();
      await fleet.kill(0);
      const postedBeforeKill = discord.channelMessages(feedChannel).length;
      expect(postedBeforeKill).toBeLessThan(signalIds.length);
      await bothShards('the takeover of both shards', () => discord.stats.identifies >= identifies + 2);
      const takeoverMs = Date.now() - killedAt;
      expect(takeoverMs).toBeLessThanOrEqual(15_000);
      await answeredOnce('after the takeover');
      // Every summary once: what the dead process had sent is not sent again (nonces), the rest is.
      await discord.waitFor(() => (discord.channelMessages(feedChannel).length >= signalIds.length ? true : undefined), 60_000, 'the whole feed');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const posted = discord.channelMessages(feedChannel).map((message) => JSON.stringify(message.embeds));
      for (const [i] of signalIds.entries()) expect(posted.filter((text) => text.includes(`S${i}/USDT`)), `summary ${i}`).toHaveLength(1);
      expect(posted).toHaveLength(signalIds.length);
      expect(await outboxRepository(database.handle.db).backlog()).toBe(0);
      expect(shards.most, 'two sessions of one shard at once').toBe(1);
      expect(discord.violations).toEqual([]);
      console.log(`[sharding] both shards taken over after SIGKILL in ${takeoverMs} ms; the feed had posted ${postedBeforeKill} of ${signalIds.length}`);
    } finally {
      shards.stop();
      await cluster.close();
      await discord.close();
    }
  });
});
