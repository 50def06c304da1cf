/**
 * The bot token, checked over REST before anything is created on disk (the embedded database, the
 * vault key): a wrong token or an unreachable Discord is said in one line, not after a minute of
 * start-up or as a gateway stack trace.
 */
import { DiscordAPIError, REST, Routes } from 'discord.js';
import { networkCode, StartupProblem } from '../startupProblem';

export async function checkDiscordToken(token: string, restApi?: string): Promise<void> {
  // No retries: a start that cannot reach Discord says so at once.
  const rest = new REST({ retries: 0, timeout: 15_000, ...(restApi ? { api: restApi } : {}) }).setToken(token);
  try {
    await rest.get(Routes.user());
  } catch (error) {
    if (error instanceof DiscordAPIError && error.status === 401) {
      throw new StartupProblem(
        'Discord refused DISCORD_TOKEN (401 Unauthorized): copy the bot token again from the Developer Portal, Bot → Reset Token (README, "Setting up the Discord application")',
        { cause: error },
      );
    }
    const code = networkCode(error);
    if (code || (error instanceof Error && error.name === 'AbortError')) {
      throw new StartupProblem(`cannot reach Discord (${code ?? 'timed out'}): check this machine's network, DNS and firewall (discord.com, port 443)`, { cause: error });
    }
    throw error;
  }
}
