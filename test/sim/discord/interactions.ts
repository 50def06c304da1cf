import type { APIMessage } from 'discord.js';
import { interactionToken, snowflake } from './ids';
import { ChannelType, channelJson, memberJson, roleJson, toPermissions, userJson } from './model';
import type { Json, PermissionInput, SimChannel, SimGuild } from './model';
import type { SimFile, SimState, StoredMessage } from './state';

// ----- public shapes -----------------------------------------------------------------------------

/** What the bot did in answer to one interaction, in order. */
export type InteractionEvent =
  | { kind: 'callback'; at: number; type: number; data: Json | undefined; files: SimFile[] }
  | { kind: 'followup'; at: number; message: APIMessage }
  | { kind: 'edit'; at: number; target: string; message: APIMessage }
  | { kind: 'delete'; at: number; target: string };

export type CallbackEvent = Extract<InteractionEvent, { kind: 'callback' }>;

export interface InteractionContext {
  userId: string;
  /** Omit for a DM with the bot. */
  guildId?: string;
  /** Defaults to the guild's first text channel (or the user's DM channel). */
  channelId?: string;
  /** Overrides `member.permissions` (the caller's permissions in the channel, computed otherwise). */
  permissions?: PermissionInput;
  locale?: string;
}

/** An option value; its type comes from the registered command, else from the JS type. */
export type OptionInput =
  | string
  | number
  | boolean
  | { type: number; value: string | number | boolean }
  | { attachment: { filename: string; data: Buffer | Uint8Array | string; contentType?: string } };

export interface SlashInput extends InteractionContext {
  name: string;
  group?: string;
  subcommand?: string;
  options?: Record<string, OptionInput>;
  /**
   * The command has `default_member_permissions` the caller lacks; Discord only delivers it when a
   * server admin overrode the command's permissions, which this flag asserts.
   */
  overridden?: boolean;
}

export interface AutocompleteInput extends SlashInput {
  /** Name of the option being typed; its value in `options` is the partial text (a string). */
  focused: string;
}

export interface ComponentInput extends InteractionContext {
  /** Exact custom id, or a pattern matched against the buttons the message carries. */
  customId: string | RegExp;
  /** The message carrying the component; the newest message visible to the user with it otherwise. */
  messageId?: string;
}

export interface SelectInput extends ComponentInput {
  values: string[];
}

export interface ModalSubmitInput extends InteractionContext {
  customId: string;
  /** Text input custom id → value; string select custom id → chosen value(s). */
  fields: Record<string, string | string[]>;
}

interface Ctx {
  channel: SimChannel;
  guild: SimGuild | null;
  userId: string;
  permissions: bigint;
  locale: string;
}

interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  payload: Json;
  createdAt: number;
  userId: string;
  channelId: string;
  guildId: string | null;
  ack: { type: number; at: number } | null;
  originalId: string | null;
  componentMessageId: string | null;
  followUpIds: string[];
  events: InteractionEvent[];
}

export interface RestAnswer {
  status: number;
  body?: unknown;
  violation?: { kind: 'interaction' | 'empty-message'; message: string };
}

const error = (status: number, code: number, message: string, violation?: RestAnswer['violation']): RestAnswer => ({
  status,
  body: { message, code },
  ...(violation ? { violation } : {}),
});

/** Discord's "Cannot send an empty message" test. */
export function isEmptyMessage(body: Json, files: SimFile[], current?: APIMessage): boolean {
  const pick = <K extends string>(key: K, fallback: unknown): unknown => (key in body ? body[key] : fallback);
  const content = pick('content', current?.content);
  const embeds = pick('embeds', current?.embeds);
  const components = pick('components', current?.components);
  const attachments = pick('attachments', current?.attachments);
  const nonEmpty = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : typeof v === 'string' ? v.length > 0 : false);
  return !(nonEmpty(content) || nonEmpty(embeds) || nonEmpty(components) || nonEmpty(attachments) || files.length > 0 || !!body['poll'] || nonEmpty(body['sticker_ids']));
}

// ----- the handle tests hold ---------------------------------------------------------------------

export class InteractionHandle {
  constructor(
    private readonly record: InteractionRecord,
    private readonly state: SimState,
    private readonly timeoutMs: number,
  ) {}

