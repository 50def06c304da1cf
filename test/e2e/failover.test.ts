import postgres from 'postgres';
import { describe, expect, inject, it } from 'vitest';
import { startDiscordSim, type DiscordSim } from '../sim/discord';
import { startBotCluster } from '../support/botCluster';
import { addTradersGuild } from '../support/tradersGuild';

/**
 * Leadership across real bot processes on one PostgreSQL (issue #16): the Discord gateway and the
 * feed are held by one process. When it dies (SIGKILL) another takes over within 15 s; when its lock
 * connection is terminated it stops its gateway at once, so two sessions never answer together; and
 * every interaction is answered exactly once throughout.
 */
const adminUrl = inject('postgresTemplateUrl');

/** Samples the gateway sessions the simulator has open; the most ever seen at once. */
function watchSessions(discord: DiscordSim) {
  let most = 0;
  const timer = setInterval(() => (most = Math.max(most, discord.connectedSessions)), 20);
  return {
    get most() {
      return most;
    },
    stop: () => clearInterval(timer),
  };
}

describe.skipIf(!adminUrl)('failover of the Discord connection (PostgreSQL, real processes)', () => {
  it('a killed leader is replaced within 15 s, a leader whose lock connection dies steps down at once, every interaction answered once', { timeout: 240_000 }, async () => {
    const discord = await startDiscordSim({ heartbeatIntervalMs: 1_000, specPath: null, privilegedIntents: { messageContent: true } });
    const guild = addTradersGuild(discord);
    const cluster = await startBotCluster({ adminUrl: adminUrl!, name: 'failover', discord, count: 2 });
    const { fleet, database } = cluster;
    const sessions = watchSessions(discord);
    const answeredOnce = async (what: string) => {
      const help = discord.slash({ userId: guild.members['alice']!, guildId: guild.id, name: 'help' });
      await help.acknowledged(20_000);
      // A second process answering would show as a second callback (Discord refuses it: 40060).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(help.events.filter((event) => event.kind === 'callback'), what).toHaveLength(1);
    };
    try {
      await fleet.startAll();
      const leader = fleet.started.findIndex((info) => info?.leading === true);
      expect(fleet.started.filter((info) => info?.leading)).toHaveLength(1);
      await discord.waitFor(() => (discord.connectedSessions === 1 ? true : undefined), 20_000, 'one gateway session');
      await answeredOnce('before any failure');

      // The leader dies without a word: the other process holds the gateway within 15 s.
      const identifies = discord.stats.identifies;
      const killedAt = Date.now();
      await fleet.kill(leader);
      await discord.waitFor(() => (discord.stats.identifies > identifies && discord.connectedSessions === 1 ? true : undefined), 15_000, 'the takeover');
      const takeoverMs = Date.now() - killedAt;
      expect(takeoverMs).toBeLessThanOrEqual(15_000);
      await answeredOnce('after the takeover');

      // The dead one comes back as a follower; then the new leader's lock connection is terminated
      // (a database failover, an admin's pg_terminate_backend): it stops its gateway at once, and one
      // process (either) leads again.
      await fleet.start(leader);
      expect(fleet.started[leader]?.leading).toBe(false);
      const admin = postgres(database.url!, { max: 1, onnotice: () => {} });
      try {
        const terminated = await admin<{ pid: number }[]>`select pg_terminate_backend(pid) as done, pid from pg_stat_activity where application_name like 'bot-shard-%' and datname = current_database()`;
        expect(terminated).toHaveLength(1);
      } finally {
        await admin.end();
      }
      await discord.waitFor(() => (discord.connectedSessions === 1 && discord.stats.identifies > identifies + 1 ? true : undefined), 20_000, 'leadership again');
      await answeredOnce('after the lock connection was terminated');
      expect(sessions.most, 'two gateway sessions at once').toBe(1);
      expect(discord.violations).toEqual([]);
      console.log(`[failover] takeover after SIGKILL: ${takeoverMs} ms`);
    } finally {
      sessions.stop();
      await cluster.close();
      await discord.close();
    }
  });
});
