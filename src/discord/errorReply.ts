import { DiscordAPIError } from 'discord.js';
import type { Interaction } from 'discord.js';
import type { Logger } from '../logger';
import { isUserError } from '../services/errors';
import { EPHEMERAL } from './interaction';

/** Discord's "Unknown interaction": the 3 seconds (or 15 minutes) are over; nothing can be answered. */
const UNKNOWN_INTERACTION = 10062;
const ALREADY_ACKNOWLEDGED = 40060;

/**
 * The text a member sees for an error. Only our own user-facing errors show their message; any
 * other error's text may carry request details, so it is replaced by a generic sentence with a
 * reference (the interaction id) the operator can find in the logs.
 */
export function errorText(error: unknown, reference: string): string {
  if (isUserError(error)) return error.message;
  return `Something went wrong on our side, sorry. Nothing was shared. Try again in a moment (reference ${reference}).`;
}

/** Turns any thrown error into a friendly ephemeral answer, whatever state the interaction is in. */
export async function replyWithError(interaction: Interaction, error: unknown, log: Logger): Promise<void> {
  const reference = interaction.id;
  const context = {
    interactionId: interaction.id,
    userId: interaction.user.id,
    guildId: interaction.guildId,
    ...(interaction.isCommand() || interaction.isAutocomplete() ? { command: interaction.commandName } : {}),
    ...(interaction.isMessageComponent() || interaction.isModalSubmit() ? { customId: interaction.customId.split(':').slice(0, 2).join(':') } : {}),
  };
  if (isUserError(error)) log.info({ ...context, code: error.code }, 'interaction refused');
  else log.error({ ...context, err: error }, 'interaction failed');

  const content = errorText(error, reference);
  try {
    if (interaction.isAutocomplete()) {
      if (!interaction.responded) await interaction.respond([]);
      return;
    }
    if (!interaction.isRepliable()) return;
    if (interaction.deferred && !interaction.replied) {
      await interaction.editReply({ content, embeds: [], components: [] });
    } else if (interaction.replied || interaction.deferred) {
      await interaction.followUp({ content, flags: EPHEMERAL });
    } else {
      await interaction.reply({ content, flags: EPHEMERAL });
    }
  } catch (replyError) {
    const code = replyError instanceof DiscordAPIError ? replyError.code : null;
    if (code === UNKNOWN_INTERACTION || code === ALREADY_ACKNOWLEDGED) {
      log.warn({ ...context, code }, 'could not answer the interaction with the error');
      return;
    }
    log.error({ ...context, err: replyError }, 'error reply failed');
  }
}
