import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { sessionId as newSessionId } from './ids';
import { Intent, PRIVILEGED_INTENTS, memberJson, userJson } from './model';
import type { Json } from './model';
import type { SimState } from './state';

export interface GatewayOptions {
  token: string;
  applicationId: string;
  /** Sent in HELLO; discord.js beats every interval after a random first wait. */
  heartbeatIntervalMs: number;
  /** Privileged intents the application may use (all by default); others close the socket with 4014. */
  allowedPrivilegedIntents: number;
  /** Servers one shard may serve before Discord closes its identify with 4011 (Discord: 2,500). */
  maxGuildsPerShard: number;
}

/** The server an event belongs to: `guild_id`, or the guild itself for GUILD_CREATE / UPDATE / DELETE. */
function guildOf(t: string, d: Json): string | undefined {
  const id = d['guild_id'] ?? (t === 'GUILD_CREATE' || t === 'GUILD_UPDATE' || t === 'GUILD_DELETE' ? d['id'] : undefined);
  return typeof id === 'string' ? id : undefined;
}

/** The shard a server's events go to (Discord: `(guild_id >> 22) % num_shards`); DMs go to shard 0. */
export function shardOf(guildId: string | undefined, count: number): number {
  return guildId === undefined ? 0 : Number((BigInt(guildId) >> 22n) % BigInt(count));
}

/** How a test knocks the client off the gateway. */
export type ReconnectVia =
  /** op 7 RECONNECT: the client closes with 4200 and resumes. */
  | 'reconnect'
  /** The server closes the socket with 4000; the client resumes. */
  | 'close'
  /** The TCP connection drops without a close frame (1006); the client resumes. */
  | 'drop'
  /** op 9 INVALID_SESSION (not resumable): the client identifies again and gets READY + GUILD_CREATE. */
  | 'invalid-session';

interface Entry {
  op: 0;
  t: string;
  s: number;
  d: Json;
}

interface Session {
  id: string;
  /** [shard id, shard count] from IDENTIFY ([0, 1] when none was sent). */
  shard: [number, number];
  intents: number;
  seq: number;
  log: Entry[];
  socket: WebSocket | null;
  invalid: boolean;
}

interface Connection {
  ws: WebSocket;
  session: Session | null;
}

const LOG_LIMIT = 5000;

/** The gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay, intents. */
export class Gateway {
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sessions = new Map<string, Session>();
  readonly #connections = new Set<Connection>();
  #hold: Promise<void> | null = null;
  url = '';

  constructor(
    private readonly state: SimState,
    private readonly options: GatewayOptions,
  ) {
    state.dispatcher = (t, build) => this.#broadcast(t, build);
  }

