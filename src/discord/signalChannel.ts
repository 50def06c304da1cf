import type { Message } from 'discord.js';
import type { Logger } from '../logger';
import type { ChannelSignalService } from '../services/channelSignals';
import { DISCORD_LIMITS, truncate } from './embeds/format';
import { renderSignalQueuedReply } from './embeds/views';

/**
 * Reads the signal channel: a caller's message that parses becomes a queued signal (✅ and a short
 * reply saying what will happen); an untradeable one gets its reason; chatter and everybody else's
 * messages get nothing. The service decides; this file only talks to Discord.
 */
export function createSignalChannelListener(deps: { channelSignals: ChannelSignalService; log: Logger }) {
  const { channelSignals, log } = deps;
  return async function onMessage(message: Message): Promise<void> {
    if (!message.inGuild() || message.author.bot || message.webhookId) return;
    try {
      const roles = message.member ? [...message.member.roles.cache.keys()] : [];
      const outcome = await channelSignals.handleMessage({
        guildId: message.guildId,
        channelId: message.channelId,
        messageId: message.id,
        authorId: message.author.id,
        authorIsBot: message.author.bot,
        memberRoleIds: roles,
        content: message.content,
      });
      if (outcome.kind === 'not-for-us' || outcome.kind === 'ignored') return;
      if (outcome.kind === 'invalid') {
        await message.reply({
          content: truncate(`⚠️ Not traded: ${outcome.text}.`, DISCORD_LIMITS.content),
          allowedMentions: { parse: [], repliedUser: false },
        });
        return;
      }
      const { view } = outcome;
      if (!view.fresh) return;
      await message.react('✅');
      await message.reply({
        // The parser caps entries and targets at 15 each; the cut is for Discord's limit all the same.
        content: truncate(renderSignalQueuedReply(view), DISCORD_LIMITS.content),
        allowedMentions: { parse: [], repliedUser: false },
      });
    } catch (error) {
      log.error({ err: error, messageId: message.id }, 'signal channel message failed');
    }
  };
}
