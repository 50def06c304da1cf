import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { BotCommand } from './command';

/** commands/ at the project root (two levels above this file, in src/discord or dist/src/discord). */
export const COMMANDS_DIR = fileURLToPath(new URL('../../commands/', import.meta.url));

const isCommandFile = (file: string): boolean =>
  /\.(ts|js|mjs)$/.test(file) && !file.endsWith('.d.ts') && !/\.(test|spec)\./.test(file) && !file.startsWith('_');

function asCommand(module: Record<string, unknown>, file: string): BotCommand {
  const data = module['data'] as BotCommand['data'] | undefined;
  const execute = module['execute'];
  if (!data || typeof data.toJSON !== 'function' || typeof data.name !== 'string' || typeof execute !== 'function') {
    throw new Error(`commands/${file} must export { data, execute } (data built with SlashCommandBuilder)`);
  }
  const expected = file.replace(/\.(ts|js|mjs)$/, '');
  if (data.name !== expected) throw new Error(`commands/${file} defines /${data.name}; a command file is named as its command`);
  const optional = (name: 'autocomplete' | 'button' | 'modal') =>
    typeof module[name] === 'function' ? { [name]: module[name] } : {};
  return { data, execute, ...optional('autocomplete'), ...optional('button'), ...optional('modal') } as BotCommand;
}

/** Loads every command file (one per top-level command), keyed by command name. */
export async function loadCommands(dir: string = COMMANDS_DIR): Promise<Map<string, BotCommand>> {
  const files = readdirSync(dir).filter(isCommandFile).sort();
  const commands = new Map<string, BotCommand>();
  for (const file of files) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    const command = asCommand(module, file);
    if (commands.has(command.data.name)) throw new Error(`two command files define /${command.data.name}`);
    commands.set(command.data.name, command);
  }
  return commands;
}
