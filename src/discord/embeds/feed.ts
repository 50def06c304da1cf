/**
 * The trade feed's embeds: one per order line, per position event (take-profit hit, stop moved,
 * close), per signal summary, and the direct-message notices. Its size: one renderer per feed event
 * kind, sharing the pair, mode and money formatting that keeps every line alike.
 */
import type { APIEmbed, APIEmbedField } from 'discord.js';
import { describeReason, isReasonCode, NOTE_TEXT } from '../../domain/reasons';
import type {
  MarketKind,
  NoticeEvent,
  OrderFeedEvent,
  OrderOutcome,
  PositionFeedEvent,
  SignalOrigin,
  SummaryAccountLine,
  SummaryFeedEvent,
  TradingMode,
} from '../../domain/feedEvents';
import {
  COLORS,
  DISCORD_LIMITS,
  displayPair,
  embedLength,
  escapeMarkdown,
  formatDuration,
  formatMoney,
  formatPrice,
  formatQuantity,
  mention,
  SIDE_EMOJI,
  truncate,
} from './format';

/** Colour, emoji and words of each per-account outcome. */
export const OUTCOME_STYLE: Record<OrderOutcome, { color: number; emoji: string; label: string }> = {
  filled: { color: COLORS.green, emoji: '🟢', label: 'filled' },
  placed: { color: COLORS.blue, emoji: '🔵', label: 'placed (waiting for its entry)' },
  'dry-run': { color: COLORS.purple, emoji: '🟣', label: 'dry run' },
  skipped: { color: COLORS.grey, emoji: '⚪', label: 'skipped' },
  'not-placed': { color: COLORS.orange, emoji: '🟠', label: 'not placed' },
  failed: { color: COLORS.red, emoji: '🔴', label: 'failed' },
  cancelled: { color: COLORS.dark, emoji: '⚫', label: 'cancelled' },
};

const OUTCOME_ORDER: readonly OrderOutcome[] = ['filled', 'placed', 'dry-run', 'skipped', 'not-placed', 'failed', 'cancelled'];

/** Plain words for a stored reason code; unknown codes (a newer engine) show as written. */
export function reasonText(reason: string | null): string | null {
  if (reason === null) return null;
  if (isReasonCode(reason)) return describeReason(reason);
  if (Object.hasOwn(NOTE_TEXT, reason)) return NOTE_TEXT[reason as keyof typeof NOTE_TEXT];
  return reason.replace(/-/g, ' ');
}

const sideText = (side: 'long' | 'short') => `${SIDE_EMOJI[side]} ${side.toUpperCase()}`;
const field = (name: string, value: string, inline = true): APIEmbedField => ({
  name: truncate(name, DISCORD_LIMITS.fieldName),
  value: truncate(value, DISCORD_LIMITS.fieldValue),
  inline,
});
const accountLine = (name: string, ownerId: string) => `**${escapeMarkdown(name)}** · ${mention(ownerId)}`;

const MODE_TEXT: Record<TradingMode, string> = { live: '💵 Live', demo: '🧪 Demo', paper: '📝 Paper' };
/** Said under every paper and demo line: never mistaken for live money. */
const MODE_NOTE: Partial<Record<TradingMode, string>> = {
  demo: "Demo: the exchange's test venue, no real money",
  paper: 'Paper: simulated by the bot, no real money',
};

/** "[PAPER] " / "[DEMO] " ahead of a title: a simulated fill never reads as a live one. */
const modeTag = (mode: TradingMode | undefined) => (mode === 'paper' || mode === 'demo' ? `[${mode.toUpperCase()}] ` : '');

/** "💵 Live · Futures · binance" (what is known of it). */
function venueLine(mode: TradingMode | undefined, marketType: MarketKind | undefined, exchangeId?: string): string | null {
  const parts = [mode ? MODE_TEXT[mode] : null, marketType === 'futures' ? 'Futures' : marketType === 'spot' ? 'Spot' : null, exchangeId ? escapeMarkdown(exchangeId) : null];
  const known = parts.filter((part): part is string => part !== null);
  return known.length > 0 ? known.join(' · ') : null;
}

