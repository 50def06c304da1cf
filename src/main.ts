/**
 * Entry point of `npm start`. Configuration is checked before anything heavy is loaded, so a
 * missing token fails in well under a second with one message naming every problem.
 */
import { ConfigError, loadConfig, type Config } from './config';

let config: Config;
try {
  config = loadConfig('bot');
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const { startBot } = await import('./app');
const { startOrExit } = await import('./startupProblem');
const bot = await startOrExit(() => startBot(config), config);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  bot.log.info({ signal }, 'stopping');
  bot.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      bot.log.error({ err: error }, 'error while stopping');
      process.exit(1);
    },
  );
};
// A rejection nobody handles (a library's own promise, a WebSocket client's say) must not stop the bot:
// Node's default would end the process with every position it follows.
process.on('unhandledRejection', (reason) => {
  bot.log.error({ err: reason }, 'a promise was rejected with no handler; the bot goes on');
});
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
