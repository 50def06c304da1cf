/**
 * Spot user data, as Binance serves it since the listenKey for spot was retired: over the WebSocket
 * API (`wss://ws-api.binance.com:443/ws-api/v3`), a signed `userDataStream.subscribe.signature`
 * request (apiKey, timestamp, signature over the key-sorted parameters) answers a subscriptionId, and
 * the account's `executionReport` and `outboundAccountPosition` events follow on that connection as
 * `{ subscriptionId, event }`. `userDataStream.unsubscribe` ends it; `ping` answers.
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConnectionLife } from './connectionLife';
import { fmt } from './decimal';
import type { Account, Engine, SpotUserEvent } from './engine';
import { EventDrops, type UserStreamStats } from './userStream';

export const SPOT_WS_API_HOSTS: ReadonlySet<string> = new Set([
  'ws-api.binance.com',
  'ws-api.testnet.binance.vision',
  'demo-ws-api.binance.com',
]);

interface Subscriber {
  readonly ws: WebSocket;
  readonly subscriptionId: number;
}

type Json = Record<string, unknown>;

export class SpotUserStream {
  /** apiKey → its subscriptions (one per connection that subscribed). */
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly sockets = new Set<WebSocket>();
  private readonly server = new WebSocketServer({ noServer: true });
  private readonly drops: EventDrops;
  /**
   * Run right after a subscription is answered, in the same tick: what it makes happen (a fill) reaches
   * the client in the same read as the answer, as it may on a real connection.
   */
  afterSubscribe: ((apiKey: string) => void) | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly now: () => number,
    /** Shared with the futures stream: one set of counters for the simulator. */
    readonly stats: UserStreamStats,
    private readonly life: ConnectionLife = new ConnectionLife(now),
  ) {
    this.drops = new EventDrops(stats);
    engine.onSpotEvent = (apiKey, event) => this.publish(apiKey, event);
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, host: string): boolean {
    if (!SPOT_WS_API_HOSTS.has(host)) return false;
    const url = new URL(req.url ?? '/', 'http://sim');
    if (url.pathname !== '/ws-api/v3') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return true;
    }
    this.server.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      this.life.track(ws);
      this.stats.connections += 1;
      this.stats.connectsTotal += 1;
      let nextSubscriptionId = 0;
      const mine = new Set<Subscriber>();
      ws.on('message', (data) => {
        let request: Json;
        try {
          request = JSON.parse(String(data)) as Json;
        } catch {
          ws.send(JSON.stringify({ id: null, status: 400, error: { code: -1000, msg: 'Malformed request.' } }));
          return;
        }
        const answer = this.handle(ws, request, () => nextSubscriptionId++, mine);
        ws.send(JSON.stringify(answer));
        const apiKey = (request.params as { apiKey?: unknown } | undefined)?.apiKey;
        if (request.method === 'userDataStream.subscribe.signature' && answer.status === 200 && typeof apiKey === 'string')
          this.afterSubscribe?.(apiKey);
      });
      ws.on('close', () => {
        this.sockets.delete(ws);
        this.stats.connections -= 1;
        this.stats.spotSubscriptions -= mine.size;
        for (const subscriber of mine) for (const set of this.subscribers.values()) set.delete(subscriber);
      });
      ws.on('error', () => undefined);
    });
    return true;
  }

  private handle(ws: WebSocket, request: Json, newId: () => number, mine: Set<Subscriber>): Json {
    const id = request.id ?? null;
    const error = (status: number, code: number, msg: string): Json => ({ id, status, error: { code, msg } });
    const params = (typeof request.params === 'object' && request.params !== null ? request.params : {}) as Record<string, unknown>;
    switch (request.method) {
      case 'ping':
        return { id, status: 200, result: {} };
      case 'userDataStream.subscribe.signature': {
        const refused = this.verify(params);
        if (typeof refused === 'object' && 'error' in refused) return { id, ...refused };
        const subscriber: Subscriber = { ws, subscriptionId: newId() };
        let set = this.subscribers.get(refused);
        if (!set) this.subscribers.set(refused, (set = new Set()));
        set.add(subscriber);
        mine.add(subscriber);
        this.stats.spotSubscriptions += 1;
        return { id, status: 200, result: { subscriptionId: subscriber.subscriptionId } };
      }
      case 'userDataStream.unsubscribe': {
        const wanted = params.subscriptionId;
        for (const subscriber of [...mine]) {
          if (wanted !== undefined && subscriber.subscriptionId !== Number(wanted)) continue;
          mine.delete(subscriber);
          this.stats.spotSubscriptions -= 1;
          for (const set of this.subscribers.values()) set.delete(subscriber);
        }
        return { id, status: 200, result: {} };
      }
      default:
        return error(400, -1100, `Unknown method '${String(request.method)}'.`);
    }
  }

  /** The signed subscription's account key, or Binance's refusal. */
  private verify(params: Record<string, unknown>): string | { status: number; error: { code: number; msg: string } } {
    const refuse = (status: number, code: number, msg: string) => ({ status, error: { code, msg } });
    const apiKey = typeof params.apiKey === 'string' ? params.apiKey : undefined;
    const account = apiKey ? this.engine.accounts.get(apiKey) : undefined;
    if (!apiKey || !account) return refuse(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    const signature = typeof params.signature === 'string' ? params.signature : undefined;
    if (!signature) return refuse(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
    const payload = Object.keys(params)
      .filter((key) => key !== 'signature')
      .sort()
      .map((key) => `${key}=${String(params[key])}`)
      .join('&');
    if (createHmac('sha256', account.secret).update(payload).digest('hex') !== signature.toLowerCase())
      return refuse(400, -1022, 'Signature for this request is not valid.');
    const timestamp = Number(params.timestamp);
    const recvWindow = params.recvWindow === undefined ? 5_000 : Number(params.recvWindow);
    const t = this.now();
    if (!Number.isFinite(timestamp) || timestamp >= t + 1_000 || t - timestamp > recvWindow)
      return refuse(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
    return apiKey;
  }

  private publish(apiKey: string, event: SpotUserEvent): void {
    const set = this.subscribers.get(apiKey);
    if (!set || set.size === 0 || this.drops.take(apiKey)) return;
    const t = this.now();
    const body = event.kind === 'spotOrder' ? this.executionReport(event, t) : this.accountPosition(event.account, event.assets, t);
    for (const subscriber of set) {
      subscriber.ws.send(JSON.stringify({ subscriptionId: subscriber.subscriptionId, event: body }));
      this.stats.eventsSent += 1;
    }
  }

  private executionReport(event: Extract<SpotUserEvent, { kind: 'spotOrder' }>, t: number): Json {
    const { order: o, trade } = event;
    // Spot answers carry eight decimals, as the REST views do.
    const px = fmt;
    const qx = fmt;
    return {
      e: 'executionReport',
      E: t,
      s: o.symbol,
      c: o.clientOrderId,
      S: o.side,
      o: o.type,
      f: o.timeInForce,
      q: qx(o.origQty),
      p: px(o.price),
      P: px(o.stopPrice),
      F: '0.00000000',
      g: -1,
      C: '',
      x: event.execution,
      X: o.status,
      r: 'NONE',
      i: o.orderId,
      l: trade ? qx(trade.qty) : qx(0),
      z: qx(o.executedQty),
      L: trade ? px(trade.price) : px(0),
      n: trade ? fmt(trade.commission) : '0',
      N: trade ? trade.commissionAsset : null,
      T: o.updateTime,
      t: trade ? trade.id : -1,
      v: 0,
      I: o.orderId * 2 + (trade ? 1 : 0),
      w: o.workingTime !== -1 && (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED'),
      m: trade?.isMaker ?? false,
      M: false,
      O: o.time,
      Z: fmt(o.cumQuote),
      Y: trade ? fmt(trade.quoteQty) : '0',
      Q: fmt(o.origQuoteOrderQty),
      W: o.workingTime === -1 ? o.time : o.workingTime,
      V: 'EXPIRE_MAKER',
    };
  }

  private accountPosition(account: Account, assets: readonly string[], t: number): Json {
    return {
      e: 'outboundAccountPosition',
      E: t,
      u: account.spotUpdateTime,
      B: assets.map((asset) => {
        const balance = account.spot.get(asset) ?? { free: 0, locked: 0 };
        return { a: asset, f: fmt(balance.free), l: fmt(balance.locked) };
      }),
    };
  }

  disconnect(apiKey?: string): number {
    let closed = 0;
    const victims = new Set<WebSocket>();
    if (apiKey === undefined) for (const ws of this.sockets) victims.add(ws);
    else for (const subscriber of this.subscribers.get(apiKey) ?? []) victims.add(subscriber.ws);
    for (const ws of victims) {
      ws.terminate();
      closed += 1;
    }
    return closed;
  }

  dropEvents(count: number, apiKey?: string): void {
    this.drops.add(count, apiKey);
  }

  closeAll(): void {
    for (const ws of this.sockets) ws.terminate();
    this.server.close();
  }
}
