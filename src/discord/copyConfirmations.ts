import { ActionRowBuilder, ButtonBuilder, ButtonStyle, Routes, type APIChannel, type APIMessage, type REST } from 'discord.js';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger';
import type { CopyService } from '../services/copy';
import { customId } from './command';
import { renderCopyConfirmation } from './embeds/copy';

/** Discord: "Cannot send messages to this user" (DMs closed, no shared server): the member cannot answer. */
const CANNOT_DM = 50007;
/** A send that failed otherwise (40003 opening DMs too fast, 429, 5xx, network) is tried again after this. */
const RETRY_AFTER_MS = 5_000;

/**
 * Offers each copy waiting for its follower's answer in a direct message with Copy and Skip buttons
 * (commands/copy.ts answers them). Only a member who cannot be sent a DM (50007) has the copy skipped
 * at once; any other failure is tried again while the answer window lasts, then the copy is skipped.
 * One pass at a time: a call while one runs joins it (a slow pass must not send every DM twice).
 * REST only (the DM channel opened, then the message posted): it runs beside the feed poster, in the
 * process that leads the feed, with no gateway session.
 */
export function createCopyConfirmSender(deps: {
  rest: Pick<REST, 'post'>;
  copy: CopyService;
  log: Logger;
  now?: () => number;
  /**
   * Several processes: claims the members' DM scopes (`u:<user>`, as the feed's DMs) and answers
   * those this process holds; a DM of another's scope is left to it. Without it, every DM is this one's.
   */
  claim?: (scopes: readonly string[]) => Promise<ReadonlySet<string>>;
}) {
  const { rest, copy, log } = deps;
  const now = deps.now ?? Date.now;
  const retryAt = new LRUCache<string, number>({ max: 10_000 });
  let running: Promise<number> | null = null;

  async function pass(): Promise<number> {
    let sent = 0;
    // DMs waiting to be tried again are left out of the page: fifty of them must not hold up newer ones.
    const waiting = [...retryAt.entries()].filter(([, at]) => at > now()).map(([id]) => id);
    const page = await copy.pendingConfirmations(50, waiting);
    const held = deps.claim ? await deps.claim([...new Set(page.map((pending) => `u:${pending.ownerId}`))]) : null;
    for (const pending of page) {
      if (held && !held.has(`u:${pending.ownerId}`)) continue;
      if (now() > pending.expiresAt) {
        // Never reached the member within the window: skipped, as a late answer would be.
        await copy.markConfirmationSent(pending.id, null);
        continue;
      }
      if ((retryAt.get(pending.id) ?? 0) > now()) continue;
      try {
        const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId(customId('copy', 'ok', pending.id)).setLabel('Copy').setStyle(ButtonStyle.Success),
          new ButtonBuilder().setCustomId(customId('copy', 'skip', pending.id)).setLabel('Skip').setStyle(ButtonStyle.Secondary),
        );
        const channel = (await rest.post(Routes.userChannels(), { body: { recipient_id: pending.ownerId } })) as APIChannel;
        // A send whose "sent" mark then fails is sent again next pass: Discord's enforce_nonce answers
        // the first message instead of posting a second (a nonce is at most 25 characters).
        const message = (await rest.post(Routes.channelMessages(channel.id), {
          body: {
            embeds: [renderCopyConfirmation(pending)],
            components: [buttons.toJSON()],
            nonce: `c${pending.id.replace(/-/g, '').slice(0, 24)}`,
            enforce_nonce: true,
            allowed_mentions: { parse: [] },
          },
        })) as APIMessage;
        await copy.markConfirmationSent(pending.id, message.id);
        retryAt.delete(pending.id);
        sent += 1;
      } catch (error) {
        if ((error as { code?: unknown }).code === CANNOT_DM) {
          log.info({ confirmationId: pending.id }, 'copy confirmation cannot be sent (the member does not take DMs): skipped');
          await copy.markConfirmationSent(pending.id, null);
        } else {
          log.warn({ err: error, confirmationId: pending.id }, 'copy confirmation not sent yet; tried again shortly');
          retryAt.set(pending.id, now() + RETRY_AFTER_MS);
        }
      }
    }
    return sent;
  }

  return {
    flush(): Promise<number> {
      running ??= pass().finally(() => {
        running = null;
      });
      return running;
    },
  };
}
