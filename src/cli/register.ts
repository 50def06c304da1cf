/**
 * `npm run register`: registers the slash commands over REST only (no gateway connection), in one
 * server when DISCORD_GUILD_ID is set (instant, for testing), globally otherwise.
 */
import { ConfigError, loadConfig } from '../config';
import { loadCommands } from '../discord/loader';
import { applicationIdOf, registerCommands } from '../discord/register';

try {
  // 'tool': registering needs the token, not the database or the vault.
  const config = loadConfig('tool');
  if (!config.DISCORD_TOKEN) throw new ConfigError(['DISCORD_TOKEN: is required: the bot token from the Discord developer portal']);
  const commands = await loadCommands();
  const result = await registerCommands(commands.values(), {
    token: config.DISCORD_TOKEN,
    applicationId: applicationIdOf(config.DISCORD_TOKEN, config.DISCORD_APPLICATION_ID),
    ...(config.DISCORD_GUILD_ID ? { guildId: config.DISCORD_GUILD_ID } : {}),
  });
  console.log(
    `Registered ${result.count} commands ${result.scope === 'guild' ? `in server ${config.DISCORD_GUILD_ID}` : 'globally (may take up to an hour to appear)'}: ${result.names.map((n) => `/${n}`).join(' ')}`,
  );
} catch (error) {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`Registration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
