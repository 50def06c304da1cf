/**
 * /account's Discord components: the account list and card with their buttons, the add and settings
 * modals, the removal prompt, and the settings modal's sizing field read back. The handlers are in
 * commands/account.ts.
 */
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, LabelBuilder, ModalBuilder, TextInputBuilder, TextInputStyle } from 'discord.js';
import type { AccountView, SettingsInput } from '../services/accounts';
import { SETTING_RANGES, SIZING_MODES } from '../services/accounts';
import { invalid } from '../services/errors';
import { customId } from './command';
import { ACCOUNTS_PER_PAGE, renderAccountCard, renderAccountList } from './embeds/accounts';
import { COLORS, escapeMarkdown, truncate } from './embeds/format';

/** The command's name, the first part of its components' custom ids. */
export const ACCOUNT_COMMAND = 'account';

/** A setting's allowed range in words ("1–125x"). */
export const range = (key: keyof typeof SETTING_RANGES) => {
  const r = SETTING_RANGES[key];
  return `${r.min}–${r.max}${r.unit}`;
};

export function accountButtons(account: AccountView, page: number | 'card'): ActionRowBuilder<ButtonBuilder> {
  const label = (text: string) => truncate(`${text} · ${account.name}`, 80);
  const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(customId(ACCOUNT_COMMAND, 'toggle', account.id, page))
      .setLabel(label(account.enabled ? 'Disable' : 'Enable'))
      .setStyle(account.enabled ? ButtonStyle.Secondary : ButtonStyle.Success),
    new ButtonBuilder()
      .setCustomId(customId(ACCOUNT_COMMAND, 'verify', account.id))
      .setLabel(label('Verify'))
      .setStyle(ButtonStyle.Primary),
    new ButtonBuilder()
      .setCustomId(customId(ACCOUNT_COMMAND, 'settings', account.id))
      .setLabel(label('Settings'))
      .setStyle(ButtonStyle.Secondary),
    new ButtonBuilder()
      .setCustomId(customId(ACCOUNT_COMMAND, 'remove', account.id))
      .setLabel(label('Remove'))
      .setStyle(ButtonStyle.Danger),
  );
  if (account.needsConfirmation) {
    row.addComponents(
      new ButtonBuilder()
        .setCustomId(customId(ACCOUNT_COMMAND, 'confirm', account.id, page))
        .setLabel('Withdrawals are off')
        .setStyle(ButtonStyle.Success),
    );
  }
  return row;
}

export function listMessage(accounts: readonly AccountView[], page: number) {
  const pages = Math.max(1, Math.ceil(accounts.length / ACCOUNTS_PER_PAGE));
  const current = Math.min(Math.max(0, page), pages - 1);
  const shown = accounts.slice(current * ACCOUNTS_PER_PAGE, (current + 1) * ACCOUNTS_PER_PAGE);
  const components = shown.map((account) => accountButtons(account, current));
  if (pages > 1) {
    components.push(
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder()
          .setCustomId(customId(ACCOUNT_COMMAND, 'page', current - 1))
          .setLabel('Previous')
          .setStyle(ButtonStyle.Secondary)
          .setDisabled(current === 0),
        new ButtonBuilder()
          .setCustomId(customId(ACCOUNT_COMMAND, 'page', current + 1))
          .setLabel('Next')
          .setStyle(ButtonStyle.Secondary)
          .setDisabled(current >= pages - 1),
      ),
    );
  }
  return { embeds: [renderAccountList(accounts, current)], components };
}

export function cardMessage(account: AccountView, title?: string) {
  return { embeds: [renderAccountCard(account, title)], components: [accountButtons(account, 'card')] };
}

