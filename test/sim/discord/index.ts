import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIEmbed, APIMessage, APIUser } from 'discord.js';
import { hasShared, sharedPath } from '../../support/shared';
import { Gateway } from './gateway';
import type { ReconnectVia } from './gateway';
import { botToken, snowflake } from './ids';
import { Interactions } from './interactions';
import type { InteractionHandle } from './interactions';
import type { AutocompleteInput, ComponentInput, ModalSubmitInput, SelectInput, SlashInput } from './interactions';
import { Intent, userJson } from './model';
import type { Json } from './model';
import { RateLimiter } from './rateLimits';
import type { RateLimitOptions } from './rateLimits';
import { Rest } from './rest';
import { SimState } from './state';
import type { DispatchRecord, GuildHandle, GuildInput, MemberInput, SimAttachment, SimCall, SimFile, SimStats, SimViolation, StoredMessage } from './state';
import { SpecValidator } from './validation';

export type { AutocompleteInput, CallbackEvent, ComponentInput, InteractionEvent, ModalSubmitInput, OptionInput, SelectInput, SlashInput } from './interactions';
export type { InteractionHandle } from './interactions';
export type { ReconnectVia } from './gateway';
export type { RateLimitOptions, RateLimitRule, RateLimitWindow } from './rateLimits';
export { DEFAULT_RATE_LIMITS } from './rateLimits';
export type { ChannelInput, DispatchRecord, GuildHandle, GuildInput, MemberInput, OverwriteInput, RoleInput, SimAttachment, SimCall, SimFile, SimStats, SimViolation } from './state';
export { LIMITS } from './validation';
export type { Issue } from './validation';
export { DEFAULT_BOT_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS, Permission } from './model';

export interface DiscordSimOptions {
  /** Route buckets and the global limit; see DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimitOptions;
  /** Discord's OpenAPI document; `<SHARED_DIR>/specs/discord-openapi.json` by default, `null` for limits only. */
  specPath?: string | null;
  /** HELLO's heartbeat interval (Discord: 41250 ms). */
  heartbeatIntervalMs?: number;
  /** How long an interaction waits for its callback before Discord forgets it (3000 ms). */
  ackTimeoutMs?: number;
  /** Default timeout of the waiting helpers (5000 ms). */
  waitTimeoutMs?: number;
  /** How long `enforce_nonce` remembers a nonce (5 minutes). */
  nonceWindowMs?: number;
  /** Largest file a request may carry (10 MiB, Discord's default). */
  maxFileBytes?: number;
  botName?: string;
  /**
   * Privileged intents enabled in the (simulated) developer portal. As on Discord, none until enabled:
   * a bot identifying with one that is off is closed with 4014 ("disallowed intents").
   */
  privilegedIntents?: { guildMembers?: boolean; messageContent?: boolean; presences?: boolean };
  /** Servers one shard may serve before an identify is closed with 4011 (Discord: 2,500). */
  maxGuildsPerShard?: number;
  /** The shard count GET /gateway/bot recommends (default: one per 1,000 servers, at least 1). */
  recommendedShards?: number;
}

export interface PostMessageInput {
  userId: string;
  content: string;
  /** Omit both for a DM from the user to the bot. */
  guildId?: string;
  channelId?: string;
  /** Id of a message this one replies to. */
  replyTo?: string;
  embeds?: APIEmbed[];
  attachments?: { filename: string; data: Buffer | Uint8Array | string; contentType?: string }[];
}

/** A member's message, and what the bot did about it. */
export class MessageHandle {
  constructor(
    private readonly stored: StoredMessage,
    private readonly state: SimState,
    private readonly timeoutMs: number,
  ) {}

  get id(): string {
    return this.stored.message.id;
  }

  get channelId(): string {
    return this.stored.message.channel_id;
  }

  get message(): APIMessage {
    return this.stored.message;
  }

  /** Messages in the channel that reply to this one. */
  replies(): APIMessage[] {
    return this.state.channelMessages(this.channelId).filter((m) => m.message_reference?.message_id === this.id);
  }

  /** Emojis the bot reacted with. */
  reactions(): string[] {
    return [...this.stored.reactions.entries()].filter(([, users]) => users.has(this.state.bot.id)).map(([emoji]) => emoji);
  }

  waitForReply(timeoutMs = this.timeoutMs): Promise<APIMessage> {
    return this.state.waiter.until(() => this.replies()[0], timeoutMs, `a reply to message ${this.id}`);
  }

  waitForReaction(emoji?: string, timeoutMs = this.timeoutMs): Promise<string> {
    return this.state.waiter.until(() => this.reactions().find((e) => emoji === undefined || e === emoji), timeoutMs, `a reaction ${emoji ?? ''} on message ${this.id}`);
  }
}

/**
 * A local Discord: REST under `restApiUrl` (give it to discord.js as `rest.api`) and a gateway whose
 * URL `GET /gateway/bot` returns. See README.md.
 */
export class DiscordSim {
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: APIUser;
  readonly restApiUrl: string;
  readonly gatewayUrl: string;
  readonly #state: SimState;
  readonly #gateway: Gateway;
  readonly #rest: Rest;
  readonly #interactions: Interactions;
  readonly #server: Server;
  readonly #waitTimeoutMs: number;

