import { DiscordAPIError, Routes } from 'discord.js';
import type { Client, GuildBan } from 'discord.js';
import type { Masterships } from '../copy/mastership';
import type { Logger } from '../logger';

/** Discord: "Unknown Member": the user is not (or no longer) in the server. */
const UNKNOWN_MEMBER = 10007;

/**
 * A copy-trading master whose owner leaves the server or is banned stops being one. A ban arrives as
 * GUILD_BAN_ADD (the GuildModeration intent, not privileged). Leaving is only dispatched with the
 * privileged GuildMembers intent, which the bot does not ask for, so `check()` looks each master's
 * owner up instead (one REST call per owner and server, every few minutes): only Discord's answer
 * "Unknown Member" ends a mastership; an error (5xx, 429, network) is no answer, and the next check
 * asks again.
 */
export function createMasterMemberWatch(deps: { client: Client; masterships: Pick<Masterships, 'endOfMember' | 'mastersWithOwners'>; log: Logger }) {
  const { client, masterships, log } = deps;
  let running: Promise<number> | null = null;

  async function pass(): Promise<number> {
    let ended = 0;
    const owners = new Map<string, { guildId: string; ownerId: string }>();
    for (const master of await masterships.mastersWithOwners()) {
      // Only servers this gateway serves (another shard's process checks the rest).
      if (!client.guilds.cache.has(master.guildId)) continue;
      owners.set(`${master.guildId}:${master.ownerId}`, { guildId: master.guildId, ownerId: master.ownerId });
    }
    for (const { guildId, ownerId } of owners.values()) {
      try {
        await client.rest.get(Routes.guildMember(guildId, ownerId));
      } catch (error) {
        if (error instanceof DiscordAPIError && error.code === UNKNOWN_MEMBER) {
          ended += (await masterships.endOfMember(guildId, ownerId, 'left')).length;
        } else {
          log.warn({ err: error, guildId }, 'could not check a copy master\'s membership; asked again next time');
        }
      }
    }
    return ended;
  }

  return {
    /** GUILD_BAN_ADD: the banned member's masterships end at once. */
    async onBan(ban: GuildBan): Promise<void> {
      try {
        await masterships.endOfMember(ban.guild.id, ban.user.id, 'banned');
      } catch (error) {
        log.error({ err: error, guildId: ban.guild.id }, 'ending a banned member\'s masterships failed; the membership check tries again');
      }
    },
    /** One pass over every master's owner; a call while one runs joins it. Answers how many ended. */
    check(): Promise<number> {
      running ??= pass().finally(() => {
        running = null;
      });
      return running;
    },
  };
}
