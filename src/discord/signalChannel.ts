import type { Message } from 'discord.js';
import type { Logger } from '../logger';
import type { ChannelSignalService } from '../services/channelSignals';
import { DISCORD_LIMITS, formatPrice, truncate } from './embeds/format';

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
      const s = view.signal;
      const entry = s.entryType === 'market' ? 'at market' : s.entries.map(formatPrice).join(' / ');
      const what = view.paused
        ? 'Trading is paused on this server: every account will skip it.'
        : `Executing on ${view.accounts} account${view.accounts === 1 ? '' : 's'} of ${view.members} member${view.members === 1 ? '' : 's'}.`;
      await message.react('✅');
      await message.reply({
        // The parser caps entries and targets at 15 each; the cut is for Discord's limit all the same.
        content: truncate(
          `${s.symbol} ${s.side.toUpperCase()} ${entry}, stop ${formatPrice(s.stopLoss)}${s.takeProfits.length ? `, targets ${s.takeProfits.map(formatPrice).join(' / ')}` : ''}${s.leverage ? `, ${s.leverage}x` : ''}. ${what}`,
          DISCORD_LIMITS.content,
        ),
        allowedMentions: { parse: [], repliedUser: false },
      });
    } catch (error) {
      log.error({ err: error, messageId: message.id }, 'signal channel message failed');
    }
  };
}