/** Where the signal came from, in words: a link to the caller's message, or who sent the /signal. */
export function originText(origin: SignalOrigin | undefined): string | null {
  if (!origin) return null;
  const by = origin.authorId ? ` by ${mention(origin.authorId)}` : '';
  switch (origin.source) {
    case 'channel':
      return origin.url ? `From [a message](${origin.url})${by} in the signal channel` : `From a message${by} in the signal channel`;
    case 'command':
      return `From a /signal${by}`;
    case 'copy':
      return `Copied from a master's trade${by}`;
    case 'strategy':
      return 'From the built-in strategy';
  }
}

/** The footer of a signal's lines: its short id (the summary shows the same) and the mode's note. */
function signalFooter(signalId: string | undefined, mode: TradingMode | undefined, lead?: string): APIEmbed['footer'] | undefined {
  const parts = [lead, signalId ? `signal ${signalId.slice(0, 8)}` : null, mode ? MODE_NOTE[mode] : null].filter(Boolean);
  return parts.length > 0 ? { text: parts.join(' · ') } : undefined;
}

/**
 * One account's outcome for a signal: its status once (in the title), the mode and market, only the
 * figures it has, and where the signal came from. Balances are never shown; quantity and notional
 * only when the owner shares amounts (the engine leaves them null otherwise).
 */
/** What a copy's fill did, said in the title instead of "filled" (a sale is no new long). */
const COPY_DONE: Record<'reduce' | 'close', string> = { reduce: 'reduced (copied)', close: 'closed (copied)' };

export function renderOrderEmbed(event: OrderFeedEvent, links: { summary?: string } = {}): APIEmbed {
  const base = OUTCOME_STYLE[event.outcome] ?? OUTCOME_STYLE.failed;
  const exit = event.copyAction === 'reduce' || event.copyAction === 'close' ? event.copyAction : null;
  const style = exit && event.outcome === 'filled' ? { ...base, label: COPY_DONE[exit] } : base;
  const why = reasonText(event.reason);
  const traded = event.outcome === 'filled' || event.outcome === 'placed' || event.outcome === 'dry-run';
  const fields: APIEmbedField[] = [];
  if (traded) {
    const limit = event.entryType === 'limit' && event.outcome !== 'filled' && event.price !== null ? ` at ${formatPrice(event.price)}` : '';
    if (!exit) fields.push(field('Entry', `${event.entryType}${limit}`));
    if (event.outcome === 'filled' && event.price !== null) fields.push(field(exit ? 'Exit price' : 'Fill price', formatPrice(event.price)));
    if (event.leverage !== null && event.marketType !== 'spot' && !exit)
      fields.push(field('Leverage', `${event.leverage}x${event.leverageCapped ? ' (capped)' : ''}`));
  }
  if (event.stopLoss !== null) fields.push(field('Stop', formatPrice(event.stopLoss)));
  if (event.takeProfits.length > 0) fields.push(field('Take-profits', event.takeProfits.map(formatPrice).join(' / ')));
  if (event.quantity !== null) fields.push(field('Quantity', formatQuantity(event.quantity)));
  if (event.notional !== null) fields.push(field('Notional', formatMoney(event.notional)));
  const lines = [
    accountLine(event.accountName, event.ownerId),
    venueLine(event.mode, event.marketType, event.exchangeId),
    why ? `Reason: ${why}` : null,
    originText(event.origin),
    links.summary ? `[The signal's summary](${links.summary})` : null,
  ].filter((line): line is string => line !== null);
  const footer = signalFooter(event.signalId, event.mode);
  return {
    title: truncate(`${modeTag(event.mode)}${style.emoji} ${displayPair(event.symbol, event.marketType)} ${sideText(event.side)} · ${style.label}`, DISCORD_LIMITS.title),
    description: truncate(lines.join('\n'), DISCORD_LIMITS.description),
    color: style.color,
    ...(fields.length > 0 ? { fields } : {}),
    ...(footer ? { footer } : {}),
  };
}

