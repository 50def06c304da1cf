import type { APIEmbed } from 'discord.js';

/** Discord's documented limits for messages and embeds. */
export const DISCORD_LIMITS = {
  embedsPerMessage: 10,
  charsPerMessage: 6000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  content: 2000,
} as const;

export const COLORS = {
  green: 0x2ecc71,
  blue: 0x3498db,
  grey: 0x95a5a6,
  red: 0xe74c3c,
  orange: 0xe67e22,
  purple: 0x9b59b6,
  dark: 0x7f8c8d,
  gold: 0xf1c40f,
  brand: 0x5865f2,
} as const;

/** Cuts text to `max` characters, ending with an ellipsis when it had to cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Escapes Markdown in names members chose, so "**x**" or "@everyone" shows as typed. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|>[\]])/g, '\\$1').replace(/@/g, '@\u200b');
}

/** A member mention (shown as their name; `allowed_mentions` keeps it from pinging). */
export const mention = (userId: string): string => `<@${userId}>`;

/** Prices as traders write them: no float noise, up to 8 significant decimals. */
export function formatPrice(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 2 : abs >= 1 ? 4 : 8;
  return Number(value.toFixed(digits)).toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function formatQuantity(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return Number(value.toPrecision(10)).toLocaleString('en-US', { maximumFractionDigits: 8 });
}

/** Money with two decimals; `signed` adds + for gains. */
export function formatMoney(value: number, currency = 'USDT', signed = false): string {
  const text = Math.abs(value).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const sign = value < 0 ? '-' : signed && value > 0 ? '+' : '';
  return `${sign}${text} ${currency}`;
}

export function formatDate(date: Date | null): string {
  return date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—';
}

/** Characters of an embed that count towards the 6,000 per message. */
export function embedLength(embed: APIEmbed): number {
  let total = (embed.title?.length ?? 0) + (embed.description?.length ?? 0);
  total += embed.footer?.text.length ?? 0;
  total += embed.author?.name.length ?? 0;
  for (const field of embed.fields ?? []) total += field.name.length + field.value.length;
  return total;
}

export const messageLength = (embeds: readonly APIEmbed[]): number => embeds.reduce((sum, e) => sum + embedLength(e), 0);

/** Every problem with an embed or a message against Discord's limits (empty when it fits). */
export function limitProblems(embeds: readonly APIEmbed[]): string[] {
  const problems: string[] = [];
  if (embeds.length > DISCORD_LIMITS.embedsPerMessage) problems.push(`${embeds.length} embeds`);
  const total = messageLength(embeds);
  if (total > DISCORD_LIMITS.charsPerMessage) problems.push(`${total} characters`);
  embeds.forEach((embed, i) => {
    if ((embed.title?.length ?? 0) > DISCORD_LIMITS.title) problems.push(`embed ${i} title`);
    if ((embed.description?.length ?? 0) > DISCORD_LIMITS.description) problems.push(`embed ${i} description`);
    if ((embed.fields?.length ?? 0) > DISCORD_LIMITS.fields) problems.push(`embed ${i} has ${embed.fields?.length} fields`);
    for (const field of embed.fields ?? []) {
      if (field.name.length > DISCORD_LIMITS.fieldName || field.name.length === 0) problems.push(`embed ${i} field name`);
      if (field.value.length > DISCORD_LIMITS.fieldValue || field.value.length === 0) problems.push(`embed ${i} field value`);
    }
    if ((embed.footer?.text.length ?? 0) > DISCORD_LIMITS.footer) problems.push(`embed ${i} footer`);
  });
  return problems;
}

/**
 * Joins lines into chunks of at most `max` characters (newline-separated); a line longer than
 * `max` is cut. Used for descriptions and field values that list many accounts.
 */
export function chunkLines(lines: readonly string[], max: number): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const raw of lines) {
    const line = truncate(raw, max);
    if (current === '') current = line;
    else if (current.length + 1 + line.length <= max) current += `\n${line}`;
    else {
      chunks.push(current);
      current = line;
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

export const SIDE_EMOJI = { long: '📈', short: '📉' } as const;

/**
 * A pair as people write it: `BTC/USDT · perp` for a perpetual (ccxt: `BTC/USDT:USDT`), `BTC/USDT ·
 * spot` for spot, plain `BTC/USDT` where the market is not known (a signal goes to both).
 */
export function displayPair(symbol: string, marketType?: 'spot' | 'futures'): string {
  const [pair = symbol, settle] = symbol.split(':');
  if (settle !== undefined || marketType === 'futures') return `${pair} · perp`;
  return marketType === 'spot' ? `${pair} · spot` : pair;
}

/** "3 h 12 min", "2 d 4 h", "45 s": how long something lasted, to the two largest units. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [size, name] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count} ${name}`);
    // The largest unit and the one right below it ("2 d", not "2 d 5 min").
    else if (parts.length > 0) break;
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0 s';
}