  /** Sessions with an open, identified socket. */
  get connectedSessions(): number {
    return [...this.#sessions.values()].filter((s) => s.socket?.readyState === WebSocket.OPEN).length;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/gateway' && url.pathname !== '/gateway/') {
      socket.destroy();
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, url));
  }

  #onConnection(ws: WebSocket, url: URL): void {
    this.state.stats.connections += 1;
    const conn: Connection = { ws, session: null };
    this.#connections.add(conn);
    ws.on('close', (code) => this.#onClose(conn, code));
    ws.on('error', () => undefined);
    if (url.searchParams.get('v') !== '10') {
      ws.close(4012, 'Invalid API version');
      return;
    }
    if ((url.searchParams.get('encoding') ?? 'json') !== 'json') {
      ws.close(4002, 'Only JSON encoding is simulated');
      return;
    }
    if (url.searchParams.has('compress')) {
      ws.close(4000, 'Transport compression is not simulated');
      return;
    }
    ws.on('message', (data, isBinary) => void this.#onMessage(conn, data, isBinary));
    this.#send(ws, { op: 10, d: { heartbeat_interval: this.options.heartbeatIntervalMs } });
  }

  async #onMessage(conn: Connection, raw: RawData, isBinary: boolean): Promise<void> {
    let payload: { op?: unknown; d?: unknown };
    try {
      if (isBinary) throw new Error('binary');
      payload = JSON.parse(raw.toString()) as { op?: unknown; d?: unknown };
    } catch {
      conn.ws.close(4002, 'Decode error');
      return;
    }
    const d = (payload.d ?? null) as Json | null;
    switch (payload.op) {
      case 1:
        this.state.stats.heartbeats += 1;
        this.#send(conn.ws, { op: 11 });
        this.state.changed();
        return;
      case 2:
        if (this.#hold) await this.#hold;
        this.#identify(conn, d ?? {});
        return;
      case 6:
        if (this.#hold) await this.#hold;
        this.#resume(conn, d ?? {});
        return;
      case 3:
      case 4:
        if (!conn.session) conn.ws.close(4003, 'Not authenticated');
        return;
      case 8:
        if (!conn.session) conn.ws.close(4003, 'Not authenticated');
        else this.#requestMembers(conn.session, d ?? {});
        return;
      default:
        conn.ws.close(4001, 'Unknown opcode');
    }
  }

  #identify(conn: Connection, d: Json): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    if (conn.session) {
      conn.ws.close(4005, 'Already authenticated');
      return;
    }
    if (d['token'] !== this.options.token) {
      conn.ws.close(4004, 'Authentication failed');
      return;
    }
    const intents = d['intents'];
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0) {
      conn.ws.close(4013, 'Invalid intent(s)');
      return;
    }
    if (intents & PRIVILEGED_INTENTS & ~this.options.allowedPrivilegedIntents) {
      conn.ws.close(4014, 'Disallowed intent(s)');
      return;
    }
    const asked = d['shard'];
    const shard: [number, number] = Array.isArray(asked) ? [Number(asked[0]), Number(asked[1])] : [0, 1];
    if (!Number.isInteger(shard[0]) || !Number.isInteger(shard[1]) || shard[1] < 1 || shard[0] < 0 || shard[0] >= shard[1]) {
      conn.ws.close(4010, 'Invalid shard');
      return;
    }
    // Too many servers for one shard of this count.
    const served = [...this.state.guilds.keys()].filter((id) => shardOf(id, shard[1]) === shard[0]).length;
    if (served > this.options.maxGuildsPerShard) {
      conn.ws.close(4011, 'Sharding required');
      return;
    }
    const session: Session = { id: newSessionId(), shard, intents, seq: 0, log: [], socket: conn.ws, invalid: false };
    this.#sessions.set(session.id, session);
    conn.session = session;
    this.state.stats.identifies += 1;
    const bot = this.state.bot;
    this.#emit(session, 'READY', {
      v: 10,
      user_settings: {},
      user: { ...userJson(bot), verified: true, mfa_enabled: false, email: null, flags: 0 },
      guilds: [...this.state.guilds.keys()].filter((id) => this.#serves(session, id)).map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.url,
      shard,
      application: { id: this.options.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      _trace: ['["discord-sim-gateway"]'],
    });
    if (intents & Intent.Guilds) {
      for (const guild of this.state.guilds.values())
        if (this.#serves(session, guild.id)) this.#emit(session, 'GUILD_CREATE', this.state.guildCreateJson(guild));
    }
    this.state.changed();
  }

  #resume(conn: Connection, d: Json): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    const session = typeof d['session_id'] === 'string' ? this.#sessions.get(d['session_id']) : undefined;
    const seq = typeof d['seq'] === 'number' ? d['seq'] : -1;
    const first = session?.log[0]?.s ?? 1;
    if (!session || session.invalid || d['token'] !== this.options.token || seq < first - 1 || seq > session.seq) {
      this.#send(conn.ws, { op: 9, d: false });
      return;
    }
    if (session.socket && session.socket !== conn.ws && session.socket.readyState === WebSocket.OPEN) session.socket.close(4009, 'Session resumed elsewhere');
    conn.session = session;
    for (const entry of session.log) if (entry.s > seq) this.#send(conn.ws, entry);
    session.socket = conn.ws;
    this.state.stats.resumes += 1;
    this.#emit(session, 'RESUMED', { _trace: ['["discord-sim-gateway"]'] });
    this.state.changed();
  }

  #requestMembers(session: Session, d: Json): void {
    const guild = typeof d['guild_id'] === 'string' ? this.state.guilds.get(d['guild_id']) : undefined;
    if (!guild) return;
    const query = typeof d['query'] === 'string' ? d['query'].toLowerCase() : '';
    const ids = Array.isArray(d['user_ids']) ? (d['user_ids'] as string[]) : null;
    const limit = typeof d['limit'] === 'number' && d['limit'] > 0 ? d['limit'] : Number.POSITIVE_INFINITY;
    const members = [...guild.members.values()]
      .filter((m) => (ids ? ids.includes(m.userId) : (this.state.users.get(m.userId)?.username ?? '').toLowerCase().startsWith(query)))
      .slice(0, limit);
    this.#emit(session, 'GUILD_MEMBERS_CHUNK', {
      guild_id: guild.id,
      members: members.map((m) => memberJson(guild, m, this.state.users.get(m.userId))),
      chunk_index: 0,
      chunk_count: 1,
      ...(ids ? { not_found: ids.filter((id) => !guild.members.has(id)) } : {}),
      ...(d['nonce'] !== undefined ? { nonce: d['nonce'] } : {}),
    });
  }

  #onClose(conn: Connection, code: number): void {
    this.#connections.delete(conn);
    const session = conn.session;
    if (!session || session.socket !== conn.ws) return;
    session.socket = null;
    // A client closing with 1000/1001 ends its session (Discord will not resume it).
    if (code === 1000 || code === 1001) session.invalid = true;
    this.state.changed();
  }

  #serves(session: Session, guildId: string | undefined): boolean {
    return shardOf(guildId, session.shard[1]) === session.shard[0];
  }

  /** Each session whose shard serves the event's server (DMs: shard 0) gets it. */
  #broadcast(t: string, build: (intents: number, sessionUserId: string) => Json | undefined): void {
    for (const session of this.#sessions.values()) {
      if (session.invalid) continue;
      const d = build(session.intents, this.state.bot.id);
      if (d && this.#serves(session, guildOf(t, d))) this.#emit(session, t, d);
    }
  }

  /** The shards of the sessions connected now, as "id/count" (a test's view of who serves what). */
  get connectedShards(): string[] {
    return [...this.#sessions.values()]
      .filter((s) => !s.invalid && s.socket?.readyState === WebSocket.OPEN)
      .map((s) => `${s.shard[0]}/${s.shard[1]}`)
      .sort();
  }

  /** Sequences an event in a session, logs it for RESUME, and sends it if a socket is attached. */
  #emit(session: Session, t: string, d: Json): void {
    const entry: Entry = { op: 0, t, s: ++session.seq, d };
    session.log.push(entry);
    if (session.log.length > LOG_LIMIT) session.log.shift();
    this.state.dispatches.push({ at: Date.now(), sessionId: session.id, t, s: entry.s, d });
    this.state.stats.dispatches += 1;
    if (session.socket?.readyState === WebSocket.OPEN) this.#send(session.socket, entry);
  }

  #send(ws: WebSocket, payload: unknown): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
  }

  /**
   * Knocks every connected session off and waits until each has resumed (or, for 'invalid-session',
   * identified again). `duringOutage` runs after the sockets closed and before the client gets back
   * in; whatever it dispatches is replayed on RESUME.
   */
  async forceReconnect(via: ReconnectVia, duringOutage?: () => unknown, timeoutMs = 10_000): Promise<'resumed' | 'identified'> {
    const sessions = [...this.#sessions.values()].filter((s) => s.socket?.readyState === WebSocket.OPEN && !s.invalid);
    if (sessions.length === 0) throw new Error('discord sim: no connected gateway session to reconnect');
    const stats = this.state.stats;
    const target = via === 'invalid-session' ? stats.identifies + sessions.length : stats.resumes + sessions.length;
    let release = (): void => undefined;
    this.#hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const closed = sessions.map((s) => new Promise<void>((resolve) => (s.socket as WebSocket).once('close', () => resolve())));
      for (const session of sessions) {
        const ws = session.socket as WebSocket;
        if (via === 'reconnect') this.#send(ws, { op: 7, d: null });
        else if (via === 'close') ws.close(4000, 'Unknown error');
        else if (via === 'drop') ws.terminate();
        else {
          session.invalid = true;
          this.#send(ws, { op: 9, d: false });
        }
      }
      await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
      await duringOutage?.();
    } finally {
      release();
      this.#hold = null;
    }
    await this.state.waiter.until(
      () => ((via === 'invalid-session' ? stats.identifies : stats.resumes) >= target ? true : undefined),
      timeoutMs,
      via === 'invalid-session' ? 'the client to identify again' : 'the client to resume',
    );
    // Let the client finish handling RESUMED / READY before the test acts again (discord.js handles
    // gateway messages concurrently, and an immediate op 9 would race its RESUMED handler).
    await new Promise((resolve) => setTimeout(resolve, 100));
    return via === 'invalid-session' ? 'identified' : 'resumed';
  }

  close(): void {
    for (const conn of this.#connections) conn.ws.terminate();
    this.#connections.clear();
    this.#wss.close();
  }
}