const POSITION_TEXT: Record<PositionFeedEvent['kind'], { emoji: string; text: string; color: number }> = {
  'take-profit-hit': { emoji: '🎯', text: 'take-profit hit', color: COLORS.green },
  'stop-moved-to-break-even': { emoji: '🛡️', text: 'stop moved to break-even', color: COLORS.blue },
  'position-closed': { emoji: '🏁', text: 'position closed', color: COLORS.blue },
  'closed-externally': { emoji: '✋', text: 'closed outside the bot', color: COLORS.grey },
  'stop-failed': { emoji: '⚠️', text: 'stop-loss could not be placed', color: COLORS.red },
  'account-paused': { emoji: '⏸️', text: 'account paused', color: COLORS.orange },
  'account-disabled': { emoji: '⛔', text: 'account disabled', color: COLORS.red },
};

const CAUSE_TEXT: Record<NonNullable<PositionFeedEvent['cause']>, string> = {
  'take-profit': 'take-profit',
  'stop-loss': 'stop-loss',
  'break-even': 'stop at break-even',
  manual: 'closed by hand (outside the bot)',
  liquidation: 'liquidation',
  panic: '/panic',
  'not-filled': 'entry never filled',
  copy: "following the master's close",
};

const signed = (value: number, digits = 2) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

/** Position events in the channel: a take-profit hit, the stop moved, a close with its figures. */
export function renderPositionEmbed(event: PositionFeedEvent): APIEmbed {
  const style = POSITION_TEXT[event.kind] ?? { emoji: 'ℹ️', text: event.kind, color: COLORS.grey };
  const lines = [accountLine(event.accountName, event.ownerId)];
  const venue = venueLine(event.mode, event.marketType);
  if (venue) lines.push(venue);
  const title =
    event.kind === 'take-profit-hit' && event.target !== null ? `take-profit ${event.target} hit` : style.text;
  if (event.kind === 'take-profit-hit') {
    const target = event.target === null ? 'Target' : `TP${event.target}`;
    const at = event.price === undefined || event.price === null ? '' : ` at ${formatPrice(event.price)}`;
    const filled = event.fillPrice === undefined || event.fillPrice === null ? '' : ` · filled at ${formatPrice(event.fillPrice)}`;
    lines.push(`${target}${at}${filled}`);
    if (event.quantity !== undefined && event.quantity !== null) lines.push(`Closed: ${formatQuantity(event.quantity)}`);
    if (event.pnl !== null) lines.push(`Gain on this part: ${formatMoney(event.pnl, 'USDT', true)} (before fees)`);
  } else if (event.kind === 'stop-moved-to-break-even') {
    if (event.price !== undefined && event.price !== null) lines.push(`New stop: ${formatPrice(event.price)} (the entry price)`);
  } else {
    if (event.cause) lines.push(`Cause: ${CAUSE_TEXT[event.cause] ?? event.cause}`);
    if (event.price !== undefined && event.price !== null) lines.push(`Exit price: ${formatPrice(event.price)}`);
    if (event.returnPct !== null) lines.push(`Return on margin: ${signed(event.returnPct)} %`);
    if (event.pnl !== null) lines.push(`PnL: ${formatMoney(event.pnl, 'USDT', true)}`);
    if (event.heldMs !== undefined && event.heldMs !== null) lines.push(`Time in trade: ${formatDuration(event.heldMs)}`);
  }
  const why = reasonText(event.reason);
  if (why) lines.push(`Reason: ${why}`);
  const footer = signalFooter(event.signalId, event.mode);
  const symbol = event.symbol ? `${displayPair(event.symbol, event.marketType)} ${sideText(event.side)} · ` : '';
  return {
    title: truncate(`${modeTag(event.mode)}${style.emoji} ${symbol}${title}`, DISCORD_LIMITS.title),
    description: truncate(lines.join('\n'), DISCORD_LIMITS.description),
    color: style.color,
    ...(footer ? { footer } : {}),
  };
}

