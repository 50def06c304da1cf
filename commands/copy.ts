import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { AutocompleteInteraction, ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { CommandContext, CustomId } from '../src/discord/command';
import { renderCopyLinks } from '../src/discord/embeds/copy';
import { COLORS } from '../src/discord/embeds/format';
import { EPHEMERAL, guildOf, isAdmin } from '../src/discord/interaction';
import type { CopyActor } from '../src/services/copy';
import type { EndedMastership } from '../src/copy/mastership';
import type { CopyMode } from '../src/domain/copy';

export const data = new SlashCommandBuilder()
  .setName('copy')
  .setDescription('Copy trading: follow a master account with yours')
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) =>
    s
      .setName('master')
      .setDescription('Make one of your futures accounts a master others can follow')
      .addStringOption((o) => o.setName('account').setDescription('One of your accounts').setRequired(true).setAutocomplete(true))
      .addBooleanOption((o) => o.setName('off').setDescription('Stop being a master')),
  )
  .addSubcommand((s) =>
    s
      .setName('follow')
      .setDescription("Copy a master's trades on your futures accounts")
      .addStringOption((o) => o.setName('master').setDescription('A master of this server').setRequired(true).setAutocomplete(true))
      .addStringOption((o) =>
        o
          .setName('mode')
          .setDescription('How much to trade')
          .setRequired(true)
          .addChoices(
            { name: 'Mirror: same quantity', value: 'mirror' },
            { name: 'Multiplier: master quantity × value', value: 'multiplier' },
            { name: 'Fixed: value units of the coin', value: 'fixed' },
            { name: 'Proportional: scaled by your equity / master equity', value: 'proportional' },
          ),
      )
      .addNumberOption((o) => o.setName('value').setDescription('Multiplier or fixed quantity (ignored by mirror and proportional)').setMinValue(0))
      .addStringOption((o) => o.setName('account').setDescription('Only this account (default: all your futures accounts)').setAutocomplete(true))
      .addStringOption((o) => o.setName('allow').setDescription('Only these coins, e.g. "BTC, ETH"').setMaxLength(300))
      .addStringOption((o) => o.setName('block').setDescription('Never these coins').setMaxLength(300))
      .addStringOption((o) => o.setName('order-types').setDescription('Copy only these: market, limit, stop').setMaxLength(40))
      .addBooleanOption((o) => o.setName('dry-run').setDescription('Show what would be placed, send nothing'))
      .addBooleanOption((o) => o.setName('confirm').setDescription('Ask me in a DM before each copy (no answer in time = skip)')),
  )
  .addSubcommand((s) => s.setName('list').setDescription('Masters you follow: trades copied, skipped, failed'))
  .addSubcommand((s) =>
    s
      .setName('revoke')
      .setDescription("Admins: end a master's mastership (followers stop and their copied positions are closed)")
      .addStringOption((o) => o.setName('master').setDescription('A master of this server').setRequired(true).setAutocomplete(true)),
  )
  .addSubcommand((s) =>
    s
      .setName('stop')
      .setDescription('Stop following (one master or all)')
      .addStringOption((o) => o.setName('master').setDescription('Only this master').setAutocomplete(true)),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const actor: CopyActor = { guildId: guildOf(interaction), userId: interaction.user.id, isAdmin: isAdmin(interaction) };
  const copy = ctx.services.copy;
  const o = interaction.options;
  switch (o.getSubcommand()) {
    case 'master': {
      const accountId = o.getString('account', true);
      if (o.getBoolean('off')) {
        const ended = await copy.removeMaster(actor, accountId);
        await interaction.reply({ embeds: [endedEmbed('Master removed', ended)], flags: EPHEMERAL });
        return;
      }
      const { account } = await copy.makeMaster(actor, accountId);
      await interaction.reply({
        embeds: [
          {
            title: `✅ ${account.name} is a copy-trading master`,
            description: 'Members can follow it with /copy follow. Its fills from now on are copied; positions already open are not.',
            color: COLORS.green,
          },
        ],
        flags: EPHEMERAL,
      });
      return;
    }
    case 'follow': {
      const views = await copy.follow(actor, {
        masterAccountId: o.getString('master', true),
        mode: o.getString('mode', true) as CopyMode,
        value: o.getNumber('value') ?? 1,
        ...(o.getString('account') === null ? {} : { accountId: o.getString('account', true) }),
        ...(o.getString('allow') === null ? {} : { allow: o.getString('allow', true) }),
        ...(o.getString('block') === null ? {} : { block: o.getString('block', true) }),
        ...(o.getString('order-types') === null ? {} : { orderTypes: o.getString('order-types', true) }),
        ...(o.getBoolean('dry-run') === null ? {} : { dryRun: o.getBoolean('dry-run', true) }),
        ...(o.getBoolean('confirm') === null ? {} : { confirm: o.getBoolean('confirm', true) }),
      });
      await interaction.reply({ embeds: [renderCopyLinks('✅ Following', views)], flags: EPHEMERAL });
      return;
    }
    case 'revoke': {
      const ended = await copy.revokeMaster(actor, o.getString('master', true));
      await interaction.reply({ embeds: [endedEmbed('Master revoked', ended)], flags: EPHEMERAL });
      return;
    }
    case 'stop': {
      const stopped = await copy.stop(actor, o.getString('master') ?? undefined);
      await interaction.reply({ embeds: [{ title: `Stopped ${stopped} follow link${stopped === 1 ? '' : 's'}`, color: COLORS.grey }], flags: EPHEMERAL });
      return;
    }
    default:
      await interaction.reply({ embeds: [renderCopyLinks('Copy trading', await copy.list(actor))], flags: EPHEMERAL });
  }
}

function endedEmbed(title: string, ended: EndedMastership) {
  const followers = `${ended.followers} follower link${ended.followers === 1 ? '' : 's'} stopped`;
  const closes = ended.closes > 0 ? `; the positions copied from it are being closed at market (${ended.closes} close order${ended.closes === 1 ? '' : 's'} queued)` : '';
  return { title, description: `${followers}${closes}. Its owner and its followers get a direct message.`, color: COLORS.grey };
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (!interaction.guildId) return interaction.respond([]);
  const typed = String(focused.value ?? '');
  if (focused.name === 'master') return interaction.respond(await ctx.services.copy.masterChoices(interaction.guildId, typed));
  if (focused.name === 'account') return interaction.respond(await ctx.services.accounts.suggest(interaction.user.id, interaction.guildId, typed));
  return interaction.respond([]);
}

/** Copy / Skip on a confirmation DM (src/discord/copyConfirmations.ts). */
export async function button(interaction: ButtonInteraction, ctx: CommandContext, id: CustomId): Promise<void> {
  const answer = await ctx.services.copy.answerConfirmation(id.args[0] ?? '', interaction.user.id, id.action === 'ok');
  const embed =
    answer.kind === 'queued'
      ? { title: '✅ Copied', description: 'The order is on its way; it shows in the trade feed.', color: COLORS.green }
      : answer.kind === 'skipped'
        ? { title: 'Skipped', description: 'This trade is not copied.', color: COLORS.grey }
        : answer.kind === 'expired'
          ? { title: 'Too late', description: 'The answer came after the signal\'s time limit: skipped.', color: COLORS.orange }
          : { title: 'Already answered', description: 'This copy was answered before or is no longer available.', color: COLORS.grey };
  await interaction.update({ embeds: [embed], components: [] });
}
