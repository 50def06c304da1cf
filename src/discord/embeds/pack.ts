import type { APIEmbed } from 'discord.js';
import { DISCORD_LIMITS, embedLength } from './format';

/** Embeds that go out together (one row's embed, or one chunk of compacted lines) and the rows they carry. */
export interface FeedUnit {
  ids: number[];
  embeds: APIEmbed[];
}

export interface PackedMessage {
  ids: number[];
  embeds: APIEmbed[];
}

/**
 * Packs units, in order, into as few messages as Discord's limits allow (10 embeds and 6,000
 * characters a message). A unit is never split; a unit that alone exceeds a message is split by
 * embed (each embed is within the per-embed limits by construction of the renderers).
 */
export function packMessages(
  units: readonly FeedUnit[],
  limits: { embeds: number; chars: number } = { embeds: DISCORD_LIMITS.embedsPerMessage, chars: DISCORD_LIMITS.charsPerMessage },
): PackedMessage[] {
  const messages: PackedMessage[] = [];
  let current: PackedMessage | null = null;
  let chars = 0;
  const fits = (embeds: readonly APIEmbed[], length: number) =>
    current !== null && current.embeds.length + embeds.length <= limits.embeds && chars + length <= limits.chars;
  for (const unit of units) {
    const length = unit.embeds.reduce((sum, embed) => sum + embedLength(embed), 0);
    if (unit.embeds.length > limits.embeds || length > limits.chars) {
      // Oversized unit: one embed at a time; its rows travel with its first message.
      let first = true;
      for (const embed of unit.embeds) {
        const size = embedLength(embed);
        if (!fits([embed], size)) {
          current = { ids: [], embeds: [] };
          chars = 0;
          messages.push(current);
        }
        current!.embeds.push(embed);
        if (first) current!.ids.push(...unit.ids);
        first = false;
        chars += size;
      }
      continue;
    }
    if (!fits(unit.embeds, length)) {
      current = { ids: [], embeds: [] };
      chars = 0;
      messages.push(current);
    }
    current!.ids.push(...unit.ids);
    current!.embeds.push(...unit.embeds);
    chars += length;
  }
  return messages;
}
