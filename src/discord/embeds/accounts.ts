import type { APIEmbed, APIEmbedField } from 'discord.js';
import type { AccountView, AddAccountResult, BalanceView, VerifyResult } from '../../services/accounts';
import { COLORS, DISCORD_LIMITS, escapeMarkdown, formatDate, formatMoney, truncate } from './format';

/** Accounts per page of /account list: each gets a row of buttons (5 rows a message, one for paging). */
export const ACCOUNTS_PER_PAGE = 4;

const MODE_TEXT = { live: 'live', demo: 'demo', paper: 'paper' } as const;

export function keyText(account: Pick<AccountView, 'maskedKey' | 'mode'>): string {
  if (account.mode === 'paper') return 'paper (no key)';
  return account.maskedKey ? `\`${account.maskedKey}\`` : 'hidden';
}

export function statusText(account: AccountView): string {
  const parts = [account.enabled ? '✅ enabled' : '⏹️ disabled', account.verified ? '🔐 verified' : '⚠️ not verified'];
  if (account.needsConfirmation) parts.push('❓ confirm no withdrawals');
  if (account.pausedUntil) parts.push(`⏸️ paused until ${formatDate(account.pausedUntil)}`);
  if (account.disabledReason && !account.enabled) parts.push(`(${account.disabledReason.replace(/-/g, ' ')})`);
  // A Discord timestamp: each member's client shows the date in their own time zone.
  if (account.tradingExpiresAt)
    parts.push(`⌛ trading permission ends <t:${Math.floor(account.tradingExpiresAt.getTime() / 1000)}:D>`);
  return parts.join(' · ');
}

export function sizingText(settings: AccountView['settings']): string {
  switch (settings.sizingMode) {
    case 'fixed':
      return `fixed ${settings.sizingValue} USD`;
    case 'percent':
      return `${settings.sizingValue} % of balance`;
    case 'risk':
      return `risk ${settings.riskPerTradePct} % per trade`;
    default:
      return `Kelly (fallback ${settings.sizingValue} USD)`;
  }
}

export function settingsLines(settings: AccountView['settings']): string[] {
  return [
    `Sizing: ${sizingText(settings)} · max position ${settings.maxPositionUsd} USD · leverage ${settings.leverage}x`,
    `Limits: ${settings.maxDailyTrades} trades/day · daily loss ${settings.maxDailyLossPct} % · risk ${settings.riskPerTradePct} %${settings.stopOnLoss ? ' · stops on loss' : ''}`,
    `Symbols: ${settings.symbolAllow.length > 0 ? `only ${settings.symbolAllow.join(', ')}` : 'all'}${settings.symbolBlock.length > 0 ? ` · blocked ${settings.symbolBlock.join(', ')}` : ''} · amounts in feed: ${settings.shareAmounts ? 'shown' : 'hidden'}`,
  ];
}

function accountField(account: AccountView): APIEmbedField {
  const balance =
    account.lastBalanceUsd === null ? '—' : `${formatMoney(account.lastBalanceUsd, 'USD')} (${formatDate(account.balanceAt)})`;
  return {
    name: truncate(`${account.name} — ${account.exchangeId} ${account.marketType} · ${MODE_TEXT[account.mode]}`, DISCORD_LIMITS.fieldName),
    value: truncate(
      [statusText(account), `Key: ${keyText(account)} · last balance: ${balance}`, ...settingsLines(account.settings)].join('\n'),
      DISCORD_LIMITS.fieldValue,
    ),
  };
}

/** One page of the caller's accounts (only their own, ephemeral). */
export function renderAccountList(accounts: readonly AccountView[], page = 0): APIEmbed {
  if (accounts.length === 0) {
    return {
      title: 'Your exchange accounts',
      description: 'You have no accounts on this server yet. Add one with `/account add` (paper mode needs no key).',
      color: COLORS.brand,
    };
  }
  const pages = Math.max(1, Math.ceil(accounts.length / ACCOUNTS_PER_PAGE));
  const current = Math.min(Math.max(0, page), pages - 1);
  const shown = accounts.slice(current * ACCOUNTS_PER_PAGE, (current + 1) * ACCOUNTS_PER_PAGE);
  return {
    title: `Your exchange accounts (${accounts.length})`,
    description: 'Only you see this. Keys are never shown, only their first and last four characters.',
    color: COLORS.brand,
    fields: shown.map(accountField),
    ...(pages > 1 ? { footer: { text: `Page ${current + 1} of ${pages}` } } : {}),
  };
}

