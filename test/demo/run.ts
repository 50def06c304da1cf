/**
 * npm run demo — try the bot without a Discord token or an exchange account. Starts the REAL bot
 * (startBot, the code path of `npm start`) against the local Discord and Binance simulators, wired
 * in code (never through the environment), with an embedded database in a temporary folder; plays a
 * scripted session (a signal's whole life, test/e2e/demoSession.ts) and prints what each person sees;
 * saves the /pnl chart to trading-bot-demo-pnl.png in the system's temporary folder; exits 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startBot } from '../../src/app';
import { parseConfig } from '../../src/config';
import { loadCommands } from '../../src/discord/loader';
import { registerCommands } from '../../src/discord/register';
import { startBinanceSim } from '../sim/binance';
import { startDiscordSim } from '../sim/discord';
import { playDemoSession } from '../e2e/demoSession';
import { addTradersGuild } from '../support/tradersGuild';

const dataDir = mkdtempSync(join(tmpdir(), 'bot-demo-'));
const discord = await startDiscordSim({ privilegedIntents: { messageContent: true } });
const binance = await startBinanceSim();
binance.setPrices({ BTCUSDT: 50_000, ETHUSDT: 3_000 }, 'both');
const guild = addTradersGuild(discord);

// `npm run register` does this against Discord; here, against the simulator.
await registerCommands((await loadCommands()).values(), {
  token: discord.token,
  applicationId: discord.applicationId,
  guildId: guild.id,
  restApi: discord.restApiUrl,
});

const config = parseConfig({ DISCORD_TOKEN: discord.token, DATA_DIR: dataDir, HEALTH_PORT: '0', LOG_LEVEL: 'warn' });
const bot = await startBot(config, {
  discordRestApi: discord.restApiUrl,
  exchangeFetch: binance.fetchImplementation,
  logDestination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});
let exitCode = 0;
try {
  await playDemoSession({
    discord,
    binance,
    guild,
    print: (line) => console.log(line),
    settle: async () => {
      // The bot acts by itself (a signal wakes the engine, the position sync follows prices each
      // second); a cycle now rather than at the next 10 s tick (copy trading polls its masters in
      // the cycle), then the feed.
      bot.scheduler.trigger();
      await bot.scheduler.idle();
      await bot.discord.feedPoster.flush();
    },
    chartFile: join(tmpdir(), 'trading-bot-demo-pnl.png'),
    timeoutMs: 30_000,
  });
  if (discord.violations.length > 0) {
    console.error('The Discord simulator recorded API violations:', discord.violations);
    exitCode = 1;
  }
} catch (error) {
  console.error('demo failed:', error);
  exitCode = 1;
} finally {
  await bot.stop();
  await discord.close();
  await binance.close();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