  get id(): string {
    return this.record.id;
  }

  get token(): string {
    return this.record.token;
  }

  /** The INTERACTION_CREATE payload as dispatched. */
  get payload(): Json {
    return this.record.payload;
  }

  get events(): readonly InteractionEvent[] {
    return this.record.events;
  }

  /** The initial response, once the bot sent it. */
  get callback(): CallbackEvent | undefined {
    return this.record.events.find((e): e is CallbackEvent => e.kind === 'callback');
  }

  /** Whether the first response made everything ephemeral (flag 64). */
  get ephemeral(): boolean {
    const data = this.callback?.data;
    return typeof data?.['flags'] === 'number' && (data['flags'] & 64) === 64;
  }

  waitFor(predicate: (event: InteractionEvent) => boolean, timeoutMs = this.timeoutMs): Promise<InteractionEvent> {
    return this.state.waiter.until(() => this.record.events.find(predicate), timeoutMs, () => `an event of interaction ${this.describe()}`);
  }

  /** Waits for the initial response (callback). */
  acknowledged(timeoutMs = this.timeoutMs): Promise<CallbackEvent> {
    return this.state.waiter.until(() => this.callback, timeoutMs, () => `the response to interaction ${this.describe()}`);
  }

  /** The message `@original` designates now (the reply, or the component's message after an update). */
  original(): APIMessage | undefined {
    const id = this.record.originalId;
    const stored = id ? this.state.messages.get(id) : undefined;
    return stored && !stored.deleted ? stored.message : undefined;
  }

  followUps(): APIMessage[] {
    return this.record.followUpIds.map((id) => this.state.messages.get(id)).filter((m): m is StoredMessage => !!m && !m.deleted).map((m) => m.message);
  }

  /** Every message this interaction produced, original first. */
  messages(): APIMessage[] {
    const original = this.original();
    return [...(original && this.record.ack && this.record.ack.type !== 6 && this.record.ack.type !== 7 ? [original] : []), ...this.followUps()];
  }

  /**
   * The visible answer: the reply (type 4), the deferred reply once edited (type 5), the updated
   * component message (type 7, or type 6 followed by an edit).
   */
  reply(timeoutMs = this.timeoutMs): Promise<APIMessage> {
    return this.state.waiter.until(
      () => {
        const ack = this.record.ack;
        if (!ack) return undefined;
        if (ack.type === 8 || ack.type === 9) throw new Error(`discord sim: interaction ${this.describe()} was answered with callback type ${ack.type}, not a message`);
        if (ack.type === 6 && !this.record.events.some((e) => e.kind === 'edit')) return undefined;
        const message = this.original();
        return message && !((message.flags ?? 0) & 128) ? message : undefined;
      },
      timeoutMs,
      () => `the reply to interaction ${this.describe()}`,
    );
  }

  /** The modal the bot showed (callback type 9). */
  async modal(timeoutMs = this.timeoutMs): Promise<Json> {
    const cb = await this.acknowledged(timeoutMs);
    if (cb.type !== 9 || !cb.data) throw new Error(`discord sim: expected a modal, got callback type ${cb.type}`);
    return cb.data;
  }

  /** Autocomplete choices (callback type 8). */
  async choices(timeoutMs = this.timeoutMs): Promise<{ name: string; value: string | number }[]> {
    const cb = await this.acknowledged(timeoutMs);
    if (cb.type !== 8) throw new Error(`discord sim: expected autocomplete choices, got callback type ${cb.type}`);
    return (cb.data?.['choices'] ?? []) as { name: string; value: string | number }[];
  }

  /** Waits for the callback, then until nothing more happens for `quietMs`; returns every event. */
  async responses(opts: { quietMs?: number; timeoutMs?: number } = {}): Promise<readonly InteractionEvent[]> {
    await this.state.waiter.quiet(() => this.record.ack !== null, opts.quietMs ?? 150, opts.timeoutMs ?? this.timeoutMs, `the response to interaction ${this.describe()}`);
    return this.record.events;
  }

  private describe(): string {
    const data = this.record.payload['data'] as Json | undefined;
    const name = data?.['name'] ?? data?.['custom_id'] ?? '';
    return `${this.record.id} (type ${this.record.type} ${String(name)})`;
  }
}

