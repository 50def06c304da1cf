/**
 * /account: add (an ephemeral modal for the key), list, toggle, settings, verify, remove. The
 * handlers are here; the buttons, modals and prompts are in src/discord/accountComponents.ts.
 */
import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  ModalSubmitInteraction,
  SlashCommandStringOption,
} from 'discord.js';
import type { CommandContext, CustomId } from '../src/discord/command';
import {
  ACCOUNT_COMMAND,
  accountButtons,
  addModal,
  cardMessage,
  listMessage,
  parseSizing,
  range,
  readNumber,
  removePrompt,
  settingsModal,
} from '../src/discord/accountComponents';
import { renderAddResult, renderSettings, renderVerifyResult } from '../src/discord/embeds/accounts';
import { COLORS } from '../src/discord/embeds/format';
import { EPHEMERAL, guildOf } from '../src/discord/interaction';
import type { SettingsInput } from '../src/services/accounts';
import { invalid } from '../src/services/errors';
import { Secret } from '../src/vault/secret';

const NAME = ACCOUNT_COMMAND;
export { parseSizing };

const accountOption = (o: SlashCommandStringOption) =>
  o.setName('account').setDescription('One of your accounts').setRequired(true).setAutocomplete(true);

export const data = new SlashCommandBuilder()
  .setName(NAME)
  .setDescription('Your exchange accounts: add, list, enable, settings, verify, remove')
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) =>
    s
      .setName('add')
      .setDescription('Add an exchange account (opens a private form for the API key)')
      .addStringOption((o) =>
        o
          .setName('exchange')
          .setDescription('Exchange')
          .setRequired(true)
          .setAutocomplete(true)
          .setMaxLength(40),
      )
      .addStringOption((o) =>
        o
          .setName('type')
          .setDescription('Market type')
          .setRequired(true)
          .addChoices({ name: 'Spot', value: 'spot' }, { name: 'Futures (USDT-margined)', value: 'futures' }),
      )
      .addStringOption((o) =>
        o
          .setName('mode')
          .setDescription('Live money, the exchange demo/testnet, or paper trading (no key)')
          .setRequired(true)
          .addChoices(
            { name: 'Live', value: 'live' },
            { name: 'Demo / testnet', value: 'demo' },
            { name: 'Paper (no key)', value: 'paper' },
          ),
      ),
  )
  .addSubcommand((s) => s.setName('list').setDescription('Your accounts, with buttons to manage them'))
  .addSubcommand((s) =>
    s
      .setName('toggle')
      .setDescription('Enable or disable one of your accounts')
      .addStringOption(accountOption),
  )
  .addSubcommand((s) =>
    s
      .setName('settings')
      .setDescription('Show or change the settings of one of your accounts')
      .addStringOption(accountOption)
      .addStringOption((o) =>
        o
          .setName('sizing_mode')
          .setDescription('How each trade is sized')
          .addChoices(
            { name: 'Fixed USD margin', value: 'fixed' },
            { name: '% of balance', value: 'percent' },
            { name: 'Risk % of equity to the stop', value: 'risk' },
            { name: 'Kelly (from closed trades)', value: 'kelly' },
          ),
      )
      .addNumberOption((o) =>
        o
          .setName('sizing_value')
          .setDescription('Fixed: USD 1–100000 · percent: 0.1–100 % · kelly: fallback USD'),
      )
      .addNumberOption((o) =>
        o.setName('max_position').setDescription(`Max margin per position, ${range('maxPositionUsd')}`),
      )
      .addIntegerOption((o) => o.setName('leverage').setDescription(`Leverage, ${range('leverage')}`))
      .addIntegerOption((o) =>
        o
          .setName('max_daily_trades')
          .setDescription(`Max new trades per UTC day, ${range('maxDailyTrades')}`),
      )
      .addNumberOption((o) =>
        o.setName('risk').setDescription(`Risk per trade (risk sizing), ${range('riskPerTradePct')}`),
      )
      .addNumberOption((o) =>
        o
          .setName('max_daily_loss')
          .setDescription(`Stop new entries after this daily loss, ${range('maxDailyLossPct')}`),
      )
      .addBooleanOption((o) =>
        o
          .setName('stop_on_loss')
          .setDescription('Pause the account for the day when the daily loss limit is hit'),
      )
      .addStringOption((o) =>
        o
          .setName('allow')
          .setDescription('Only these coins, e.g. "BTC, ETH" ("none" clears)')
          .setMaxLength(500),
      )
      .addStringOption((o) =>
        o.setName('block').setDescription('Never these coins, e.g. "DOGE" ("none" clears)').setMaxLength(500),
      )
      .addBooleanOption((o) =>
        o.setName('share_amounts').setDescription('Show quantities and notional in the channel feed'),
      )
      .addBooleanOption((o) =>
        o
          .setName('strategy')
          .setDescription("Take the built-in strategy's signals (an example, off by default)"),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('exposure-cap')
      .setDescription('Cap your open exposure per coin across all your accounts (shows it without a value)')
      .addNumberOption((o) =>
        o
          .setName('usd')
          .setDescription('Notional USD per coin; 0 turns the cap off')
          .setMinValue(0)
          .setMaxValue(10_000_000),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('verify')
      .setDescription('Check the key again: balance and permissions')
      .addStringOption(accountOption),
  )
  .addSubcommand((s) =>
    s
      .setName('remove')
      .setDescription('Remove one of your accounts and its encrypted key')
      .addStringOption(accountOption),
  );

// ----- handlers -----------------------------------------------------------------------------------

export async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const accounts = ctx.services.accounts;
  const guildId = guildOf(interaction);
  const ownerId = interaction.user.id;
  const sub = interaction.options.getSubcommand();

  if (sub === 'add') {
    const form = accounts.describeNew({
      exchangeId: interaction.options.getString('exchange', true),
      marketType: interaction.options.getString('type', true),
      mode: interaction.options.getString('mode', true),
    });
    await interaction.showModal(addModal(form));
    return;
  }
  if (sub === 'list') {
    await interaction.reply({ ...listMessage(await accounts.list(ownerId, guildId), 0), flags: EPHEMERAL });
    return;
  }
  if (sub === 'exposure-cap') {
    const usd = interaction.options.getNumber('usd');
    const members = ctx.services.members;
    const cap =
      usd === null ? await members.exposureCap(ownerId) : await members.setExposureCap(ownerId, usd);
    const state =
      cap === null
        ? 'off: each account only has its own limits'
        : `${cap.toLocaleString('en-US')} USD of notional per coin, across all your accounts`;
    await interaction.reply({
      content: `${usd === null ? 'Your exposure cap' : '✅ Exposure cap set'}: ${state}. New entries that would go past it are skipped with the reason "exposure cap".`,
      flags: EPHEMERAL,
    });
    return;
  }
  const accountId = interaction.options.getString('account', true);
  if (sub === 'toggle') {
    const account = await accounts.toggle({ ownerId, guildId }, accountId);
    await interaction.reply({
      ...cardMessage(account, `${account.enabled ? '✅ Enabled' : '⏹️ Disabled'}: ${account.name}`),
      flags: EPHEMERAL,
    });
    return;
  }
  if (sub === 'settings') {
    const o = interaction.options;
    const input: SettingsInput = {};
    const num = (name: string) => o.getNumber(name) ?? undefined;
    const int = (name: string) => o.getInteger(name) ?? undefined;
    const set = <K extends keyof SettingsInput>(key: K, value: SettingsInput[K] | undefined | null) => {
      if (value !== undefined && value !== null) input[key] = value;
    };
    set('sizingMode', o.getString('sizing_mode'));
    set('sizingValue', num('sizing_value'));
    set('maxPositionUsd', num('max_position'));
    set('leverage', int('leverage'));
    set('maxDailyTrades', int('max_daily_trades'));
    set('riskPerTradePct', num('risk'));
    set('maxDailyLossPct', num('max_daily_loss'));
    set('stopOnLoss', o.getBoolean('stop_on_loss'));
    set('symbolAllow', o.getString('allow'));
    set('symbolBlock', o.getString('block'));
    set('shareAmounts', o.getBoolean('share_amounts'));
    set('strategyOptIn', o.getBoolean('strategy'));
    const changed = Object.keys(input).length > 0;
    const account = changed
      ? await accounts.updateSettings({ ownerId, guildId }, accountId, input)
      : await accounts.get({ ownerId, guildId }, accountId);
    await interaction.reply({ embeds: [renderSettings(account, changed)], flags: EPHEMERAL });
    return;
  }
  if (sub === 'verify') {
    await accounts.get({ ownerId, guildId }, accountId);
    await interaction.deferReply({ flags: EPHEMERAL });
    const result = await accounts.verify({ ownerId, guildId }, accountId);
    await interaction.editReply({
      embeds: [renderVerifyResult(result)],
      components: [accountButtons(result.account, 'card')],
    });
    return;
  }
  if (sub === 'remove') {
    const account = await accounts.get({ ownerId, guildId }, accountId);
    await interaction.reply({ ...removePrompt(account), flags: EPHEMERAL });
    return;
  }
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const typed = String(focused.value ?? '');
  if (focused.name === 'exchange') {
    const query = typed.trim().toLowerCase();
    const ids = ctx.services.exchanges.ids();
    const starts = ids.filter((id) => id.startsWith(query));
    const contains = ids.filter((id) => !id.startsWith(query) && id.includes(query));
    await interaction.respond([...starts, ...contains].slice(0, 25).map((id) => ({ name: id, value: id })));
    return;
  }
  if (focused.name === 'account') {
    if (!interaction.guildId) return interaction.respond([]);
    await interaction.respond(
      await ctx.services.accounts.suggest(interaction.user.id, interaction.guildId, typed),
    );
    return;
  }
  await interaction.respond([]);
}

export async function button(
  interaction: ButtonInteraction,
  ctx: CommandContext,
  id: CustomId,
): Promise<void> {
  const accounts = ctx.services.accounts;
  const guildId = guildOf(interaction);
  const ownerId = interaction.user.id;
  const [target = '', extra] = id.args;
  const refreshList = async (page: number) =>
    interaction.update(listMessage(await accounts.list(ownerId, guildId), page));

  switch (id.action) {
    case 'page':
      await refreshList(Number(target) || 0);
      return;
    case 'toggle': {
      const account = await accounts.toggle({ ownerId, guildId }, target);
      if (extra === 'card')
        await interaction.update(
          cardMessage(account, `${account.enabled ? '✅ Enabled' : '⏹️ Disabled'}: ${account.name}`),
        );
      else await refreshList(Number(extra) || 0);
      return;
    }
    case 'confirm': {
      const account = await accounts.confirmNoWithdrawals({ ownerId, guildId }, target);
      if (extra === 'card') await interaction.update(cardMessage(account, `Confirmed: ${account.name}`));
      else await refreshList(Number(extra) || 0);
      return;
    }
    case 'verify': {
      await accounts.get({ ownerId, guildId }, target);
      await interaction.deferReply({ flags: EPHEMERAL });
      const result = await accounts.verify({ ownerId, guildId }, target);
      await interaction.editReply({ embeds: [renderVerifyResult(result)] });
      return;
    }
    case 'settings':
      await interaction.showModal(settingsModal(await accounts.get({ ownerId, guildId }, target)));
      return;
    case 'remove':
      await interaction.reply({
        ...removePrompt(await accounts.get({ ownerId, guildId }, target)),
        flags: EPHEMERAL,
      });
      return;
    case 'remove-yes': {
      const removed = await accounts.remove({ ownerId, guildId }, target);
      await interaction.update({
        embeds: [
          {
            title: `🗑️ Removed ${removed.name}`,
            description: 'The account and its encrypted key are deleted.',
            color: COLORS.grey,
          },
        ],
        components: [],
      });
      return;
    }
    case 'remove-no': {
      const account = await accounts.get({ ownerId, guildId }, target);
      await interaction.update({
        embeds: [{ title: `Kept ${account.name}`, color: COLORS.grey }],
        components: [],
      });
      return;
    }
    default:
      throw invalid('This button is not available any more. Run /account list again.');
  }
}

export async function modal(
  interaction: ModalSubmitInteraction,
  ctx: CommandContext,
  id: CustomId,
): Promise<void> {
  const accounts = ctx.services.accounts;
  const guildId = guildOf(interaction);
  const ownerId = interaction.user.id;
  const field = (name: string): string | null => {
    try {
      return interaction.fields.getTextInputValue(name);
    } catch {
      return null;
    }
  };

  if (id.action === 'add') {
    const [exchangeId = '', marketType = '', mode = ''] = id.args;
    // Ephemeral from the first response: the key flow never shows anything in the channel.
    await interaction.deferReply({ flags: EPHEMERAL });
    const apiKey = field('api_key');
    const secret = field('secret');
    const passphrase = field('passphrase');
    const result = await accounts.add({
      ownerId,
      guildId,
      name: field('name') ?? '',
      exchangeId,
      marketType,
      mode,
      ...(apiKey !== null && secret !== null
        ? {
            credentials: {
              apiKey: new Secret(apiKey),
              secret: new Secret(secret),
              ...(passphrase !== null ? { passphrase: new Secret(passphrase) } : {}),
            },
          }
        : {}),
    });
    await interaction.editReply({
      embeds: [renderAddResult(result)],
      components: result.kind === 'added' ? [accountButtons(result.account, 'card')] : [],
    });
    return;
  }
  if (id.action === 'settings') {
    const [accountId = ''] = id.args;
    const input: SettingsInput = {
      ...parseSizing(field('sizing') ?? ''),
    };
    const maxPosition = readNumber(field('max_position') ?? '', 'Max position');
    const leverage = readNumber(field('leverage') ?? '', 'Leverage');
    const trades = readNumber(field('max_daily_trades') ?? '', 'Max trades per day');
    const loss = readNumber(field('max_daily_loss') ?? '', 'Max daily loss');
    if (maxPosition !== undefined) input.maxPositionUsd = maxPosition;
    if (leverage !== undefined) input.leverage = leverage;
    if (trades !== undefined) input.maxDailyTrades = trades;
    if (loss !== undefined) input.maxDailyLossPct = loss;
    const account = await accounts.updateSettings({ ownerId, guildId }, accountId, input);
    await interaction.reply({ embeds: [renderSettings(account, true)], flags: EPHEMERAL });
    return;
  }
  throw invalid('This form is not available any more. Run the command again.');
}
