import { SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import { renderHelp } from '../src/discord/embeds/views';
import { EPHEMERAL } from '../src/discord/interaction';

export const data = new SlashCommandBuilder().setName('help').setDescription('What this bot does and how to start');

export async function execute(interaction: ChatInputCommandInteraction): Promise<void> {
  await interaction.reply({ embeds: [renderHelp()], flags: EPHEMERAL });
}
