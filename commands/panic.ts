import { ActionRowBuilder, ButtonBuilder, ButtonStyle, InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { AutocompleteInteraction, ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { CommandContext, CustomId } from '../src/discord/command';
import { customId } from '../src/discord/command';
import { COLORS } from '../src/discord/embeds/format';
import { renderPanicPrompt, renderPanicResult } from '../src/discord/embeds/panic';
import { EPHEMERAL, guildOf } from '../src/discord/interaction';
import { invalid } from '../src/services/errors';

const NAME = 'panic';
const ALL = 'all';

export const data = new SlashCommandBuilder()
  .setName(NAME)
  .setDescription('Emergency: cancel the bot’s open orders and close its positions on your accounts')
  .setContexts(InteractionContextType.Guild)
  .addStringOption((o) => o.setName('account').setDescription('Only this account (default: all of yours)').setAutocomplete(true));

export async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const guildId = guildOf(interaction);
  const accountId = interaction.options.getString('account');
  const targets = await ctx.services.panic.preview(interaction.user.id, guildId, accountId);
  if (targets.length === 0) {
    await interaction.reply({ embeds: [{ title: 'No accounts', description: 'You have no accounts in this server.', color: COLORS.grey }], flags: EPHEMERAL });
    return;
  }
  const scope = accountId === null ? ALL : (targets[0]?.accountId ?? ALL);
  await interaction.reply({
    embeds: [renderPanicPrompt(targets)],
    components: [
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId(customId(NAME, 'yes', scope)).setLabel('Cancel orders and close positions').setStyle(ButtonStyle.Danger),
        new ButtonBuilder().setCustomId(customId(NAME, 'no', scope)).setLabel('Keep everything').setStyle(ButtonStyle.Secondary),
      ),
    ],
    flags: EPHEMERAL,
  });
}

export async function button(interaction: ButtonInteraction, ctx: CommandContext, id: CustomId): Promise<void> {
  const scope = id.args[0] ?? ALL;
  switch (id.action) {
    case 'yes': {
      // Closing at market may take a few exchange round trips: acknowledge first.
      await interaction.deferUpdate();
      // Scoped by whoever pressed the button: only the caller's own accounts are ever touched.
      const results = await ctx.services.panic.run(interaction.user.id, guildOf(interaction), scope === ALL ? null : scope);
      await interaction.editReply({ embeds: [renderPanicResult(results)], components: [] });
      return;
    }
    case 'no':
      await interaction.update({ embeds: [{ title: 'Nothing was touched', color: COLORS.grey }], components: [] });
      return;
    default:
      throw invalid('This button is not available any more. Run /panic again.');
  }
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'account' || !interaction.guildId) return interaction.respond([]);
  await interaction.respond(await ctx.services.accounts.suggest(interaction.user.id, interaction.guildId, String(focused.value ?? '')));
}
