import { AttachmentBuilder, InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { AutocompleteInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { CommandContext } from '../src/discord/command';
import { renderReconciliation } from '../src/discord/embeds/reconcile';
import { renderPnl } from '../src/discord/embeds/views';
import { EPHEMERAL, guildOf } from '../src/discord/interaction';
import { noChartReason, PNL_CHART_FILE } from '../src/services/pnlChart';

export const data = new SlashCommandBuilder()
  .setName('pnl')
  .setDescription('Your profit and loss per account and in total (only you see it)')
  .setContexts(InteractionContextType.Guild)
  .addStringOption((o) =>
    o
      .setName('period')
      .setDescription('Period (default: today)')
      .addChoices(
        { name: 'Today (UTC)', value: 'day' },
        { name: 'Last 7 days', value: 'week' },
        { name: 'Last 30 days', value: 'month' },
        { name: 'All time', value: 'all' },
      ),
  )
  .addStringOption((o) => o.setName('account').setDescription('Only this account').setAutocomplete(true))
  .addBooleanOption((o) => o.setName('check').setDescription("Compare the account's last closed positions with the exchange's own records"));

export async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const guildId = guildOf(interaction);
  // Current prices come from the exchanges: answer within 3 seconds, then fill in.
  await interaction.deferReply({ flags: EPHEMERAL });
  const query = {
    ownerId: interaction.user.id,
    guildId,
    period: interaction.options.getString('period'),
    accountId: interaction.options.getString('account'),
  };
  if (interaction.options.getBoolean('check')) {
    await interaction.editReply({ embeds: [renderReconciliation(await ctx.services.reconcile.check(query))] });
    return;
  }
  const [report, chart] = await Promise.all([
    ctx.services.pnl.report(query),
    // The chart is a bonus: without it the numbers still answer.
    ctx.services.pnlChart.chart(query).catch((error: unknown) => {
      ctx.log.warn({ err: error }, 'pnl chart failed');
      return null;
    }),
  ]);
  const embed = renderPnl(report);
  // No chart is said, never just missing.
  const withoutChart = { ...embed, footer: { text: [embed.footer?.text, noChartReason(report.period)].filter(Boolean).join(' · ') } };
  await interaction.editReply(
    chart
      ? { embeds: [{ ...embed, image: { url: `attachment://${PNL_CHART_FILE}` } }], files: [new AttachmentBuilder(chart, { name: PNL_CHART_FILE })] }
      : { embeds: [withoutChart] },
  );
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'account' || !interaction.guildId) return interaction.respond([]);
  await interaction.respond(await ctx.services.accounts.suggest(interaction.user.id, interaction.guildId, String(focused.value ?? '')));
}