const NOTICE_TEXT: Record<NoticeEvent['kind'], string> = {
  'account-paused': 'was paused',
  'account-disabled': 'was disabled',
  'closed-externally': 'had a position closed outside the bot',
  'stop-failed': 'could not place a stop-loss',
  'exit-refused': 'could not place an exit order',
  'master-ended': 'is no longer a copy-trading master',
  'copy-ended': 'no longer copies its master',
  'key-expiring': "has a key whose trading permission ends soon",
};

const NOTICE_EMOJI: Partial<Record<NoticeEvent['kind'], string>> = {
  'account-paused': '⏸️',
  'account-disabled': '⛔',
  'key-expiring': '⌛',
};

/** A direct message to an account's owner. */
export function renderNoticeEmbed(event: NoticeEvent): APIEmbed {
  const why = reasonText(event.reason);
  const lines = [`Your account **${escapeMarkdown(event.accountName)}** ${NOTICE_TEXT[event.kind] ?? event.kind}.`];
  if (why) lines.push(`Reason: ${why}.`);
  if (event.detail) lines.push(event.detail);
  if (event.kind === 'account-disabled') {
    lines.push(
      event.reason === 'key-revoked'
        ? 'Add a new key with /account add (or check the key on the exchange and run /account verify), then enable the account again.'
        : 'Check it with /account list and enable it again when ready.',
    );
  }
  if (event.kind === 'account-paused') lines.push('New entries resume automatically at the next UTC day; open positions are still managed.');
  return {
    title: truncate(`${NOTICE_EMOJI[event.kind] ?? '⚠️'} ${event.accountName}`, DISCORD_LIMITS.title),
    description: truncate(lines.join('\n'), DISCORD_LIMITS.description),
    color: event.kind === 'account-paused' ? COLORS.orange : COLORS.red,
  };
}

function groupByReason(lines: readonly SummaryAccountLine[]): { reason: string; lines: SummaryAccountLine[] }[] {
  const groups = new Map<string, SummaryAccountLine[]>();
  for (const line of lines) {
    const key = reasonText(line.reason) ?? 'no reason given';
    const group = groups.get(key) ?? [];
    group.push(line);
    groups.set(key, group);
  }
  return [...groups.entries()].map(([reason, group]) => ({ reason, lines: group })).sort((a, b) => b.lines.length - a.lines.length);
}

/** "filled", or for a copy of a master's sale "closed" / "reduced". */
const summaryVerb = (event: SummaryFeedEvent): string =>
  event.copyAction === 'close' ? 'closed' : event.copyAction === 'reduce' ? 'reduced' : 'filled';

/** Summary budget: one message (edited later), with room to spare under the 6,000 characters. */
const SUMMARY_BUDGET = 5800;

/**
 * The per-signal summary: filled x of y, counts of every outcome, the reason of every skipped and
 * failed account in plain words (with counts per reason that are always complete, and the accounts
 * named as far as one message allows), and the total notional of accounts sharing amounts. Always
 * fits one message, so a later, final summary can replace it by an edit.
 */