  private constructor(parts: { state: SimState; gateway: Gateway; rest: Rest; interactions: Interactions; server: Server; token: string; baseUrl: string; waitTimeoutMs: number }) {
    this.#state = parts.state;
    this.#gateway = parts.gateway;
    this.#rest = parts.rest;
    this.#interactions = parts.interactions;
    this.#server = parts.server;
    this.#waitTimeoutMs = parts.waitTimeoutMs;
    this.token = parts.token;
    this.applicationId = parts.state.bot.id;
    this.botUser = userJson(parts.state.bot);
    this.restApiUrl = `${parts.baseUrl}/api`;
    this.gatewayUrl = parts.gateway.url;
  }

  static async start(opts: DiscordSimOptions = {}): Promise<DiscordSim> {
    const bot = { id: snowflake(), username: opts.botName ?? 'TradeBot', globalName: null, bot: true, dmsOpen: false };
    const state = new SimState(bot);
    const token = botToken(bot.id);
    const specPath = opts.specPath === undefined ? (hasShared ? sharedPath('specs', 'discord-openapi.json') : null) : opts.specPath;
    const validator = specPath ? SpecValidator.load(specPath) : null;
    const privileged = opts.privilegedIntents ?? {};
    const allowedPrivilegedIntents =
      (privileged.guildMembers === true ? Intent.GuildMembers : 0) |
      (privileged.messageContent === true ? Intent.MessageContent : 0) |
      (privileged.presences === true ? Intent.GuildPresences : 0);
    const gateway = new Gateway(state, {
      token,
      applicationId: bot.id,
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41_250,
      allowedPrivilegedIntents,
      maxGuildsPerShard: opts.maxGuildsPerShard ?? 2_500,
    });
    const waitTimeoutMs = opts.waitTimeoutMs ?? 5000;
    let rest: Rest | null = null;
    const interactions = new Interactions(state, bot.id, {
      ackTimeoutMs: opts.ackTimeoutMs ?? 3000,
      waitTimeoutMs,
      commands: () => rest?.commands ?? { global: [], guild: new Map() },
    });
    const server = createServer((req, res) => {
      void rest?.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: `discord sim: ${(e as Error).message}`, code: 0 }));
      });
    });
    server.on('upgrade', (req, socket, head: Buffer) => gateway.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const baseUrl = `http://127.0.0.1:${port}`;
    gateway.url = `ws://127.0.0.1:${port}/gateway`;
    state.attachmentBaseUrl = baseUrl;
    rest = new Rest(state, interactions, new RateLimiter(opts.rateLimits), validator, {
      token,
      applicationId: bot.id,
      gatewayUrl: () => gateway.url,
      recommendedShards: () => opts.recommendedShards ?? Math.max(1, Math.ceil(state.guilds.size / 1_000)),
      nonceWindowMs: opts.nonceWindowMs ?? 5 * 60_000,
      maxFileBytes: opts.maxFileBytes ?? 10 * 1024 * 1024,
    });
    return new DiscordSim({ state, gateway, rest, interactions, server, token, baseUrl, waitTimeoutMs });
  }

  // ----- world ------------------------------------------------------------------------------------

  /** Adds a guild with its roles, channels and members (and the bot); dispatches GUILD_CREATE if connected. */
  addGuild(input: GuildInput): GuildHandle {
    return this.#state.addGuild(input);
  }

  /** Adds a member to a guild (GUILD_MEMBER_ADD). */
  addMember(guildId: string, member: MemberInput): APIUser {
    return userJson(this.#state.addMember(guildId, member));
  }

  /** The next `times` calls of a REST route (its template, e.g. `/guilds/{guild_id}/members/{user_id}`) answer `status`. */
  failRoute(method: string, template: string, status: number, times = 1): void {
    this.#state.faults.push({ method, template, status, times });
  }

  /** A member leaves, or is banned with `ban` (GUILD_MEMBER_REMOVE; GUILD_BAN_ADD when banned). */
  removeMember(guildId: string, userId: string, options: { ban?: boolean } = {}): void {
    this.#state.removeMember(guildId, userId, options);
  }

  /** Changes a member's roles (ids or names) or nickname (GUILD_MEMBER_UPDATE). */
  updateMember(guildId: string, userId: string, change: { roles?: string[]; nick?: string | null }): void {
    this.#state.updateMember(guildId, userId, change);
  }

  /** A user outside any guild (for DMs). */
  addUser(user: MemberInput): APIUser {
    return userJson(this.#state.addUser(user));
  }

  // ----- injection --------------------------------------------------------------------------------

  /** A slash command (INTERACTION_CREATE type 2); options typed from the registered command when there is one. */
  slash(input: SlashInput): InteractionHandle {
    return this.#interactions.slash(input);
  }

  /** Autocomplete (type 4) with `focused` marking the option being typed. */
  autocomplete(input: AutocompleteInput): InteractionHandle {
    return this.#interactions.autocomplete(input);
  }

  /** A button press (type 3, component_type 2) on a message that carries that button. */
  button(input: ComponentInput): InteractionHandle {
    return this.#interactions.button(input);
  }

  /** A string select (type 3, component_type 3). */
  select(input: SelectInput): InteractionHandle {
    return this.#interactions.select(input);
  }

  /** A modal submit (type 5) for a modal the bot showed this user. */
  modalSubmit(input: ModalSubmitInput): InteractionHandle {
    return this.#interactions.modalSubmit(input);
  }

  /** A member's (or, without guild and channel, a DM's) message: MESSAGE_CREATE. */
  postMessage(input: PostMessageInput): MessageHandle {
    const user = this.#state.user(input.userId);
    const guild = input.guildId ? this.#state.guild(input.guildId) : null;
    let channel = input.channelId ? this.#state.channel(input.channelId) : undefined;
    if (!channel && guild) channel = guild.channelIds.map((id) => this.#state.channel(id)).find((c) => c.type === 0);
    channel ??= this.#state.dmChannelFor(user.id);
    if (channel.guildId && !this.#state.guild(channel.guildId).members.has(user.id)) throw new Error(`discord sim: ${user.username} is not a member of the channel's guild`);
    const files: SimFile[] = (input.attachments ?? []).map((a, i) => {
      const data = Buffer.from(a.data);
      return { field: `files[${i}]`, filename: a.filename, contentType: a.contentType ?? 'application/octet-stream', size: data.length, data };
    });
    const body: Json = { content: input.content, ...(input.embeds ? { embeds: input.embeds } : {}), ...(input.replyTo ? { message_reference: { message_id: input.replyTo } } : {}) };
    const stored = this.#state.createMessage({ channel, author: user, body, files });
    return new MessageHandle(stored, this.#state, this.#waitTimeoutMs);
  }

  // ----- what tests read ----------------------------------------------------------------------------

  /** What the channel shows, oldest first (ephemeral answers are on the interaction handles). */
  channelMessages(channelId: string): APIMessage[] {
    return this.#state.channelMessages(channelId);
  }

  /** The DM conversation between the bot and a user, oldest first. */
  dmMessages(userId: string): APIMessage[] {
    const channelId = this.#state.dmChannels.get(userId);
    return channelId ? this.#state.channelMessages(channelId) : [];
  }

  message(id: string): APIMessage | undefined {
    return this.#state.messages.get(id)?.message;
  }

  /** An uploaded file, with its bytes. */
  attachment(id: string): SimAttachment | undefined {
    return this.#state.attachments.get(id);
  }

  /** Registered application commands: global, or of one guild. */
  commands(guildId?: string): Json[] {
    return guildId ? (this.#rest.commands.guild.get(guildId) ?? []) : this.#rest.commands.global;
  }

  get calls(): readonly SimCall[] {
    return this.#state.calls;
  }

  get violations(): readonly SimViolation[] {
    return this.#state.violations;
  }

  /** Interactions older than the acknowledgement window that the bot never answered (ids). */
  unacknowledgedInteractions(): string[] {
    return this.#interactions.unacknowledged();
  }

  /** Returns the violations recorded so far and forgets them (for tests that provoke some on purpose). */
  takeViolations(): SimViolation[] {
    return this.#state.violations.splice(0);
  }

  get stats(): Readonly<SimStats> {
    return this.#state.stats;
  }

  get dispatches(): readonly DispatchRecord[] {
    return this.#state.dispatches;
  }

  /** Gateway sessions with an open socket. */
  /** The shards of the sessions connected now, as "id/count", sorted. */
  get connectedShards(): string[] {
    return this.#gateway.connectedShards;
  }

  get connectedSessions(): number {
    return this.#gateway.connectedSessions;
  }

  /** Calls to a route template (as in the spec), optionally of one method. */
  callsTo(route: string, method?: string): SimCall[] {
    return this.#state.calls.filter((c) => c.route === route && (method === undefined || c.method === method.toUpperCase()));
  }

  /** Resolves when `check` returns something other than undefined (re-checked on every change). */
  waitFor<T>(check: () => T | undefined, timeoutMs = this.#waitTimeoutMs, what = 'a condition'): Promise<T> {
    return this.#state.waiter.until(check, timeoutMs, what);
  }

  /** The first message in a channel (oldest first) that satisfies `predicate`. */
  waitForMessage(channelId: string, predicate: (m: APIMessage) => boolean = () => true, timeoutMs = this.#waitTimeoutMs): Promise<APIMessage> {
    return this.waitFor(() => this.channelMessages(channelId).find(predicate), timeoutMs, `a message in channel ${channelId}`);
  }

  /** Knocks the client off the gateway and waits until it is back (see ReconnectVia). */
  forceReconnect(opts: { via?: ReconnectVia; duringOutage?: () => unknown; timeoutMs?: number } = {}): Promise<'resumed' | 'identified'> {
    return this.#gateway.forceReconnect(opts.via ?? 'reconnect', opts.duringOutage, opts.timeoutMs);
  }

  async close(): Promise<void> {
    this.#gateway.close();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

export function startDiscordSim(opts?: DiscordSimOptions): Promise<DiscordSim> {
  return DiscordSim.start(opts);
}

