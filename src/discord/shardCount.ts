import { REST, Routes, type RESTGetAPIGatewayBotResult } from 'discord.js';
import { networkCode, StartupProblem } from '../startupProblem';

/**
 * How many gateway shards the bot runs: the configured number, or with 'auto' the count Discord
 * recommends for the bot's servers (GET /gateway/bot; about one per 1,000 servers, required from
 * 2,500). Every process must use the same count (src/db/leaderLock.ts refuses a shard while another
 * count runs), and Discord's recommendation is the same for all of them.
 */
export async function resolveShardCount(setting: 'auto' | number, token: string, restApi?: string): Promise<number> {
  if (setting !== 'auto') return setting;
  const rest = new REST({ retries: 2, timeout: 15_000, ...(restApi ? { api: restApi } : {}) }).setToken(token);
  try {
    const info = (await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult;
    return Math.max(1, Math.floor(info.shards));
  } catch (error) {
    const code = networkCode(error);
    if (code || (error instanceof Error && error.name === 'AbortError'))
      throw new StartupProblem(`cannot reach Discord (${code ?? 'timed out'}) to ask how many shards to run: check this machine's network, or set DISCORD_SHARDS to a number`, { cause: error });
    throw error;
  }
}
