import { ChannelType, InteractionContextType, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { CommandContext } from '../src/discord/command';
import { renderGuildSettings } from '../src/discord/embeds/views';
import { EPHEMERAL, guildOf, isAdmin } from '../src/discord/interaction';
import { forbidden } from '../src/services/errors';
import type { GuildActor } from '../src/services/guildSettings';

export const data = new SlashCommandBuilder()
  .setName('setup')
  .setDescription('Server settings of the trading bot (admins)')
  .setContexts(InteractionContextType.Guild)
  // Discord hides it from non-admins; servers can override that, so execute() checks again.
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .addSubcommand((s) =>
    s
      .setName('feed-channel')
      .setDescription('Where every order and signal summary is posted')
      .addChannelOption((o) =>
        o.setName('channel').setDescription('Text channel').setRequired(true).addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('signal-channel')
      .setDescription('The channel whose messages are read as signals')
      .addChannelOption((o) =>
        o.setName('channel').setDescription('Text channel').setRequired(true).addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('caller-role')
      .setDescription('Members with this role may publish signals')
      .addRoleOption((o) => o.setName('role').setDescription('Caller role').setRequired(true)),
  )
  .addSubcommand((s) =>
    s
      .setName('strategy')
      .setDescription('The built-in example strategy (opt-in per account; not advice)')
      .addStringOption((o) =>
        o.setName('state').setDescription('On or off').setRequired(true).addChoices({ name: 'On', value: 'on' }, { name: 'Off', value: 'off' }),
      )
      .addStringOption((o) => o.setName('watchlist').setDescription('Symbols, e.g. BTC/USDT, ETH/USDT').setMaxLength(400))
      .addStringOption((o) =>
        o
          .setName('timeframe')
          .setDescription('Candle timeframe (default 1h)')
          .addChoices(...['15m', '1h', '4h', '1d'].map((value) => ({ name: value, value }))),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('copy-masters')
      .setDescription('Who besides admins may make an account a copy-trading master')
      .addStringOption((o) =>
        o
          .setName('allow')
          .setDescription('Nobody, listed members, or everyone')
          .setRequired(true)
          .addChoices({ name: 'Admins only', value: 'off' }, { name: 'Listed members', value: 'listed' }, { name: 'Everyone', value: 'all' }),
      )
      .addUserOption((o) => o.setName('member').setDescription('Add this member to the list'))
      .addBooleanOption((o) => o.setName('remove').setDescription('Remove the member from the list instead')),
  )
  .addSubcommand((s) => s.setName('pause').setDescription('Stop new entries server-wide (open positions stay managed)'))
  .addSubcommand((s) => s.setName('resume').setDescription('Take new entries again'))
  .addSubcommand((s) => s.setName('show').setDescription('Show the current settings'));

export async function execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void> {
  const guildId = guildOf(interaction);
  // Checked in code: a server may have overridden the command's default permissions.
  if (!isAdmin(interaction)) throw forbidden('Only server admins (Manage Server permission) can use /setup.');
  const actor: GuildActor = { guildId, userId: interaction.user.id, isAdmin: true };
  const guilds = ctx.services.guilds;
  const sub = interaction.options.getSubcommand();
  let title: string;
  let view;
  switch (sub) {
    case 'feed-channel': {
      const channel = interaction.options.getChannel('channel', true);
      view = await guilds.setFeedChannel(actor, channel.id);
      title = `✅ The trade feed now goes to <#${channel.id}>`;
      break;
    }
    case 'signal-channel': {
      const channel = interaction.options.getChannel('channel', true);
      view = await guilds.setSignalChannel(actor, channel.id);
      title = `✅ Signals are read from <#${channel.id}>`;
      break;
    }
    case 'caller-role': {
      const role = interaction.options.getRole('role', true);
      view = await guilds.setCallerRole(actor, role.id);
      title = '✅ Caller role set';
      break;
    }
    case 'strategy': {
      const o = interaction.options;
      const result = await guilds.setStrategy(actor, {
        enabled: o.getString('state', true) === 'on',
        ...(o.getString('watchlist') === null ? {} : { watchlist: o.getString('watchlist', true) }),
        ...(o.getString('timeframe') === null ? {} : { timeframe: o.getString('timeframe', true) }),
      });
      const s = result.strategy;
      const embed = renderGuildSettings(result.view, s.enabled ? '✅ Built-in strategy on' : 'Built-in strategy off');
      const detail = s.enabled
        ? `${s.watchlist.join(', ')} · ${s.timeframe} candles. Only accounts opted in with /account settings strategy:true take its signals. An example, not advice.`
        : 'No strategy signals are queued.';
      await interaction.reply({ embeds: [{ ...embed, fields: [...(embed.fields ?? []), { name: 'Strategy', value: detail.slice(0, 1024) }] }], flags: EPHEMERAL });
      return;
    }
    case 'copy-masters': {
      const o = interaction.options;
      const member = o.getUser('member');
      const result = await guilds.setCopyMasters(
        actor,
        o.getString('allow', true) as 'off' | 'listed' | 'all',
        member ? { id: member.id, remove: o.getBoolean('remove') ?? false } : undefined,
      );
      const { mode, members, ended } = result.copyMasters;
      const who = mode === 'all' ? 'every member' : mode === 'listed' ? `admins and ${members.length} listed member${members.length === 1 ? '' : 's'}` : 'admins only';
      const embed = renderGuildSettings(result.view, 'Copy-trading masters');
      await interaction.reply({
        embeds: [{ ...embed, fields: [...(embed.fields ?? []), { name: 'Who may be a master', value: `${who}${members.length > 0 ? `: ${members.map((id) => `<@${id}>`).join(', ')}`.slice(0, 900) : ''}` }, ...(ended > 0 ? [{ name: 'Masters ended', value: `${ended} master${ended === 1 ? '' : 's'} no longer allowed: their followers stopped and the positions copied from them are being closed.` }] : [])] }],
        flags: EPHEMERAL,
      });
      return;
    }
    case 'pause':
      view = await guilds.pause(actor);
      title = '⏸️ New entries paused server-wide';
      break;
    case 'resume':
      view = await guilds.resume(actor);
      title = '▶️ New entries resumed';
      break;
    default:
      view = await guilds.show(actor);
      title = 'Server settings';
  }
  // Channel mentions do not render in embed titles; the settings fields name them.
  await interaction.reply({ embeds: [renderGuildSettings(view, title.replace(/<#\d+>/, 'the chosen channel'))], flags: EPHEMERAL });
}
