import { ActionRowBuilder, ButtonBuilder, ButtonStyle, InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { AutocompleteInteraction, ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { CommandContext, CustomId } from '../src/discord/command';
import { customId } from '../src/discord/command';
import { renderOrdersPage } from '../src/discord/embeds/views';
import { EPHEMERAL, guildOf } from '../src/discord/interaction';
import type { OrdersPage } from '../src/services/orders';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ORDER_FILTER_NAMES } from '../src/services/orders';

const NAME = 'orders';

export const data = new SlashCommandBuilder()
  .setName(NAME)
  .setDescription('Your orders, newest first (only you see them)')
  .setContexts(InteractionContextType.Guild)
  .addStringOption((o) => o.setName('account').setDescription('Only this account').setAutocomplete(true))
  .addStringOption((o) =>
    o
      .setName('status')
      .setDescription('Only orders in this state')
      .addChoices(...ORDER_FILTER_NAMES.map((name) => ({ name, value: name }))),
  )
  .addIntegerOption((o) => o.setName('limit').setDescription(`Orders per page (1–${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE})`).setMinValue(1).setMaxValue(MAX_PAGE_SIZE));

function pageMessage(page: OrdersPage) {
  const id = (target: number) => customId(NAME, 'page', target, page.limit, page.accountId ?? '-', page.status ?? '-');
  const components =
    page.pages > 1
      ? [
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder().setCustomId(id(page.page - 1)).setLabel('Newer').setStyle(ButtonStyle.Secondary).setDisabled(page.page === 0),
            new ButtonBuilder()
              .setCustomId(id(page.page + 1))
              .setLabel('Older')
              .setStyle(ButtonStyle.Secondary)
              .setDisabled(page.page >= page.pages - 1),
          ),
        ]
      : [];
  return { embeds: [renderOrdersPage(page)], components };
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const page = await ctx.services.orders.page({
    ownerId: interaction.user.id,
    guildId: guildOf(interaction),
    accountId: interaction.options.getString('account'),
    status: interaction.options.getString('status'),
    limit: interaction.options.getInteger('limit'),
    page: 0,
  });
  await interaction.reply({ ...pageMessage(page), flags: EPHEMERAL });
}

export async function button(interaction: ButtonInteraction, ctx: CommandContext, id: CustomId): Promise<void> {
  const [page = '0', limit = String(DEFAULT_PAGE_SIZE), account = '-', status = '-'] = id.args;
  const result = await ctx.services.orders.page({
    ownerId: interaction.user.id,
    guildId: guildOf(interaction),
    accountId: account === '-' ? null : account,
    status: status === '-' ? null : status,
    limit: Number(limit),
    page: Math.max(0, Number(page) || 0),
  });
  await interaction.update(pageMessage(result));
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'account' || !interaction.guildId) return interaction.respond([]);
  await interaction.respond(await ctx.services.accounts.suggest(interaction.user.id, interaction.guildId, String(focused.value ?? '')));
}
