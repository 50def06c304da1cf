import { PermissionFlagsBits } from 'discord.js';
import type { DiscordSim, GuildHandle } from '../sim/discord';

/** The server every e2e test and the demo play in: an admin, alice, bob, and carol the caller. */
export function addTradersGuild(discord: DiscordSim): GuildHandle {
  return discord.addGuild({
    name: 'Traders',
    ownerId: 'owner',
    roles: [{ name: 'Admin', permissions: PermissionFlagsBits.ManageGuild }, { name: 'Caller' }],
    channels: [{ name: 'general' }, { name: 'feed' }, { name: 'signals' }],
    members: [
      { username: 'owner' },
      { username: 'admin', roles: ['Admin'] },
      { username: 'alice' },
      { username: 'bob' },
      { username: 'carol', roles: ['Caller'] },
    ],
  });
}
