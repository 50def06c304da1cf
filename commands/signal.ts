import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { AutocompleteInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { CommandContext } from '../src/discord/command';
import { COLORS } from '../src/discord/embeds/format';
import { renderSignalQueued } from '../src/discord/embeds/views';
import { EPHEMERAL, guildOf, isAdmin, memberRoleIds } from '../src/discord/interaction';

export const data = new SlashCommandBuilder()
  .setName('signal')
  .setDescription('Publish or withdraw a trading signal (caller role)')
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) =>
    s
      .setName('post')
      .setDescription('Publish a signal: it runs on every enabled account of the server')
      .addStringOption((o) => o.setName('symbol').setDescription('Pair, e.g. BTC/USDT or BTC').setRequired(true).setMaxLength(30))
      .addStringOption((o) =>
        o.setName('side').setDescription('Long or short').setRequired(true).addChoices({ name: 'Long', value: 'long' }, { name: 'Short', value: 'short' }),
      )
      .addNumberOption((o) => o.setName('stop').setDescription('Stop-loss price').setRequired(true))
      .addStringOption((o) => o.setName('entry').setDescription('"market" (default), a price, or several: 64000, 64500').setMaxLength(200))
      .addStringOption((o) => o.setName('take_profits').setDescription('Take-profit prices, e.g. 66000, 67000').setMaxLength(300))
      .addIntegerOption((o) => o.setName('leverage').setDescription('Leverage 1–125 (default: each account\'s own)').setMinValue(1).setMaxValue(125)),
  )
  .addSubcommand((s) =>
    s
      .setName('cancel')
      .setDescription('Withdraw a signal you published: pending accounts skip it, unfilled entries are cancelled')
      .addStringOption((o) => o.setName('signal').setDescription('One of your pending signals').setRequired(true).setAutocomplete(true)),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const guildId = guildOf(interaction);
  const sub = interaction.options.getSubcommand();
  await interaction.deferReply({ flags: EPHEMERAL });
  if (sub === 'cancel') {
    const cancelled = await ctx.services.signals.cancel({
      guildId,
      authorId: interaction.user.id,
      signalId: interaction.options.getString('signal', true),
    });
    await interaction.editReply({
      embeds: [{ title: `🛑 ${cancelled.symbol} signal withdrawn`, description: 'Accounts that had not traded it skip it; unfilled entries are cancelled.', color: COLORS.grey }],
    });
    return;
  }
  const o = interaction.options;
  const queued = await ctx.services.signals.post({
    guildId,
    channelId: interaction.channelId,
    authorId: interaction.user.id,
    interactionId: interaction.id,
    memberRoleIds: memberRoleIds(interaction),
    isAdmin: isAdmin(interaction),
    symbol: o.getString('symbol', true),
    side: o.getString('side', true),
    stop: o.getNumber('stop', true),
    entry: o.getString('entry') ?? 'market',
    takeProfits: o.getString('take_profits') ?? '',
    leverage: o.getInteger('leverage'),
  });
  await interaction.editReply({ embeds: [renderSignalQueued(queued)] });
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'signal' || !interaction.guildId) return interaction.respond([]);
  const choices = await ctx.services.signals.cancellable(interaction.guildId, interaction.user.id, String(focused.value ?? ''));
  await interaction.respond(choices.map((c) => ({ name: c.name.slice(0, 100), value: c.value })));
}
