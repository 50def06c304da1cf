import type { IncomingMessage, ServerResponse } from 'node:http';
import { snowflake } from './ids';
import type { Interactions, RestAnswer } from './interactions';
import { isEmptyMessage } from './interactions';
import { ChannelType, Permission, channelJson, memberJson, roleJson, userJson } from './model';
import type { Json, SimChannel } from './model';
import type { RateLimiter } from './rateLimits';
import type { SimFile, SimState, StoredMessage, ViolationKind } from './state';
import { autocompleteLimitIssues, commandLimitIssues, invalidFormBody, messageLimitIssues, modalLimitIssues } from './validation';
import type { Issue, SpecValidator } from './validation';

type BodyKind = 'none' | 'message' | 'channel-message' | 'edit' | 'callback' | 'commands' | 'command';

interface Request {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Json;
  files: SimFile[];
}

interface Route {
  method: string;
  template: string;
  regex: RegExp;
  keys: string[];
  /** Interaction callbacks and interaction webhooks: no bot token, no global rate limit. */
  interaction: boolean;
  kind: BodyKind;
  handle: (req: Request) => RestAnswer;
}

export interface RestOptions {
  token: string;
  applicationId: string;
  gatewayUrl: () => string;
  /** What GET /gateway/bot says as `shards`. */
  recommendedShards: () => number;
  nonceWindowMs: number;
  maxFileBytes: number;
}

const MAX_FILES = 10;

const err = (status: number, code: number, message: string): RestAnswer => ({ status, body: { message, code } });
const ok = (body: unknown): RestAnswer => ({ status: 200, body });
const NO_CONTENT: RestAnswer = { status: 204 };

function compile(template: string): { regex: RegExp; keys: string[] } {
  const keys: string[] = [];
  const pattern = template
    .split('/')
    .map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\@]/g, '\\$&');
      keys.push(m[1] ?? '');
      return '([^/]+)';
    })
    .join('/');
  return { regex: new RegExp(`^${pattern}/?$`), keys };
}

/** Discord's REST API under `/api/v10`: routing, auth, rate limits, validation, handlers, records. */
export class Rest {
  readonly #routes: Route[] = [];
  readonly commands = { global: [] as Json[], guild: new Map<string, Json[]>() };

  constructor(
    private readonly state: SimState,
    private readonly interactions: Interactions,
    private readonly limiter: RateLimiter,
    private readonly validator: SpecValidator | null,
    private readonly options: RestOptions,
  ) {
    this.#define();
  }