// ----- injection and the REST side --------------------------------------------------------------

export class Interactions {
  readonly records = new Map<string, InteractionRecord>();
  /** Ids the simulator gives to commands nobody registered, stable by name. */
  readonly #unregisteredIds = new Map<string, string>();

  constructor(
    private readonly state: SimState,
    private readonly applicationId: string,
    private readonly opts: { ackTimeoutMs: number; waitTimeoutMs: number; commands: () => { global: Json[]; guild: Map<string, Json[]> } },
  ) {}

  unacknowledged(now = Date.now()): string[] {
    return [...this.records.values()].filter((r) => !r.ack && now - r.createdAt > this.opts.ackTimeoutMs).map((r) => r.id);
  }

  slash(input: SlashInput): InteractionHandle {
    return this.#command(2, input, undefined);
  }

  autocomplete(input: AutocompleteInput): InteractionHandle {
    return this.#command(4, input, input.focused);
  }

  button(input: ComponentInput): InteractionHandle {
    return this.#component(input, 2, undefined);
  }

  select(input: SelectInput): InteractionHandle {
    return this.#component(input, 3, input.values);
  }

  modalSubmit(input: ModalSubmitInput): InteractionHandle {
    const shown = [...this.records.values()]
      .reverse()
      .find((r) => r.userId === input.userId && r.events.some((e) => e.kind === 'callback' && e.type === 9 && e.data?.['custom_id'] === input.customId));
    const modal = shown?.events.find((e): e is CallbackEvent => e.kind === 'callback' && e.type === 9)?.data;
    if (!shown || !modal) throw new Error(`discord sim: no modal with custom_id ${input.customId} was shown to ${input.userId}`);
    const used = new Set<string>();
    const submitInput = (raw: unknown): Json | null => {
      const input_ = raw as Json;
      const kind = input_['type'];
      if (kind === 10) return null; // text display: nothing to submit
      const id = String(input_['custom_id']);
      const value = input.fields[id];
      const idPart = input_['id'] !== undefined ? { id: input_['id'] } : {};
      if (value === undefined && input_['required'] !== false) throw new Error(`discord sim: modal ${input.customId} requires field ${id}`);
      used.add(id);
      if (kind === 3) {
        const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
        const options = ((input_['options'] ?? []) as Json[]).map((o) => o['value']);
        const bad = values.find((v) => !options.includes(v));
        if (bad !== undefined) throw new Error(`discord sim: ${bad} is not an option of select ${id}`);
        return { type: 3, ...idPart, custom_id: id, values };
      }
      if (kind !== 4) throw new Error(`discord sim: modal component type ${String(kind)} is not simulated`);
      const text = Array.isArray(value) ? value.join(',') : value;
      const max = typeof input_['max_length'] === 'number' ? input_['max_length'] : 4000;
      const min = typeof input_['min_length'] === 'number' ? input_['min_length'] : 0;
      if (text !== undefined && (text.length > max || (text.length > 0 && text.length < min))) {
        throw new Error(`discord sim: field ${id} must be ${min}..${max} characters (the Discord client enforces it)`);
      }
      return { type: 4, ...idPart, custom_id: id, value: text ?? '' };
    };
    const components = ((modal['components'] ?? []) as Json[]).flatMap((top): Json[] => {
      if (top['type'] === 18) {
        const component = submitInput(top['component']);
        return component ? [{ type: 18, ...(top['id'] !== undefined ? { id: top['id'] } : {}), component }] : [];
      }
      if (top['type'] === 1) return [{ type: 1, components: ((top['components'] ?? []) as Json[]).map(submitInput).filter((c): c is Json => c !== null) }];
      return [];
    });
    for (const key of Object.keys(input.fields)) {
      if (!used.has(key)) throw new Error(`discord sim: modal ${input.customId} has no field ${key}`);
    }
    const ctx = this.#context({ ...input, ...(input.channelId || !shown.channelId ? {} : { channelId: shown.channelId }), ...(input.guildId || !shown.guildId ? {} : { guildId: shown.guildId }) });
    const message = shown.componentMessageId ? this.state.messages.get(shown.componentMessageId)?.message : undefined;
    return this.#inject(5, ctx, { custom_id: input.customId, components }, { ...(message ? { message } : {}) }, shown.componentMessageId);
  }

