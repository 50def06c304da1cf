import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  ModalSubmitInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Logger } from '../logger';
import type { BotServices } from '../services';
import type { Clock } from '../clock';

/** What every handler gets besides the interaction. */
export interface CommandContext {
  services: BotServices;
  log: Logger;
  clock: Clock;
}

/**
 * One slash command: a file under commands/ named as the command, exporting these. Buttons and
 * modals belong to the command whose name starts their custom id (`account:toggle:<id>`).
 */
export interface BotCommand {
  data: { readonly name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<unknown>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<unknown>;
  button?(interaction: ButtonInteraction, ctx: CommandContext, id: CustomId): Promise<unknown>;
  modal?(interaction: ModalSubmitInteraction, ctx: CommandContext, id: CustomId): Promise<unknown>;
}

/** `command:action:arg:arg…`, at most 100 characters (Discord's limit). */
export interface CustomId {
  command: string;
  action: string;
  args: string[];
}

export function customId(command: string, action: string, ...args: (string | number)[]): string {
  const id = [command, action, ...args.map(String)].join(':');
  if (id.length > 100) throw new Error(`custom id longer than 100 characters: ${command}:${action}`);
  return id;
}

export function parseCustomId(id: string): CustomId {
  const [command = '', action = '', ...args] = id.split(':');
  return { command, action, args };
}
