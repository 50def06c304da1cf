import { BotFleet } from '../../bench/chaos/fleet';
import { openBenchDatabase } from '../../bench/support/database';
import { generateKeyEntry } from '../../src/vault';
import { spawnBinanceSim } from '../sim/binance/client';
import type { DiscordSim } from '../sim/discord';

/**
 * Real bot processes (startBot, as `npm start`) on a new PostgreSQL database, against the Discord
 * simulator the caller made and a Binance simulator in a child process: the failover and sharding
 * tests' cluster. `close()` stops the processes and the Binance simulator and drops the database.
 */
export async function startBotCluster(options: { adminUrl: string; name: string; discord: DiscordSim; count: number }) {
  const sim = await spawnBinanceSim({});
  const database = await openBenchDatabase({ kind: 'postgres', adminUrl: options.adminUrl }, options.name);
  const fleet = new BotFleet({
    count: options.count,
    database: database.handle,
    databaseUrl: database.url,
    env: { DISCORD_TOKEN: options.discord.token, VAULT_KEYS: generateKeyEntry(1), HEALTH_PORT: '0', LOG_LEVEL: 'error', CYCLE_INTERVAL_SECONDS: '2' },
    simUrl: sim.url,
    discordRestApi: options.discord.restApiUrl,
    clock: { epoch: Date.now(), realStart: Date.now(), factor: 1 },
    log: () => {},
  });
  return {
    fleet,
    database,
    async close() {
      await fleet.stopAll();
      await sim.close();
      await database.close();
    },
  };
}
