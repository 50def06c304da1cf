import type { Interaction } from 'discord.js';
import { UserError } from '../services/errors';
import type { BotCommand, CommandContext } from './command';
import { parseCustomId } from './command';
import { replyWithError } from './errorReply';

const gone = () => new UserError('not-found', 'This command or button is not available any more. Run the command again.');

/**
 * Sends each interaction to its command file: slash commands and autocomplete by name, buttons and
 * modal submits by the command name that starts their custom id. Any error becomes a friendly
 * ephemeral answer (errorReply.ts).
 */
export function createInteractionRouter(commands: ReadonlyMap<string, BotCommand>, ctx: CommandContext) {
  return async function route(interaction: Interaction): Promise<void> {
    const started = ctx.clock.now();
    try {
      if (interaction.isChatInputCommand()) {
        const command = commands.get(interaction.commandName);
        if (!command) throw gone();
        await command.execute(interaction, ctx);
      } else if (interaction.isAutocomplete()) {
        const command = commands.get(interaction.commandName);
        if (!command?.autocomplete) return await interaction.respond([]);
        await command.autocomplete(interaction, ctx);
      } else if (interaction.isButton()) {
        const id = parseCustomId(interaction.customId);
        const command = commands.get(id.command);
        if (!command?.button) throw gone();
        await command.button(interaction, ctx, id);
      } else if (interaction.isModalSubmit()) {
        const id = parseCustomId(interaction.customId);
        const command = commands.get(id.command);
        if (!command?.modal) throw gone();
        await command.modal(interaction, ctx, id);
      } else {
        return;
      }
      ctx.log.debug({ interactionId: interaction.id, type: interaction.type, ms: ctx.clock.now() - started }, 'interaction handled');
    } catch (error) {
      await replyWithError(interaction, error, ctx.log);
    }
  };
}
