import type { APIEmbed, APIEmbedField } from 'discord.js';
import type { GuildSettingsView } from '../../services/guildSettings';
import type { OrdersPage } from '../../services/orders';
import type { TradeStats } from '../../domain/tradeStats';
import type { PnlReport } from '../../services/pnl';
import type { QueuedSignalView } from '../../services/signals';
import { reasonText } from './feed';
import { COLORS, DISCORD_LIMITS, escapeMarkdown, formatDate, formatMoney, formatPrice, formatQuantity, SIDE_EMOJI, truncate } from './format';

const STATUS_EMOJI: Record<string, string> = {
  intent: '⏳',
  unknown: '❔',
  open: '🔵',
  'partially-filled': '🟡',
  filled: '🟢',
  cancelled: '⚫',
  rejected: '🔴',
  'not-placed': '🟠',
  expired: '⚪',
};

const LEG_TEXT = (leg: string): string => {
  if (leg.startsWith('e')) return 'entry';
  if (leg.startsWith('s')) return 'stop';
  if (leg.startsWith('t')) return 'take-profit';
  return leg;
};

/** One page of the caller's orders, newest first. */
export function renderOrdersPage(page: OrdersPage): APIEmbed {
  const filters = [page.accountName ? `account ${page.accountName}` : null, page.status ? `status ${page.status}` : null].filter(Boolean);
  if (page.total === 0) {
    return {
      title: 'Your orders',
      description: filters.length > 0 ? `No orders match (${filters.join(', ')}).` : 'No orders yet. They appear here once a signal trades on one of your enabled accounts.',
      color: COLORS.brand,
    };
  }
  const fields: APIEmbedField[] = page.rows.map((order) => {
    const price = order.averagePrice ?? order.price ?? order.triggerPrice;
    const lines = [
      `${STATUS_EMOJI[order.status] ?? '•'} **${order.status}** · ${order.side} ${formatQuantity(order.quantity)}${order.filledQuantity > 0 && order.filledQuantity < order.quantity ? ` (filled ${formatQuantity(order.filledQuantity)})` : ''} @ ${formatPrice(price)}`,
      `${escapeMarkdown(order.accountName)} · ${order.exchangeId} · ${LEG_TEXT(order.leg)}${order.leg.startsWith('e') ? ` (${order.type})` : ''} · ${formatDate(order.createdAt)}`,
    ];
    const why = reasonText(order.reason);
    if (why) lines.push(`Reason: ${why}`);
    return {
      name: truncate(`${order.symbol} · ${LEG_TEXT(order.leg)}`, DISCORD_LIMITS.fieldName),
      value: truncate(lines.join('\n'), DISCORD_LIMITS.fieldValue),
    };
  });
  return {
    title: `Your orders${filters.length > 0 ? ` (${filters.join(', ')})` : ''}`,
    color: COLORS.brand,
    fields,
    footer: { text: `Page ${page.page + 1} of ${page.pages} · ${page.total} order${page.total === 1 ? '' : 's'} · newest first` },
  };
}

const PERIOD_TEXT = { day: 'today (UTC)', week: 'the last 7 days', month: 'the last 30 days', all: 'all time' } as const;

