import type { IIdentifyThrottler, WebSocketManager } from '@discordjs/ws';
import { Client, GatewayIntentBits, Partials } from 'discord.js';

export interface DiscordClientOptions {
  /**
   * Base URL of Discord's REST API. Wired IN CODE by tests and the demo (the simulator); never read
   * from the environment, so configuration cannot redirect the bot's token.
   */
  restApi?: string;
  /** The gateway shard this client identifies as (default: 0 of 1). */
  shard?: { readonly id: number; readonly count: number };
  /** Identifies throttled with the process's other shard clients (gatewayShard.ts). */
  identifyThrottle?: (manager: WebSocketManager) => Promise<IIdentifyThrottler>;
}

/** The discord.js client with the intents the bot needs, mentions off by default. */
export function createDiscordClient(options: DiscordClientOptions = {}): Client {
  return new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
      GatewayIntentBits.DirectMessages,
      // Bans end a banned member's copy-trading masterships (not a privileged intent).
      GatewayIntentBits.GuildModeration,
    ],
    // DM channels arrive uncached.
    partials: [Partials.Channel],
    allowedMentions: { parse: [] },
    ...(options.shard ? { shards: [options.shard.id], shardCount: options.shard.count } : {}),
    ...(options.identifyThrottle ? { ws: { buildIdentifyThrottler: options.identifyThrottle } } : {}),
    ...(options.restApi ? { rest: { api: options.restApi } } : {}),
  });
}