  #add(method: string, template: string, kind: BodyKind, handle: (req: Request) => RestAnswer, interaction = false): void {
    this.#routes.push({ method, template, ...compile(template), kind, handle, interaction });
  }

  // ----- HTTP plumbing ---------------------------------------------------------------------------

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    if (method === 'GET' && url.pathname.startsWith('/attachments/')) return this.#serveAttachment(url.pathname, res);
    const prefix = '/api/v10';
    const path = url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : null;
    const query = Object.fromEntries(url.searchParams);
    const record = (status: number, route: string | null, params: Record<string, string>, body: unknown, files: SimFile[], response: unknown): void => {
      this.state.stats.requests += 1;
      this.state.stats.byStatus[status] = (this.state.stats.byStatus[status] ?? 0) + 1;
      this.state.calls.push({ at: Date.now(), method, path: path ?? url.pathname, route, params, query, body, files, status, response });
      this.state.changed();
    };
    const violate = (kind: ViolationKind, route: string | null, message: string, issues: Issue[] = []): void =>
      this.state.recordViolation({ kind, method, path: path ?? url.pathname, route, message, issues });

    let match: { route: Route; params: Record<string, string> } | undefined;
    let pathKnown = false;
    if (path !== null) {
      for (const route of this.#routes) {
        const m = route.regex.exec(path);
        if (!m) continue;
        pathKnown = true;
        if (route.method !== method) continue;
        const params: Record<string, string> = {};
        route.keys.forEach((k, i) => {
          params[k] = decodeURIComponent(m[i + 1] ?? '');
        });
        match = { route, params };
        break;
      }
    }
    if (!match) {
      const status = pathKnown ? 405 : 404;
      const body = { message: pathKnown ? '405: Method Not Allowed' : '404: Not Found', code: 0 };
      violate('unknown-route', null, `${method} ${path ?? url.pathname} is not a route the simulator serves`);
      record(status, null, {}, tryJson(raw), [], body);
      return send(res, status, body, {});
    }
    const { route, params } = match;

    // Interaction endpoints authenticate by their token in the path; GET /gateway needs nothing.
    if (!route.interaction && route.template !== '/gateway' && req.headers.authorization !== `Bot ${this.options.token}`) {
      const body = { message: '401: Unauthorized', code: 0 };
      violate('auth', route.template, 'missing or wrong bot token');
      record(401, route.template, params, tryJson(raw), [], body);
      return send(res, 401, body, {});
    }

    // Injected outages: the next calls of a route answer an error, as Discord's 5xx do.
    const fault = this.state.faults.find((f) => f.method === method && f.template === route.template && f.times > 0);
    if (fault) {
      fault.times -= 1;
      const body = { message: fault.status >= 500 ? 'Internal Server Error' : 'Injected error', code: 0 };
      record(fault.status, route.template, params, tryJson(raw), [], body);
      return send(res, fault.status, body, {});
    }

    const limited = this.limiter.take(method, route.template, params, route.interaction);
    if (!limited.ok) {
      this.state.stats.rateLimited += 1;
      if (limited.global) this.state.stats.globalRateLimited += 1;
      const retryAfter = Math.round(limited.retryAfterMs) / 1000;
      const body = { message: 'You are being rate limited.', retry_after: retryAfter, global: limited.global, code: 0 };
      record(429, route.template, params, tryJson(raw), [], body);
      return send(res, 429, body, limited.headers);
    }
    const headers = limited.headers;

    let body: Json = {};
    let payload: unknown = undefined;
    let files: SimFile[] = [];
    const type = req.headers['content-type'] ?? '';
    try {
      if (type.startsWith('multipart/form-data')) {
        ({ body, files } = await parseMultipart(raw, type));
        payload = body;
      } else if (raw.length > 0) {
        payload = JSON.parse(raw.toString('utf8'));
        if (Array.isArray(payload)) body = { __array: payload };
        else if (payload && typeof payload === 'object') body = payload as Json;
      }
    } catch (e) {
      const answer = { message: 'The request body contains invalid JSON.', code: 50109 };
      violate('invalid-body', route.template, `unparseable body: ${(e as Error).message}`);
      record(400, route.template, params, raw.toString('utf8'), [], answer);
      return send(res, 400, answer, headers);
    }

    if (files.length > MAX_FILES || files.some((f) => f.size > this.options.maxFileBytes)) {
      const answer = { message: 'Request entity too large', code: 40005 };
      violate('limit', route.template, `${files.length} files, largest ${Math.max(...files.map((f) => f.size))} bytes`);
      record(413, route.template, params, payload, files, answer);
      return send(res, 413, answer, headers);
    }

    if (route.kind !== 'none' || raw.length > 0) {
      const schemaIssues = this.validator && method !== 'GET' ? this.validator.validate(route.template, method, payload) : [];
      const limitIssues = schemaIssues.length ? [] : limitIssuesFor(route.kind, payload);
      const issues = [...schemaIssues, ...limitIssues];
      if (issues.length) {
        const answer = invalidFormBody(issues);
        violate(schemaIssues.length ? 'schema' : 'limit', route.template, issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), issues);
        record(400, route.template, params, payload, files, answer);
        return send(res, 400, answer, headers);
      }
    }

    let answer: RestAnswer;
    try {
      answer = route.handle({ params, query: url.searchParams, body, files });
    } catch (e) {
      answer = err(500, 0, `discord sim internal error: ${(e as Error).stack ?? String(e)}`);
    }
    if (answer.violation) violate(answer.violation.kind, route.template, answer.violation.message);
    record(answer.status, route.template, params, payload, files, answer.body);
    send(res, answer.status, answer.body, headers);
  }

  #serveAttachment(pathname: string, res: ServerResponse): void {
    const id = pathname.split('/')[3] ?? '';
    const attachment = this.state.attachments.get(id);
    if (!attachment) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': attachment.contentType, 'Content-Length': attachment.size }).end(attachment.data);
  }

  // ----- routes ----------------------------------------------------------------------------------

  #define(): void {
    const s = this.state;
    const appId = this.options.applicationId;
    const gatewayInfo = (): Json => ({ url: this.options.gatewayUrl() });

    this.#add('GET', '/gateway', 'none', () => ok(gatewayInfo()));
    this.#add('GET', '/gateway/bot', 'none', () =>
      ok({ ...gatewayInfo(), shards: this.options.recommendedShards(), session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 } }),
    );

    // users and the application
    this.#add('GET', '/users/@me', 'none', () => ok({ ...userJson(s.bot), verified: true, mfa_enabled: false, flags: 0, email: null }));
    this.#add('GET', '/users/{user_id}', 'none', ({ params }) => {
      const user = s.users.get(params['user_id'] ?? '');
      return user ? ok(userJson(user)) : err(404, 10013, 'Unknown User');
    });
    this.#add('POST', '/users/@me/channels', 'none', ({ body }) => {
      const user = s.users.get(String(body['recipient_id']));
      if (!user) return err(400, 50035, 'Invalid Recipient(s)');
      return ok(channelJson(s.dmChannelFor(user.id), user));
    });
    const application = (): Json => ({
      id: appId,
      name: s.bot.username,
      icon: null,
      description: '',
      summary: '',
      type: null,
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: '0'.repeat(64),
      flags: 0,
      team: null,
      owner: { id: snowflake(), username: 'owner', discriminator: '0', global_name: null, avatar: null, public_flags: 0 },
      bot: userJson(s.bot),
      approximate_guild_count: s.guilds.size,
      integration_types_config: { '0': {}, '1': {} },
    });
    this.#add('GET', '/applications/@me', 'none', () => ok(application()));
    this.#add('GET', '/applications/{application_id}', 'none', ({ params }) => (params['application_id'] === appId ? ok(application()) : err(404, 10002, 'Unknown Application')));

    // application commands
    for (const scoped of [false, true]) {
      const base = scoped ? '/applications/{application_id}/guilds/{guild_id}/commands' : '/applications/{application_id}/commands';
      const list = (params: Record<string, string>): Json[] | RestAnswer => {
        if (params['application_id'] !== appId) return err(403, 50001, 'Missing Access');
        if (!scoped) return this.commands.global;
        const guildId = params['guild_id'] ?? '';
        if (!s.guilds.has(guildId)) return err(403, 50001, 'Missing Access');
        let commands = this.commands.guild.get(guildId);
        if (!commands) {
          commands = [];
          this.commands.guild.set(guildId, commands);
        }
        return commands;
      };
      const store = (commands: Json[], body: Json, params: Record<string, string>, replaceId?: string): Json => {
        const type = typeof body['type'] === 'number' ? body['type'] : 1;
        const same = commands.find((c) => (replaceId ? c['id'] === replaceId : c['name'] === body['name'] && c['type'] === type));
        const command: Json = {
          id: same?.['id'] ?? snowflake(),
          application_id: appId,
          version: snowflake(),
          default_member_permissions: body['default_member_permissions'] == null ? null : String(body['default_member_permissions']),
          type,
          name: body['name'],
          name_localizations: body['name_localizations'] ?? null,
          description: body['description'] ?? '',
          description_localizations: body['description_localizations'] ?? null,
          ...(scoped ? { guild_id: params['guild_id'] } : {}),
          ...(Array.isArray(body['options']) && body['options'].length ? { options: body['options'] } : {}),
          dm_permission: body['dm_permission'] ?? true,
          nsfw: body['nsfw'] ?? false,
          integration_types: body['integration_types'] ?? [0],
          contexts: body['contexts'] ?? null,
        };
        if (same) commands.splice(commands.indexOf(same), 1, command);
        else commands.push(command);
        return command;
      };
      this.#add('GET', base, 'none', ({ params }) => {
        const commands = list(params);
        return Array.isArray(commands) ? ok(commands) : commands;
      });
      this.#add('PUT', base, 'commands', ({ params, body }) => {
        const commands = list(params);
        if (!Array.isArray(commands)) return commands;
        const next = (body['__array'] ?? []) as Json[];
        const previous = [...commands];
        commands.length = 0;
        for (const c of next) {
          const keep = previous.find((p) => p['name'] === c['name'] && p['type'] === (c['type'] ?? 1));
          if (keep) commands.push(keep);
          store(commands, c, params, keep ? String(keep['id']) : undefined);
        }
        s.changed();
        return ok(commands);
      });
      this.#add('POST', base, 'command', ({ params, body }) => {
        const commands = list(params);
        if (!Array.isArray(commands)) return commands;
        const existed = commands.some((c) => c['name'] === body['name']);
        const command = store(commands, body, params);
        s.changed();
        return { status: existed ? 200 : 201, body: command };
      });
      this.#add('GET', `${base}/{command_id}`, 'none', ({ params }) => {
        const commands = list(params);
        if (!Array.isArray(commands)) return commands;
        const command = commands.find((c) => c['id'] === params['command_id']);
        return command ? ok(command) : err(404, 10063, 'Unknown application command');
      });
      this.#add('PATCH', `${base}/{command_id}`, 'command', ({ params, body }) => {
        const commands = list(params);
        if (!Array.isArray(commands)) return commands;
        const command = commands.find((c) => c['id'] === params['command_id']);
        if (!command) return err(404, 10063, 'Unknown application command');
        const updated = store(commands, { ...command, ...body }, params, String(command['id']));
        s.changed();
        return ok(updated);
      });
      this.#add('DELETE', `${base}/{command_id}`, 'none', ({ params }) => {
        const commands = list(params);
        if (!Array.isArray(commands)) return commands;
        const index = commands.findIndex((c) => c['id'] === params['command_id']);
        if (index < 0) return err(404, 10063, 'Unknown application command');
        commands.splice(index, 1);
        s.changed();
        return NO_CONTENT;
      });
    }

    // guilds
    const guildOf = (params: Record<string, string>) => s.guilds.get(params['guild_id'] ?? '');
    this.#add('GET', '/guilds/{guild_id}', 'none', ({ params, query }) => {
      const guild = guildOf(params);
      if (!guild) return err(404, 10004, 'Unknown Guild');
      return ok({ ...s.guildJson(guild), ...(query.get('with_counts') === 'true' ? { approximate_member_count: guild.members.size, approximate_presence_count: 0 } : {}) });
    });
    this.#add('GET', '/guilds/{guild_id}/channels', 'none', ({ params }) => {
      const guild = guildOf(params);
      return guild ? ok(guild.channelIds.map((id) => channelJson(s.channel(id)))) : err(404, 10004, 'Unknown Guild');
    });
    this.#add('GET', '/guilds/{guild_id}/roles', 'none', ({ params }) => {
      const guild = guildOf(params);
      return guild ? ok([...guild.roles.values()].map(roleJson)) : err(404, 10004, 'Unknown Guild');
    });
    this.#add('GET', '/guilds/{guild_id}/members', 'none', ({ params, query }) => {
      const guild = guildOf(params);
      if (!guild) return err(404, 10004, 'Unknown Guild');
      const limit = Math.min(Math.max(Number(query.get('limit') ?? 1), 1), 1000);
      const after = BigInt(query.get('after') ?? '0');
      const members = [...guild.members.values()].filter((m) => BigInt(m.userId) > after).sort((a, b) => (BigInt(a.userId) < BigInt(b.userId) ? -1 : 1));
      return ok(members.slice(0, limit).map((m) => memberJson(guild, m, s.users.get(m.userId))));
    });
    this.#add('GET', '/guilds/{guild_id}/members/{user_id}', 'none', ({ params }) => {
      const guild = guildOf(params);
      if (!guild) return err(404, 10004, 'Unknown Guild');
      const member = guild.members.get(params['user_id'] ?? '');
      return member ? ok(memberJson(guild, member, s.users.get(member.userId))) : err(404, 10007, 'Unknown Member');
    });

    // channels and messages
    const channelOf = (params: Record<string, string>): SimChannel | undefined => s.channels.get(params['channel_id'] ?? '');
    const can = (channel: SimChannel, bits: bigint): boolean => (s.permissionsIn(channel, s.bot.id) & bits) === bits;
    const messageOf = (channel: SimChannel, params: Record<string, string>): StoredMessage | undefined => {
      const stored = s.messages.get(params['message_id'] ?? '');
      return stored && !stored.deleted && !stored.ephemeral && stored.message.channel_id === channel.id ? stored : undefined;
    };
    this.#add('GET', '/channels/{channel_id}', 'none', ({ params }) => {
      const channel = channelOf(params);
      if (!channel || (channel.guildId && !can(channel, Permission.ViewChannel))) return err(404, 10003, 'Unknown Channel');
      return ok(channelJson(channel, channel.recipientId ? s.users.get(channel.recipientId) : undefined));
    });
    this.#add('POST', '/channels/{channel_id}/typing', 'none', ({ params }) => (channelOf(params) ? NO_CONTENT : err(404, 10003, 'Unknown Channel')));
    this.#add('POST', '/channels/{channel_id}/messages', 'channel-message', ({ params, body, files }) => {
      const channel = channelOf(params);
      if (!channel) return err(404, 10003, 'Unknown Channel');
      if (channel.type === ChannelType.DM) {
        const recipient = s.users.get(channel.recipientId ?? '');
        if (!recipient || recipient.bot || !recipient.dmsOpen) return err(403, 50007, 'Cannot send messages to this user');
      } else {
        if (!can(channel, Permission.ViewChannel)) return err(403, 50001, 'Missing Access');
        if (!can(channel, Permission.SendMessages)) return err(403, 50013, 'Missing Permissions');
        if (files.length && !can(channel, Permission.AttachFiles)) return err(403, 50013, 'Missing Permissions');
        if (body['message_reference'] && !can(channel, Permission.ReadMessageHistory)) return err(403, 50013, 'Missing Permissions');
      }
      if (isEmptyMessage(body, files)) return { ...err(400, 50006, 'Cannot send an empty message'), violation: { kind: 'empty-message', message: `empty message to channel ${channel.id}` } };
      const reference = body['message_reference'] as Json | undefined;
      if (reference && reference['type'] !== 1) {
        const target = s.messages.get(String(reference['message_id']));
        const valid = target && !target.deleted && !target.ephemeral && target.message.channel_id === (reference['channel_id'] ?? channel.id);
        if (!valid) {
          if (reference['fail_if_not_exists'] === false) body = { ...body, message_reference: undefined };
          else return { status: 400, body: invalidFormBody([{ path: ['message_reference'], code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', message: 'Unknown message' }]) };
        }
      }
      const nonce = body['nonce'];
      // Per author, across channels (Discord: "another message was created by the same author with the
      // same nonce"), for the window.
      const nonceKey = nonce !== undefined && nonce !== null ? `${s.bot.id}:${String(nonce)}` : null;
      if (nonceKey && body['enforce_nonce'] === true) {
        const seen = s.nonces.get(nonceKey);
        const existing = seen ? s.messages.get(seen.messageId) : undefined;
        if (seen && existing && !existing.deleted && Date.now() - seen.at < this.options.nonceWindowMs) return ok(existing.message);
      }
      const stored = s.createMessage({ channel, author: s.bot, body, files });
      if (nonceKey) s.nonces.set(nonceKey, { messageId: stored.message.id, at: Date.now() });
      return ok(stored.message);
    });
    this.#add('GET', '/channels/{channel_id}/messages', 'none', ({ params, query }) => {
      const channel = channelOf(params);
      if (!channel) return err(404, 10003, 'Unknown Channel');
      if (channel.guildId && !can(channel, Permission.ViewChannel)) return err(403, 50001, 'Missing Access');
      if (channel.guildId && !can(channel, Permission.ReadMessageHistory)) return ok([]);
      const limit = Math.min(Math.max(Number(query.get('limit') ?? 50), 1), 100);
      let list = s.channelMessages(channel.id).reverse();
      const before = query.get('before');
      const after = query.get('after');
      const around = query.get('around');
      if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
      if (after) list = list.filter((m) => BigInt(m.id) > BigInt(after)).reverse().slice(0, limit).reverse();
      if (around) {
        const index = list.findIndex((m) => BigInt(m.id) <= BigInt(around));
        const start = Math.max(0, index - Math.floor(limit / 2));
        list = list.slice(start);
      }
      return ok(list.slice(0, limit));
    });
    this.#add('GET', '/channels/{channel_id}/messages/{message_id}', 'none', ({ params }) => {
      const channel = channelOf(params);
      if (!channel) return err(404, 10003, 'Unknown Channel');
      if (channel.guildId && !can(channel, Permission.ReadMessageHistory)) return err(403, 50013, 'Missing Permissions');
      const stored = messageOf(channel, params);
      return stored ? ok(stored.message) : err(404, 10008, 'Unknown Message');
    });
    this.#add('PATCH', '/channels/{channel_id}/messages/{message_id}', 'edit', ({ params, body, files }) => {
      const channel = channelOf(params);
      if (!channel) return err(404, 10003, 'Unknown Channel');
      const stored = messageOf(channel, params);
      if (!stored) return err(404, 10008, 'Unknown Message');
      const onlyFlags = Object.keys(body).every((k) => k === 'flags');
      if (stored.message.author.id !== s.bot.id && !onlyFlags) return err(403, 50005, 'Cannot edit a message authored by another user');
      if (isEmptyMessage(body, files, stored.message)) return { ...err(400, 50006, 'Cannot send an empty message'), violation: { kind: 'empty-message', message: `edit would leave message ${stored.message.id} empty` } };
      s.editMessage(stored, body, files);
      return ok(stored.message);
    });
    this.#add('DELETE', '/channels/{channel_id}/messages/{message_id}', 'none', ({ params }) => {
      const channel = channelOf(params);
      if (!channel) return err(404, 10003, 'Unknown Channel');
      const stored = messageOf(channel, params);
      if (!stored) return err(404, 10008, 'Unknown Message');
      if (stored.message.author.id !== s.bot.id && !can(channel, Permission.ManageMessages)) return err(403, 50013, 'Missing Permissions');
      s.deleteMessage(stored);
      return NO_CONTENT;
    });

    // reactions
    const reactionTarget = (params: Record<string, string>): StoredMessage | RestAnswer => {
      const channel = channelOf(params);
      if (!channel) return err(404, 10003, 'Unknown Channel');
      const stored = messageOf(channel, params);
      if (!stored) return err(404, 10008, 'Unknown Message');
      if (!isEmoji(params['emoji_name'] ?? '')) return err(400, 10014, 'Unknown Emoji');
      if (channel.guildId && !can(channel, Permission.ReadMessageHistory)) return err(403, 50013, 'Missing Permissions');
      return stored;
    };
    const reactions = '/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}';
    this.#add('PUT', `${reactions}/@me`, 'none', ({ params }) => {
      const stored = reactionTarget(params);
      if (!('message' in stored)) return stored;
      const emoji = params['emoji_name'] ?? '';
      const channel = s.channel(stored.message.channel_id);
      if (!stored.reactions.has(emoji) && channel.guildId && !can(channel, Permission.AddReactions)) return err(403, 50013, 'Missing Permissions');
      s.addReaction(stored, emoji, s.bot.id);
      return NO_CONTENT;
    });
    this.#add('DELETE', `${reactions}/@me`, 'none', ({ params }) => {
      const stored = reactionTarget(params);
      if (!('message' in stored)) return stored;
      s.removeReaction(stored, params['emoji_name'] ?? '', s.bot.id);
      return NO_CONTENT;
    });
    this.#add('GET', reactions, 'none', ({ params }) => {
      const stored = reactionTarget(params);
      if (!('message' in stored)) return stored;
      const users = [...(stored.reactions.get(params['emoji_name'] ?? '') ?? [])].map((id) => s.users.get(id)).filter((u) => u !== undefined);
      return ok(users.map(userJson));
    });

    // interactions
    this.#add(
      'POST',
      '/interactions/{interaction_id}/{interaction_token}/callback',
      'callback',
      ({ params, body, files, query }) => this.interactions.callback(params['interaction_id'] ?? '', params['interaction_token'] ?? '', body, files, query.get('with_response') === 'true'),
      true,
    );
    const hook = '/webhooks/{webhook_id}/{webhook_token}';
    const ids = (params: Record<string, string>): [string, string] => [params['webhook_id'] ?? '', params['webhook_token'] ?? ''];
    this.#add('POST', hook, 'message', ({ params, body, files, query }) => this.interactions.followUp(...ids(params), body, files, query.get('wait') === 'true'), true);
    for (const target of ['@original', '{message_id}']) {
      const route = `${hook}/messages/${target}`;
      const messageId = (params: Record<string, string>): string => (target === '@original' ? '@original' : (params['message_id'] ?? ''));
      this.#add('GET', route, 'none', ({ params }) => this.interactions.getMessage(...ids(params), messageId(params)), true);
      this.#add('PATCH', route, 'edit', ({ params, body, files }) => this.interactions.editMessage(...ids(params), messageId(params), body, files), true);
      this.#add('DELETE', route, 'none', ({ params }) => this.interactions.deleteMessage(...ids(params), messageId(params)), true);
    }
  }
}