export function renderAccountCard(account: AccountView, title?: string): APIEmbed {
  return {
    title: truncate(title ?? `${account.name}`, DISCORD_LIMITS.title),
    color: account.enabled ? COLORS.green : COLORS.grey,
    fields: [accountField(account)],
  };
}

const balanceLine = (balance: BalanceView | null) =>
  balance ? `${formatMoney(balance.free, balance.currency)} available · ${formatMoney(balance.equity, balance.currency)} equity` : 'not available yet';

/** The answer to /account add's form: masked key, balance, permission audit — or why nothing was stored. */
export function renderAddResult(result: AddAccountResult): APIEmbed {
  if (result.kind === 'refused') {
    return {
      title: '❌ Key refused — nothing was stored',
      description: truncate([result.reason, ...result.notes.map((note) => `• ${note}`)].join('\n'), DISCORD_LIMITS.description),
      color: COLORS.red,
    };
  }
  const { account } = result;
  const lines = [
    `**${escapeMarkdown(account.name)}** — ${account.exchangeId} ${account.marketType} · ${account.mode}`,
    `Key: ${keyText(account)}`,
    `Balance: ${balanceLine(result.balance)}`,
  ];
  if (result.auditNotes.length > 0) lines.push('', '**Permission check**', ...result.auditNotes.map((note) => `• ${note}`));
  else if (account.mode !== 'paper') lines.push('', '**Permission check**: trading allowed, withdrawals disabled.');
  if (result.problems.length > 0) lines.push('', '**Before trading**', ...result.problems.map((p) => `• ${p}`));
  lines.push(
    '',
    account.needsConfirmation
      ? `${account.exchangeId} cannot report whether this key can withdraw. Confirm with the button below that withdrawals are disabled before trading live.`
      : 'The account is **disabled** until you enable it: `/account toggle` or the button below.',
  );
  return {
    title: '✅ Account added',
    description: truncate(lines.join('\n'), DISCORD_LIMITS.description),
    color: COLORS.green,
    ...(account.mode === 'paper' ? {} : { footer: { text: 'Your key is encrypted at rest and never shown again.' } }),
  };
}

export function renderVerifyResult(result: VerifyResult): APIEmbed {
  if (result.kind === 'failed') {
    return {
      title: `❌ ${result.account.name}: verification failed`,
      description: truncate(
        [result.reason, ...result.notes.map((note) => `• ${note}`), '', statusText(result.account)].join('\n'),
        DISCORD_LIMITS.description,
      ),
      color: COLORS.red,
    };
  }
  const lines = [`Key: ${keyText(result.account)}`, `Balance: ${balanceLine(result.balance)}`];
  if (result.auditNotes.length > 0) lines.push(...result.auditNotes.map((note) => `• ${note}`));
  if (result.problems.length > 0) lines.push('**Before trading**', ...result.problems.map((p) => `• ${p}`));
  lines.push(statusText(result.account));
  return {
    title: `✅ ${result.account.name}: key verified`,
    description: truncate(lines.join('\n'), DISCORD_LIMITS.description),
    color: COLORS.green,
  };
}

export function renderSettings(account: AccountView, changed: boolean): APIEmbed {
  return {
    title: truncate(`${changed ? '✅ Settings saved' : 'Settings'}: ${account.name}`, DISCORD_LIMITS.title),
    description: settingsLines(account.settings).join('\n'),
    color: COLORS.brand,
    footer: {
      text: 'Ranges: max position 10–100000 USD · leverage 1–125 · trades/day 1–50 · risk 0.1–10 % · daily loss 1–20 %',
    },
  };
}
