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
const bot = await startBot(config);

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
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