export function renderSummaryEmbeds(event: SummaryFeedEvent, links: { orders?: string } = {}): APIEmbed[] {
  const resting = Math.max(0, event.placed - event.filled);
  const skippedGroups = groupByReason(event.skipped);
  const failedGroups = groupByReason(event.failed);
  const verb = summaryVerb(event);
  const lines = [`${verb[0]!.toUpperCase()}${verb.slice(1)} **${event.filled}** of **${event.total}** account${event.total === 1 ? '' : 's'}.`];
  if (resting > 0) lines.push(`🔵 ${resting} placed, waiting for the entry price.`);
  if (event.pending > 0) lines.push(`⏳ ${event.pending} still pending: this summary is updated when they finish.`);
  if (event.skipped.length > 0) {
    lines.push(`⚪ Skipped: ${event.skipped.length}`);
    for (const group of skippedGroups.slice(0, 12)) lines.push(`• ${group.reason}: ${group.lines.length}`);
  }
  if (event.failed.length > 0) {
    lines.push(`🔴 Failed: ${event.failed.length}`);
    for (const group of failedGroups.slice(0, 12)) lines.push(`• ${group.reason}: ${group.lines.length}`);
  }
  if (event.sharedNotional > 0) lines.push(`Total notional (accounts sharing amounts): **${formatMoney(event.sharedNotional)}**`);
  const origin = originText(event.origin);
  if (origin) lines.push(origin);
  if (links.orders) lines.push(`[Each account's line](${links.orders}) (from there on in this channel)`);
  const color =
    event.pending > 0 || !event.final
      ? COLORS.gold
      : event.total > 0 && event.filled === event.total
        ? COLORS.green
        : event.filled > 0 || event.placed > 0
          ? COLORS.blue
          : event.failed.length > 0
            ? COLORS.red
            : COLORS.grey;
  const head: APIEmbed = {
    title: truncate(`📊 ${displayPair(event.symbol)} ${sideText(event.side)} · ${summaryVerb(event)} ${event.filled} of ${event.total}`, DISCORD_LIMITS.title),
    description: truncate(lines.join('\n'), DISCORD_LIMITS.description),
    color,
    footer: { text: `${event.final && event.pending === 0 ? 'Final' : 'Preliminary'} summary · signal ${event.signalId.slice(0, 8)}` },
  };
  const embeds: APIEmbed[] = [head];
  let used = embedLength(head);

  // The accounts behind each reason, named while the message has room.
  const sections: { title: string; color: number; groups: typeof skippedGroups }[] = [];
  if (skippedGroups.length > 0) sections.push({ title: `⚪ Skipped (${event.skipped.length})`, color: COLORS.grey, groups: skippedGroups });
  if (failedGroups.length > 0) sections.push({ title: `🔴 Failed (${event.failed.length})`, color: COLORS.red, groups: failedGroups });
  for (const section of sections) {
    if (embeds.length >= DISCORD_LIMITS.embedsPerMessage) break;
    const embed: APIEmbed = { title: section.title, color: section.color, fields: [] };
    used += section.title.length;
    for (const group of section.groups) {
      if ((embed.fields?.length ?? 0) >= DISCORD_LIMITS.fields) break;
      const name = truncate(`${group.reason} (${group.lines.length})`, DISCORD_LIMITS.fieldName);
      const room = Math.min(DISCORD_LIMITS.fieldValue, SUMMARY_BUDGET - used - name.length);
      if (room < 40) break;
      const value = namesWithin(group.lines, room);
      embed.fields?.push({ name, value });
      used += name.length + value.length;
    }
    if ((embed.fields?.length ?? 0) > 0) embeds.push(embed);
    else used -= section.title.length;
  }
  return embeds;
}

/** A message's jump link. */
export const messageUrl = (guildId: string, at: { channelId: string; messageId: string }): string =>
  `https://discord.com/channels/${guildId}/${at.channelId}/${at.messageId}`;

/** "acc (@owner), acc2 (@owner2) … and 12 more" within `max` characters. */
function namesWithin(lines: readonly SummaryAccountLine[], max: number): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const part = `${escapeMarkdown(line.accountName)} (${mention(line.ownerId)})`;
    const rest = lines.length - i - 1;
    const tail = rest > 0 ? ` … and ${rest} more` : '';
    const separator = parts.length === 0 ? 0 : 2;
    if (length + separator + part.length + tail.length > max) {
      const remaining = lines.length - i;
      const more = `… and ${remaining} more`;
      return parts.length === 0 ? truncate(more, max) : truncate(`${parts.join(', ')} ${more}`, max);
    }
    parts.push(part);
    length += separator + part.length;
  }
  return parts.join(', ') || '—';
}

/** An embed of compacted lines and the outbox rows whose lines it holds. */
export interface CompactChunk {
  embed: APIEmbed;
  ids: number[];
}

/** Description size of compact embeds: three fit one message with their titles. */
export const COMPACT_DESCRIPTION_CHARS = 1900;

/**
 * Per-order detail compacted into lines (signals that went to many accounts): grouped by outcome
 * and reason, one short line per account, chunked so that every chunk fits an embed and three fit
 * a message. Each chunk names the outbox rows it covers, so a row is posted exactly once.
 */
