import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
import type { Client } from 'discord.js';
import type { Logger } from '../logger';
import type { CopyService } from '../services/copy';
import { customId } from './command';
import { renderCopyConfirmation } from './embeds/copy';

/**
 * Offers each copy waiting for its follower's answer in a direct message with Copy and Skip buttons
 * (commands/copy.ts answers them). A member whose DMs are closed cannot answer: the copy is skipped.
 */
export function createCopyConfirmSender(deps: { client: Client; copy: CopyService; log: Logger }) {
  const { client, copy, log } = deps;
  return {
    async flush(): Promise<number> {
      let sent = 0;
      for (const pending of await copy.pendingConfirmations()) {
        try {
          const user = await client.users.fetch(pending.ownerId);
          const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder().setCustomId(customId('copy', 'ok', pending.id)).setLabel('Copy').setStyle(ButtonStyle.Success),
            new ButtonBuilder().setCustomId(customId('copy', 'skip', pending.id)).setLabel('Skip').setStyle(ButtonStyle.Secondary),
          );
          const message = await user.send({ embeds: [renderCopyConfirmation(pending)], components: [buttons] });
          await copy.markConfirmationSent(pending.id, message.id);
          sent += 1;
        } catch (error) {
          log.warn({ err: error, confirmationId: pending.id }, 'copy confirmation could not be sent: skipped');
          await copy.markConfirmationSent(pending.id, null);
        }
      }
      return sent;
    },
  };
}