  // ----- builders

  #context(input: InteractionContext): Ctx {
    const user = this.state.user(input.userId);
    const guild = input.guildId ? this.state.guild(input.guildId) : null;
    let channel: SimChannel;
    if (input.channelId) channel = this.state.channel(input.channelId);
    else if (guild) {
      const first = guild.channelIds.map((id) => this.state.channel(id)).find((c) => c.type === ChannelType.GuildText);
      if (!first) throw new Error(`discord sim: guild ${guild.name} has no text channel`);
      channel = first;
    } else channel = this.state.dmChannelFor(user.id);
    if (guild && channel.guildId !== guild.id) throw new Error(`discord sim: channel ${channel.id} is not in guild ${guild.id}`);
    if (guild && !guild.members.has(user.id)) throw new Error(`discord sim: ${user.username} is not a member of ${guild.name}`);
    const permissions = input.permissions !== undefined ? toPermissions(input.permissions) : this.state.permissionsIn(channel, user.id);
    return { channel, guild, userId: user.id, permissions, locale: input.locale ?? 'en-US' };
  }

  #inject(type: number, ctx: Ctx, data: Json, extra: Json, componentMessageId: string | null): InteractionHandle {
    const id = snowflake();
    const token = interactionToken(id);
    const { channel, guild } = ctx;
    const user = this.state.user(ctx.userId);
    const payload: Json = {
      id,
      application_id: this.applicationId,
      type,
      token,
      version: 1,
      data,
      channel_id: channel.id,
      channel: guild
        ? { ...channelJson(channel), permissions: ctx.permissions.toString() }
        : { ...channelJson(channel, user), recipients: [userJson(user)] },
      app_permissions: this.state.permissionsIn(channel, this.state.bot.id).toString(),
      locale: ctx.locale,
      entitlements: [],
      entitlement_sku_ids: [],
      authorizing_integration_owners: guild ? { '0': guild.id } : { '0': '0' },
      context: guild ? 0 : 1,
      attachment_size_limit: 10 * 1024 * 1024,
      ...(guild
        ? {
            guild_id: guild.id,
            guild: { id: guild.id, locale: 'en-US', features: [] },
            guild_locale: 'en-US',
            member: { ...memberJson(guild, guild.members.get(user.id) ?? { userId: user.id, roles: [], nick: null, joinedAt: new Date().toISOString() }, user), permissions: ctx.permissions.toString() },
          }
        : { user: userJson(user) }),
      ...extra,
    };
    const record: InteractionRecord = {
      id,
      token,
      type,
      payload,
      createdAt: Date.now(),
      userId: user.id,
      channelId: channel.id,
      guildId: guild?.id ?? null,
      ack: null,
      originalId: null,
      componentMessageId,
      followUpIds: [],
      events: [],
    };
    this.records.set(id, record);
    this.state.dispatch('INTERACTION_CREATE', () => payload);
    this.state.changed();
    return new InteractionHandle(record, this.state, this.opts.waitTimeoutMs);
  }

  #findCommand(name: string, guildId: string | undefined): Json | undefined {
    const { global, guild } = this.opts.commands();
    const inGuild = guildId ? (guild.get(guildId) ?? []) : [];
    return [...inGuild, ...global].find((c) => c['name'] === name && (c['type'] ?? 1) === 1);
  }

  #command(type: 2 | 4, input: SlashInput, focused: string | undefined): InteractionHandle {
    const ctx = this.#context(input);
    const command = this.#findCommand(input.name, ctx.guild?.id);
    if (command && ctx.guild && command['default_member_permissions'] != null && !input.overridden && input.permissions === undefined) {
      const needed = BigInt(String(command['default_member_permissions']));
      if ((ctx.permissions & needed) !== needed) {
        throw new Error(`discord sim: /${input.name} needs permissions ${needed} that ${input.userId} lacks; pass overridden: true to model a server override`);
      }
    }
    let defs = command ? ((command['options'] ?? []) as Json[]) : null;
    const path: Json[] = [];
    const descend = (name: string | undefined, kind: 1 | 2): void => {
      if (!name) return;
      if (defs) {
        const def = defs.find((o) => o['name'] === name && o['type'] === kind);
        if (!def) throw new Error(`discord sim: /${input.name} has no ${kind === 2 ? 'group' : 'subcommand'} ${name}`);
        defs = (def['options'] ?? []) as Json[];
      }
      path.push({ type: kind, name });
    };
    descend(input.group, 2);
    descend(input.subcommand, 1);
    if (defs && !input.subcommand && defs.some((o) => o['type'] === 1 || o['type'] === 2)) {
      throw new Error(`discord sim: /${input.name} needs a subcommand`);
    }
    const resolved: Record<string, Json> = {};
    const leaf: Json[] = [];
    for (const [name, raw] of Object.entries(input.options ?? {})) {
      const def = defs?.find((o) => o['name'] === name);
      if (defs && !def) throw new Error(`discord sim: /${[input.name, input.group, input.subcommand].filter(Boolean).join(' ')} has no option ${name}`);
      if (name === focused) {
        leaf.push({ name, type: def ? def['type'] : 3, value: String(raw as string), focused: true });
        continue;
      }
      leaf.push(this.#option(name, raw, def, ctx, resolved));
    }
    if (defs && type === 2) {
      for (const def of defs) {
        if (def['required'] === true && !(String(def['name']) in (input.options ?? {}))) throw new Error(`discord sim: option ${String(def['name'])} is required`);
      }
    }
    if (focused !== undefined && !(focused in (input.options ?? {}))) leaf.push({ name: focused, type: 3, value: '', focused: true });
    let options: Json[] = leaf;
    for (const level of [...path].reverse()) options = [{ ...level, options }];
    const commandId = command ? String(command['id']) : this.#unregisteredId(input.name);
    const data: Json = {
      id: commandId,
      name: input.name,
      type: 1,
      ...(options.length ? { options } : {}),
      ...(Object.keys(resolved).length ? { resolved } : {}),
      ...(command?.['guild_id'] ? { guild_id: command['guild_id'] } : {}),
    };
    return this.#inject(type, ctx, data, {}, null);
  }

  #unregisteredId(name: string): string {
    let id = this.#unregisteredIds.get(name);
    if (!id) {
      id = snowflake();
      this.#unregisteredIds.set(name, id);
    }
    return id;
  }

  #option(name: string, raw: OptionInput, def: Json | undefined, ctx: Ctx, resolved: Record<string, Json>): Json {
    const section = (key: string): Json => (resolved[key] ??= {}) as Json;
    if (typeof raw === 'object' && 'attachment' in raw) {
      const id = snowflake();
      const data = Buffer.from(raw.attachment.data);
      const contentType = raw.attachment.contentType ?? 'application/octet-stream';
      const url = `${this.state.attachmentBaseUrl}/attachments/${ctx.channel.id}/${id}/${encodeURIComponent(raw.attachment.filename)}`;
      this.state.attachments.set(id, { id, messageId: '', channelId: ctx.channel.id, filename: raw.attachment.filename, contentType, size: data.length, data, url });
      section('attachments')[id] = { id, filename: raw.attachment.filename, size: data.length, url, proxy_url: url, content_type: contentType, ephemeral: true };
      return { name, type: 11, value: id };
    }
    const explicit = typeof raw === 'object' ? raw : null;
    const value = explicit ? explicit.value : (raw as string | number | boolean);
    const type =
      explicit?.type ??
      (typeof def?.['type'] === 'number' ? def['type'] : typeof value === 'boolean' ? 5 : typeof value === 'number' ? (Number.isInteger(value) ? 4 : 10) : 3);
    const fail = (why: string): never => {
      throw new Error(`discord sim: option ${name}: ${why} (the Discord client would not send it)`);
    };
    switch (type) {
      case 3: {
        const s = String(value);
        if (typeof def?.['max_length'] === 'number' && s.length > def['max_length']) fail(`longer than ${def['max_length']}`);
        if (typeof def?.['min_length'] === 'number' && s.length < def['min_length']) fail(`shorter than ${def['min_length']}`);
        this.#checkChoice(def, s, fail);
        return { name, type, value: s };
      }
      case 4:
      case 10: {
        const n = typeof value === 'number' ? value : Number(value);
        if (!Number.isFinite(n) || (type === 4 && !Number.isInteger(n))) fail(`not ${type === 4 ? 'an integer' : 'a number'}`);
        if (typeof def?.['min_value'] === 'number' && n < def['min_value']) fail(`below ${def['min_value']}`);
        if (typeof def?.['max_value'] === 'number' && n > def['max_value']) fail(`above ${def['max_value']}`);
        this.#checkChoice(def, n, fail);
        return { name, type, value: n };
      }
      case 5:
        return { name, type, value: value === true || value === 'true' };
      case 6:
      case 9: {
        const id = String(value);
        const user = this.state.users.get(id);
        const role = ctx.guild?.roles.get(id);
        if (user) {
          section('users')[id] = userJson(user);
          const member = ctx.guild?.members.get(id);
          if (ctx.guild && member) {
            const { user: _u, ...rest } = memberJson(ctx.guild, member, undefined) as unknown as Json;
            section('members')[id] = { ...rest, permissions: this.state.permissionsIn(ctx.channel, id).toString() };
          }
        } else if (role && type === 9) section('roles')[id] = roleJson(role);
        else fail(`no user ${id}`);
        return { name, type, value: id };
      }
      case 7: {
        const channel = this.state.channels.get(String(value)) ?? fail(`no channel ${String(value)}`);
        section('channels')[channel.id] = {
          id: channel.id,
          name: channel.name,
          type: channel.type,
          permissions: this.state.permissionsIn(channel, ctx.userId).toString(),
          ...(channel.parentId ? { parent_id: channel.parentId } : {}),
        };
        return { name, type, value: channel.id };
      }
      case 8: {
        const role = ctx.guild?.roles.get(String(value)) ?? fail(`no role ${String(value)}`);
        section('roles')[role.id] = roleJson(role);
        return { name, type, value: role.id };
      }
      default:
        return { name, type, value };
    }
  }

  #checkChoice(def: Json | undefined, value: unknown, fail: (why: string) => never): void {
    const choices = def?.['choices'];
    if (Array.isArray(choices) && choices.length > 0 && !choices.some((c) => (c as Json)['value'] === value)) {
      fail(`${JSON.stringify(value)} is not one of the choices`);
    }
  }

  #component(input: ComponentInput, componentType: 2 | 3, values: string[] | undefined): InteractionHandle {
    const matches = (id: unknown): boolean => typeof id === 'string' && (typeof input.customId === 'string' ? id === input.customId : input.customId.test(id));
    const find = (stored: StoredMessage): Json | undefined => findComponent(stored.message.components, (c) => c['type'] === componentType && matches(c['custom_id']));
    const visible = (m: StoredMessage): boolean => !m.deleted && (!m.ephemeral || m.viewerId === input.userId);
    let stored: StoredMessage | undefined;
    if (input.messageId) {
      stored = this.state.messages.get(input.messageId);
      if (!stored || !visible(stored)) throw new Error(`discord sim: message ${input.messageId} is not visible to ${input.userId}`);
    } else {
      const candidates = [...this.state.messages.values()].filter((m) => visible(m) && (!input.channelId || m.message.channel_id === input.channelId) && find(m));
      stored = candidates.sort((a, b) => (BigInt(a.message.id) < BigInt(b.message.id) ? 1 : -1))[0];
    }
    const component = stored ? find(stored) : undefined;
    if (!stored || !component) throw new Error(`discord sim: no visible message carries a ${componentType === 2 ? 'button' : 'select menu'} ${String(input.customId)}`);
    if (component['disabled'] === true) throw new Error(`discord sim: component ${String(component['custom_id'])} is disabled`);
    if (componentType === 2 && component['style'] === 5) throw new Error('discord sim: link buttons send no interaction');
    const channel = this.state.channel(stored.message.channel_id);
    const ctx = this.#context({ ...input, channelId: channel.id, ...(channel.guildId ? { guildId: channel.guildId } : {}) });
    const data: Json = {
      custom_id: component['custom_id'],
      component_type: componentType,
      ...(component['id'] !== undefined ? { id: component['id'] } : {}),
      ...(values ? { values } : {}),
    };
    return this.#inject(3, ctx, data, { message: stored.message }, stored.message.id);
  }

  // ----- REST: callbacks and webhooks

  #messageType(record: InteractionRecord): number {
    return record.type === 2 ? 20 : 0;
  }

  #interactionMeta(record: InteractionRecord): Partial<APIMessage> {
    const user = this.state.user(record.userId);
    const data = record.payload['data'] as Json | undefined;
    return {
      webhook_id: this.applicationId,
      application_id: this.applicationId,
      interaction_metadata: {
        id: record.id,
        type: record.type,
        user: userJson(user),
        authorizing_integration_owners: record.payload['authorizing_integration_owners'],
        ...(record.type === 2 ? { name: data?.['name'], command_type: 1 } : {}),
        ...(record.componentMessageId && record.type === 3 ? { interacted_message_id: record.componentMessageId } : {}),
      },
    } as Partial<APIMessage>;
  }

  #newMessage(record: InteractionRecord, body: Json, files: SimFile[], opts: { loading?: boolean; first: boolean }): StoredMessage {
    const flags = typeof body['flags'] === 'number' ? body['flags'] : 0;
    const ephemeral = (flags & 64) === 64;
    return this.state.createMessage({
      channel: this.state.channel(record.channelId),
      author: this.state.bot,
      body: opts.loading ? { ...body, flags: flags | 128 } : body,
      files,
      type: opts.first ? this.#messageType(record) : 0,
      ephemeral,
      viewerId: ephemeral ? record.userId : null,
      interactionId: record.id,
      extra: this.#interactionMeta(record),
    });
  }

  callback(interactionId: string, token: string, body: Json, files: SimFile[], withResponse: boolean): RestAnswer {
    const record = this.records.get(interactionId);
    if (!record) return error(404, 10062, 'Unknown interaction');
    if (record.token !== token) return error(401, 50027, 'Invalid Webhook Token');
    if (record.ack) {
      return error(400, 40060, 'Interaction has already been acknowledged.', { kind: 'interaction', message: `interaction ${record.id} acknowledged twice` });
    }
    const elapsed = Date.now() - record.createdAt;
    if (elapsed > this.opts.ackTimeoutMs) {
      return error(404, 10062, 'Unknown interaction', { kind: 'interaction', message: `interaction ${record.id} acknowledged after ${elapsed} ms (limit ${this.opts.ackTimeoutMs} ms)` });
    }
    const type = Number(body['type']);
    const allowed: Record<number, number[]> = { 2: [4, 5, 9], 3: [4, 5, 6, 7, 9], 4: [8], 5: record.componentMessageId ? [4, 5, 6, 7] : [4, 5] };
    if (!(allowed[record.type] ?? []).includes(type)) {
      return error(400, 50035, 'Invalid Form Body', { kind: 'interaction', message: `callback type ${type} is not valid for interaction type ${record.type}` });
    }
    const data = body['data'] && typeof body['data'] === 'object' ? (body['data'] as Json) : undefined;
    if (type === 4 && isEmptyMessage(data ?? {}, files)) {
      return error(400, 50006, 'Cannot send an empty message', { kind: 'empty-message', message: `empty reply to interaction ${record.id}` });
    }
    let message: StoredMessage | undefined;
    if (type === 4) message = this.#newMessage(record, data ?? {}, files, { first: true });
    else if (type === 5) message = this.#newMessage(record, { content: '', flags: typeof data?.['flags'] === 'number' ? data['flags'] : 0 }, [], { loading: true, first: true });
    else if (type === 7 || type === 6) {
      message = record.componentMessageId ? this.state.messages.get(record.componentMessageId) : undefined;
      if (type === 7 && message && data) this.state.editMessage(message, data, files);
    }
    record.ack = { type, at: Date.now() };
    if (message) record.originalId = message.message.id;
    record.events.push({ kind: 'callback', at: Date.now(), type, data, files });
    this.state.changed();
    if (!withResponse) return { status: 204 };
    return {
      status: 200,
      body: {
        interaction: {
          id: record.id,
          type: record.type,
          ...(message ? { response_message_id: message.message.id, response_message_loading: type === 5, response_message_ephemeral: message.ephemeral } : {}),
        },
        ...(message && type !== 6 ? { resource: { type, message: message.message } } : { resource: { type } }),
      },
    };
  }

  #byWebhook(webhookId: string, token: string): InteractionRecord | RestAnswer {
    if (webhookId !== this.applicationId) return error(404, 10015, 'Unknown Webhook');
    const record = [...this.records.values()].find((r) => r.token === token);
    if (!record) return error(404, 10015, 'Unknown Webhook');
    if (Date.now() - record.createdAt > 15 * 60_000) return error(404, 10015, 'Unknown Webhook');
    if (!record.ack) {
      return error(404, 10015, 'Unknown Webhook', { kind: 'interaction', message: `webhook call for interaction ${record.id} before it was acknowledged` });
    }
    return record;
  }

  followUp(webhookId: string, token: string, body: Json, files: SimFile[], wait: boolean): RestAnswer {
    const found = this.#byWebhook(webhookId, token);
    if (!('id' in found)) return found;
    const record = found;
    if (isEmptyMessage(body, files)) return error(400, 50006, 'Cannot send an empty message', { kind: 'empty-message', message: `empty follow-up to interaction ${record.id}` });
    const original = record.originalId ? this.state.messages.get(record.originalId) : undefined;
    let message: StoredMessage;
    if (record.ack?.type === 5 && original && (original.message.flags ?? 0) & 128) {
      // Discord: right after a deferred reply, a follow-up edits the loading message instead (its
      // ephemeral state stays what the defer chose).
      this.state.editMessage(original, body, files, { extraFlagsToClear: 128 });
      message = original;
      record.events.push({ kind: 'edit', at: Date.now(), target: '@original', message: original.message });
    } else {
      message = this.#newMessage(record, body, files, { first: false });
      record.followUpIds.push(message.message.id);
      record.events.push({ kind: 'followup', at: Date.now(), message: message.message });
    }
    this.state.changed();
    return wait ? { status: 200, body: message.message } : { status: 204 };
  }

  #target(record: InteractionRecord, messageId: string): StoredMessage | undefined {
    const id = messageId === '@original' ? record.originalId : messageId;
    if (!id) return undefined;
    if (id !== record.originalId && !record.followUpIds.includes(id)) return undefined;
    const stored = this.state.messages.get(id);
    return stored && !stored.deleted ? stored : undefined;
  }

  getMessage(webhookId: string, token: string, messageId: string): RestAnswer {
    const found = this.#byWebhook(webhookId, token);
    if (!('id' in found)) return found;
    const stored = this.#target(found, messageId);
    return stored ? { status: 200, body: stored.message } : error(404, 10008, 'Unknown Message');
  }

  editMessage(webhookId: string, token: string, messageId: string, body: Json, files: SimFile[]): RestAnswer {
    const found = this.#byWebhook(webhookId, token);
    if (!('id' in found)) return found;
    const stored = this.#target(found, messageId);
    if (!stored) return error(404, 10008, 'Unknown Message');
    if (isEmptyMessage(body, files, stored.message)) return error(400, 50006, 'Cannot send an empty message', { kind: 'empty-message', message: `edit would leave message ${stored.message.id} empty` });
    this.state.editMessage(stored, body, files, { extraFlagsToClear: 128 });
    found.events.push({ kind: 'edit', at: Date.now(), target: messageId, message: stored.message });
    this.state.changed();
    return { status: 200, body: stored.message };
  }

  deleteMessage(webhookId: string, token: string, messageId: string): RestAnswer {
    const found = this.#byWebhook(webhookId, token);
    if (!('id' in found)) return found;
    const stored = this.#target(found, messageId);
    if (!stored) return error(404, 10008, 'Unknown Message');
    this.state.deleteMessage(stored);
    found.events.push({ kind: 'delete', at: Date.now(), target: messageId });
    this.state.changed();
    return { status: 204 };
  }
}

/** Depth-first search through action rows, containers and sections. */
function findComponent(components: unknown, match: (c: Json) => boolean): Json | undefined {
  if (!Array.isArray(components)) return undefined;
  for (const raw of components) {
    const c = raw as Json;
    if (match(c)) return c;
    const inner = findComponent(c['components'], match) ?? (c['accessory'] ? findComponent([c['accessory']], match) : undefined);
    if (inner) return inner;
  }
  return undefined;
}