/** The caller's PnL per account and in total (realised from closed positions, unrealised at the current price). */
export function renderPnl(report: PnlReport): APIEmbed {
  const accountField = (account: PnlReport['accounts'][number]): APIEmbedField => ({
    name: truncate(`${account.name} · ${account.exchangeId}${account.mode === 'live' ? '' : ` · ${account.mode}`}`, DISCORD_LIMITS.fieldName),
    value: truncate(
      [
        `Realised: ${formatMoney(account.realised, 'USDT', true)}`,
        `Unrealised: ${account.unrealised === null ? 'price unavailable' : formatMoney(account.unrealised, 'USDT', true)}`,
        `Open positions: ${account.openPositions} · fills: ${account.fills}`,
        ...statsLines(account.stats),
      ].join('\n'),
      DISCORD_LIMITS.fieldValue,
    ),
    inline: true,
  });
  // As many accounts as one message holds (its 6,000 characters and 25 fields); the rest are in the totals.
  const fields: APIEmbedField[] = [];
  let used = 1_200;
  for (const account of report.accounts) {
    const field = accountField(account);
    const size = field.name.length + field.value.length;
    if (fields.length >= 24 || used + size > 5_700) break;
    fields.push(field);
    used += size;
  }
  const left = report.accounts.length - fields.length;
  if (left > 0) fields.push({ name: '…', value: `and ${left} more account${left === 1 ? '' : 's'} (in the totals; \`account:\` shows one)` });
  // Live, demo and paper are never added together: only live is money.
  const lines = report.totals.flatMap((total) => [
    `**${MODE_TOTAL_LABEL[total.mode]}: ${formatMoney(total.realised + total.unrealised, 'USDT', true)}**`,
    `Realised ${formatMoney(total.realised, 'USDT', true)} · unrealised ${formatMoney(total.unrealised, 'USDT', true)} · fees ${formatMoney(total.fees)}`,
  ]);
  if (report.pricesMissing) lines.push('Some open positions had no current price; their unrealised PnL is left out.');
  if (report.accounts.length === 0) lines.push('You have no accounts on this server yet: `/account add`.');
  const headline = report.totals[0];
  const sign = headline ? headline.realised + headline.unrealised : 0;
  return {
    title: `Your PnL — ${PERIOD_TEXT[report.period]}`,
    description: lines.join('\n'),
    color: sign > 0 ? COLORS.green : sign < 0 ? COLORS.red : COLORS.grey,
    fields,
    footer: {
      text: `${report.since ? `Since ${formatDate(report.since)} · r` : 'R'}ealised: exits as they fill, fees (valued at fill time) and futures funding included; unrealised at the mark (futures) or last price`,
    },
  };
}

const money = (value: number | null) => (value === null ? '—' : formatMoney(value, 'USDT', true));

/** The closed trades' figures a trader reads beside a PnL (src/domain/tradeStats.ts). */
function statsLines(stats: TradeStats): string[] {
  if (stats.trades === 0) return ['Closed trades: none in this period'];
  const rate = stats.winRate === null ? '' : ` · win rate ${Math.round(stats.winRate * 100)} %`;
  const factor = stats.profitFactor === null ? (stats.losses === 0 ? ' · no loss' : '') : ` · profit factor ${stats.profitFactor.toFixed(2)}`;
  return [
    `Closed trades: ${stats.trades}${rate}${factor}`,
    `Average win ${money(stats.averageWin)} · average loss ${money(stats.averageLoss)}`,
    `Best ${money(stats.best)} · worst ${money(stats.worst)} · max drawdown ${money(stats.maxDrawdown)}`,
  ];
}

const MODE_TOTAL_LABEL = { live: 'Live total', demo: 'Demo total (exchange test money)', paper: 'Paper total (simulated)' } as const;

export function renderGuildSettings(view: GuildSettingsView, title = 'Server settings'): APIEmbed {
  const channel = (id: string | null) => (id ? `<#${id}>` : 'not set');
  return {
    title,
    color: view.paused ? COLORS.orange : COLORS.brand,
    fields: [
      { name: 'Trade feed channel', value: channel(view.feedChannelId), inline: true },
      { name: 'Signal channel', value: channel(view.signalChannelId), inline: true },
      { name: 'Caller role', value: view.callerRoleId ? `<@&${view.callerRoleId}>` : 'not set (admins only)', inline: true },
      { name: 'New entries', value: view.paused ? '⏸️ paused server-wide' : '▶️ running', inline: true },
      { name: 'Accounts', value: `${view.enabledAccounts} enabled of ${view.accounts} (${view.members} member${view.members === 1 ? '' : 's'})`, inline: true },
    ],
  };
}