/** Discord's documented limits for the body kind of a route. */
function limitIssuesFor(kind: BodyKind, payload: unknown): Issue[] {
  const body = (payload && typeof payload === 'object' && !Array.isArray(payload) ? payload : {}) as Json;
  switch (kind) {
    case 'channel-message': {
      const issues = messageLimitIssues(body);
      const flags = typeof body['flags'] === 'number' ? body['flags'] : 0;
      // Only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE and IS_COMPONENTS_V2 may be set on a channel message.
      if (flags & ~(4 | 4096 | 8192 | 32768)) issues.push({ path: ['flags'], code: 'MESSAGE_FLAGS_INVALID', message: 'Invalid flags' });
      return issues;
    }
    case 'message':
    case 'edit':
      return messageLimitIssues(body);
    case 'callback': {
      const data = (body['data'] && typeof body['data'] === 'object' ? body['data'] : {}) as Json;
      const type = body['type'];
      if (type === 4 || type === 7) return messageLimitIssues(data, ['data']);
      if (type === 8) return autocompleteLimitIssues(data);
      if (type === 9) return modalLimitIssues(data);
      return [];
    }
    case 'commands': {
      const list = Array.isArray(payload) ? (payload as Json[]) : [];
      const issues = list.flatMap((c, i) => commandLimitIssues(c, [i]));
      const seen = new Set<string>();
      list.forEach((c, i) => {
        const key = `${String(c['type'] ?? 1)}:${String(c['name'])}`;
        if (seen.has(key)) issues.push({ path: [i, 'name'], code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: `Application command names must be unique` });
        seen.add(key);
      });
      return issues;
    }
    case 'command':
      return commandLimitIssues(body, []);
    default:
      return [];
  }
}

function isEmoji(value: string): boolean {
  return /^(?:a:)?[\w~]{2,32}:\d{17,20}$/.test(value) || /\p{Extended_Pictographic}|\p{Regional_Indicator}|[#*0-9]\uFE0F?\u20E3/u.test(value);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function tryJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return raw.toString('utf8');
  }
}

/** multipart/form-data: `payload_json` plus `files[n]` parts, parsed by the platform's own parser. */
async function parseMultipart(raw: Buffer, contentType: string): Promise<{ body: Json; files: SimFile[] }> {
  const form = await new Request('http://sim.local/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  let body: Json = {};
  const files: SimFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') body = JSON.parse(value) as Json;
      else body[field] = value;
      continue;
    }
    const data = Buffer.from(await value.arrayBuffer());
    files.push({ field, filename: value.name, contentType: value.type || 'application/octet-stream', size: data.length, data });
  }
  return { body, files };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (status === 204 || body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