export function renderCompactOrders(
  rows: readonly { id: number; event: OrderFeedEvent }[],
  options: { descriptionChars?: number } = {},
): CompactChunk[] {
  const max = Math.min(options.descriptionChars ?? COMPACT_DESCRIPTION_CHARS, DISCORD_LIMITS.description);
  const first = rows[0]?.event;
  if (!first) return [];
  const groups = new Map<string, { outcome: OrderOutcome; reason: string | null; rows: { id: number; event: OrderFeedEvent }[] }>();
  for (const row of rows) {
    const reason = reasonText(row.event.reason);
    // Paper and demo lines never share a heading with live ones, nor spot with futures.
    const key = `${row.event.outcome}|${reason ?? ''}|${row.event.mode ?? ''}|${row.event.marketType ?? ''}`;
    const group = groups.get(key) ?? { outcome: row.event.outcome, reason, rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  const ordered = [...groups.values()].sort(
    (a, b) => OUTCOME_ORDER.indexOf(a.outcome) - OUTCOME_ORDER.indexOf(b.outcome) || b.rows.length - a.rows.length,
  );
  const chunks: CompactChunk[] = [];
  for (const group of ordered) {
    const style = OUTCOME_STYLE[group.outcome] ?? OUTCOME_STYLE.failed;
    // What every line of the group shares (one fill price, one leverage) is said once, in the heading.
    const shared = sharedDetail(group.rows.map((row) => row.event));
    const common = [shared.price === undefined ? null : `@ ${formatPrice(shared.price)}`, shared.leverage === undefined ? null : `${shared.leverage}x`]
      .filter(Boolean)
      .join(' ');
    const sample = group.rows[0]!.event;
    const heading = `${modeTag(sample.mode)}${style.emoji} ${displayPair(sample.symbol, sample.marketType)} ${sample.side.toUpperCase()} · ${style.label}${group.reason ? `: ${group.reason}` : ''} (${group.rows.length})${common ? ` ${common}` : ''}`;
    let lines: string[] = [];
    let ids: number[] = [];
    let length = 0;
    let part = 0;
    const flush = () => {
      if (lines.length === 0) return;
      part += 1;
      chunks.push({
        embed: {
          title: truncate(part === 1 ? heading : `${heading} · cont.`, DISCORD_LIMITS.title),
          description: lines.join('\n'),
          color: style.color,
        },
        ids,
      });
      lines = [];
      ids = [];
      length = 0;
    };
    for (const { id, event } of group.rows) {
      const line = truncate(compactLine(event, shared), max);
      if (length > 0 && length + 1 + line.length > max) flush();
      length += (length > 0 ? 1 : 0) + line.length;
      lines.push(line);
      ids.push(id);
    }
    flush();
  }
  return chunks;
}

interface SharedDetail {
  /** Set when every event of the group shows this price (undefined: lines show their own). */
  price?: number;
  leverage?: number;
}

const showsPrice = (event: OrderFeedEvent) => (event.outcome === 'filled' || event.outcome === 'placed') && event.price !== null;
const showsLeverage = (event: OrderFeedEvent) => event.leverage !== null && event.outcome !== 'skipped';

function sharedDetail(events: readonly OrderFeedEvent[]): SharedDetail {
  const detail: SharedDetail = {};
  const first = events[0];
  if (!first || events.length < 2) return detail;
  if (showsPrice(first) && events.every((e) => showsPrice(e) && e.price === first.price)) detail.price = first.price!;
  if (showsLeverage(first) && events.every((e) => showsLeverage(e) && e.leverage === first.leverage)) detail.leverage = first.leverage!;
  return detail;
}

function compactLine(event: OrderFeedEvent, shared: SharedDetail): string {
  const parts = [`${escapeMarkdown(event.accountName)} ${mention(event.ownerId)}`];
  if (showsPrice(event) && shared.price === undefined) parts.push(`@ ${formatPrice(event.price)}`);
  if (showsLeverage(event) && shared.leverage === undefined) parts.push(`${event.leverage}x`);
  if (event.quantity !== null) parts.push(`qty ${formatQuantity(event.quantity)}`);
  return parts.join(' ');
}