export function addModal(form: {
  exchangeId: string;
  marketType: string;
  mode: string;
  needsKey: boolean;
  needsPassphrase: boolean;
}) {
  const input = (id: string, style: TextInputStyle, max: number, placeholder?: string) => {
    const builder = new TextInputBuilder()
      .setCustomId(id)
      .setStyle(style)
      .setRequired(true)
      .setMaxLength(max);
    return placeholder ? builder.setPlaceholder(placeholder) : builder;
  };
  const modal = new ModalBuilder()
    .setCustomId(customId(ACCOUNT_COMMAND, 'add', form.exchangeId, form.marketType, form.mode))
    .setTitle(truncate(`Add ${form.exchangeId} ${form.marketType} (${form.mode})`, 45))
    .addLabelComponents(
      new LabelBuilder()
        .setLabel('Account name')
        .setDescription('Your name for it, e.g. main or scalping')
        .setTextInputComponent(input('name', TextInputStyle.Short, 32).setMinLength(1)),
    );
  if (form.needsKey) {
    modal.addLabelComponents(
      new LabelBuilder()
        .setLabel('API key')
        .setDescription('Trading and reading only; keys that can withdraw are refused')
        .setTextInputComponent(input('api_key', TextInputStyle.Short, 256).setMinLength(8)),
      new LabelBuilder()
        .setLabel('API secret')
        .setDescription('Encrypted before it is stored, never shown again')
        .setTextInputComponent(input('secret', TextInputStyle.Short, 512).setMinLength(8)),
    );
    if (form.needsPassphrase) {
      modal.addLabelComponents(
        new LabelBuilder()
          .setLabel('API passphrase')
          .setDescription(`${form.exchangeId} keys come with one`)
          .setTextInputComponent(input('passphrase', TextInputStyle.Short, 256)),
      );
    }
  }
  return modal;
}

export function settingsModal(account: AccountView) {
  const s = account.settings;
  const sizing = s.sizingMode === 'risk' ? `risk ${s.riskPerTradePct}` : `${s.sizingMode} ${s.sizingValue}`;
  const field = (id: string, label: string, description: string, value: string) =>
    new LabelBuilder()
      .setLabel(label)
      .setDescription(description)
      .setTextInputComponent(
        new TextInputBuilder()
          .setCustomId(id)
          .setStyle(TextInputStyle.Short)
          .setRequired(false)
          .setMaxLength(40)
          .setValue(value),
      );
  return new ModalBuilder()
    .setCustomId(customId(ACCOUNT_COMMAND, 'settings', account.id))
    .setTitle(truncate(`Settings: ${account.name}`, 45))
    .addLabelComponents(
      field('sizing', 'Sizing', 'fixed <USD>, percent <%>, risk <%> or kelly <fallback USD>', sizing),
      field('max_position', 'Max position (USD)', range('maxPositionUsd'), String(s.maxPositionUsd)),
      field('leverage', 'Leverage', range('leverage'), String(s.leverage)),
      field('max_daily_trades', 'Max trades per day', range('maxDailyTrades'), String(s.maxDailyTrades)),
      field('max_daily_loss', 'Max daily loss (%)', range('maxDailyLossPct'), String(s.maxDailyLossPct)),
    );
}

export function readNumber(text: string, label: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed.replace(',', '.').replace(/\s*(usd|%|x)$/i, ''));
  if (!Number.isFinite(value))
    throw invalid(`${label} must be a number (you gave "${truncate(trimmed, 20)}").`);
  return value;
}

/** "fixed 100", "percent 5", "risk 1.5", "kelly 50" → settings. */
export function parseSizing(text: string): SettingsInput {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  const [mode = '', value = ''] = trimmed.split(/\s+/);
  const sizingMode = SIZING_MODES.find((m) => m === mode.toLowerCase());
  if (!sizingMode)
    throw invalid(`Sizing must start with one of: ${SIZING_MODES.join(', ')} (e.g. "fixed 100").`);
  const number = readNumber(value, 'Sizing value');
  if (sizingMode === 'risk')
    return { sizingMode, ...(number === undefined ? {} : { riskPerTradePct: number }) };
  return { sizingMode, ...(number === undefined ? {} : { sizingValue: number }) };
}

export function removePrompt(account: AccountView) {
  return {
    embeds: [
      {
        title: `Remove ${account.name}?`,
        description: `This deletes **${escapeMarkdown(account.name)}** (${account.exchangeId} ${account.marketType}, ${account.mode}) and its encrypted key. Its orders and positions on the exchange are not touched. This cannot be undone.`,
        color: COLORS.red,
      },
    ],
    components: [
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder()
          .setCustomId(customId(ACCOUNT_COMMAND, 'remove-yes', account.id))
          .setLabel('Remove')
          .setStyle(ButtonStyle.Danger),
        new ButtonBuilder()
          .setCustomId(customId(ACCOUNT_COMMAND, 'remove-no', account.id))
          .setLabel('Keep it')
          .setStyle(ButtonStyle.Secondary),
      ),
    ],
  };
}