/**
 * What a queued signal is and what happens next, in the words both answers use: /signal's embed
 * and the signal channel's reply. `strong` marks the counts (bold in the embed).
 */
function queuedWords(view: QueuedSignalView, strong: (text: string) => string = (text) => text) {
  const s = view.signal;
  const plural = (n: number, word: string) => `${strong(String(n))} ${word}${n === 1 ? '' : 's'}`;
  return {
    pair: `${s.symbol} ${s.side.toUpperCase()}`,
    entry: s.entryType === 'market' ? null : s.entries.map(formatPrice).join(' / '),
    /** Stop, targets and leverage, each its own part (the embed and the reply separate them differently). */
    terms: [
      `stop ${formatPrice(s.stopLoss)}`,
      ...(s.takeProfits.length > 0 ? [`targets ${s.takeProfits.map(formatPrice).join(' / ')}`] : []),
      ...(s.leverage ? [`${s.leverage}x`] : []),
    ],
    outcome: view.paused
      ? 'Trading is paused on this server: every account will skip it.'
      : `Executing on ${plural(view.accounts, 'account')} of ${plural(view.members, 'member')}.`,
  };
}

/** /signal's answer. */
export function renderSignalQueued(view: QueuedSignalView): APIEmbed {
  const words = queuedWords(view, (text) => `**${text}**`);
  const lines = [
    `Entry: ${[words.entry ?? 'market', ...words.terms].join(' · ')}`,
    view.paused ? `⏸️ ${words.outcome}` : `${words.outcome} Results appear in the trade feed.`,
  ];
  if (!view.fresh) lines.push('(This signal was already queued; it is not sent twice.)');
  return {
    title: `${SIDE_EMOJI[view.signal.side]} ${words.pair} queued`,
    description: lines.join('\n'),
    color: view.paused ? COLORS.orange : COLORS.green,
    footer: { text: `Signal ${view.signalId} · withdraw it with /signal cancel` },
  };
}

/** The signal channel's reply to a caller's message that was queued. */
export function renderSignalQueuedReply(view: QueuedSignalView): string {
  const words = queuedWords(view);
  return `${words.pair} ${[words.entry ?? 'at market', ...words.terms].join(', ')}. ${words.outcome}`;
}

export function renderHelp(): APIEmbed {
  return {
    title: 'How this bot works',
    description: [
      'Every signal a caller publishes runs on **all your enabled exchange accounts at once**, each with its own sizing and risk limits. Every order is reported in the server\'s trade feed.',
      '',
      '**Start**',
      '1. `/account add` — pick the exchange, spot or futures, and live, demo or paper. A private form asks for the API key (paper needs none). Keys that can withdraw are refused; keys are encrypted and never shown again.',
      '2. `/account list` — your accounts, with buttons to enable, verify, change settings or remove them.',
      '3. `/account settings` — sizing (fixed USD, % of balance, risk %, Kelly), max position, leverage, daily trade and loss limits, coin allow/block lists, whether amounts show in the feed.',
      '',
      '**Follow your trading**',
      '`/orders` — your orders, newest first · `/pnl` — your profit and loss per account.',
      '',
      '**Callers and admins**',
      '`/signal post` publishes a signal (caller role) · `/signal cancel` withdraws one · `/setup` sets the feed channel, the caller role, and pauses or resumes trading (Manage Server).',
      'Callers can also simply post a signal in the signal channel (`/setup signal-channel`): ✅ and a reply mean it was queued.',
      '',
      '**Copy trading and the example strategy**',
      '`/copy follow` copies a master account\'s trades on yours (mirror, multiplier, fixed or proportional; filters, dry-run, confirm) · `/copy list` · `/copy stop`. `/account settings strategy:true` lets an account take the built-in example strategy\'s signals when an admin turned it on (`/setup strategy`) — an example, not advice.',
      '',
      'Everything about your accounts is visible only to you.',
    ].join('\n'),
    color: COLORS.brand,
  };
}
