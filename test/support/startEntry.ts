/**
 * `npm start`'s path for the start-up tests: the configuration from the environment, then the real
 * startBot through the same startOrExit as src/main.ts, with only Discord's REST address wired in
 * code (to the simulator, or to a closed port for "unreachable").
 *   node --import tsx test/support/startEntry.ts <discordRestApi>
 */
import { startBot } from '../../src/app';
import { ConfigError, parseConfig } from '../../src/config';
import { startOrExit } from '../../src/startupProblem';

let config;
try {
  config = parseConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const restApi = process.argv[2];
const bot = await startOrExit(() => startBot(config, restApi ? { discordRestApi: restApi } : {}), config);
process.stdout.write('started\n');
await bot.stop();
process.exit(0);
