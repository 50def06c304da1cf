import { REST, Routes } from 'discord.js';
import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { BotCommand } from './command';

export interface RegisterOptions {
  token: string;
  applicationId: string;
  /** Guild-scoped registration (instant, for a test server); global otherwise. */
  guildId?: string;
  /** Simulator base URL, in code only (tests). */
  restApi?: string;
}

export function commandBodies(commands: Iterable<BotCommand>): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return [...commands].map((command) => command.data.toJSON());
}

/** Registers every command over REST (bulk overwrite): no gateway connection needed. */
export async function registerCommands(
  commands: Iterable<BotCommand>,
  options: RegisterOptions,
): Promise<{ scope: 'guild' | 'global'; count: number; names: string[] }> {
  const rest = new REST(options.restApi ? { api: options.restApi } : {}).setToken(options.token);
  const body = commandBodies(commands);
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  const result = (await rest.put(route, { body })) as { name: string }[];
  return { scope: options.guildId ? 'guild' : 'global', count: result.length, names: result.map((c) => c.name) };
}

/** The application id: DISCORD_APPLICATION_ID, or the bot's own user id read from the token. */
export function applicationIdOf(token: string, configured?: string): string {
  if (configured) return configured;
  const first = token.split('.')[0] ?? '';
  const decoded = Buffer.from(first, 'base64').toString('utf8');
  if (!/^\d{17,20}$/.test(decoded)) throw new Error('Set DISCORD_APPLICATION_ID: the token does not carry the application id.');
  return decoded;
}
