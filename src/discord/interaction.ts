import { MessageFlags, PermissionFlagsBits } from 'discord.js';
import type { BaseInteraction, GuildMember, APIInteractionGuildMember } from 'discord.js';
import { UserError } from '../services/errors';

/** Every personal answer is ephemeral from the first response. */
export const EPHEMERAL = MessageFlags.Ephemeral;

/** The guild an interaction came from; commands are guild-only, this guards the rest. */
export function guildOf(interaction: BaseInteraction): string {
  if (!interaction.guildId) throw new UserError('invalid-input', 'Use this command in a server, not in direct messages.');
  return interaction.guildId;
}

/** Manage Server, read from the interaction (the member's real permissions), whatever the command overrides say. */
export function isAdmin(interaction: BaseInteraction): boolean {
  return interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
}

/** Role ids of the member who interacted (cached member or raw payload). */
export function memberRoleIds(interaction: BaseInteraction): string[] {
  const member = interaction.member as GuildMember | APIInteractionGuildMember | null;
  if (!member) return [];
  const roles = member.roles;
  if (Array.isArray(roles)) return [...roles];
  return [...(roles as GuildMember['roles']).cache.keys()];
}
