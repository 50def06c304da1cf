/**
 * The USDⓈ-M futures user-data stream, as Binance serves it (an expired key's connection stays open:
 * Binance says `listenKeyExpired` "is not related to the websocket disconnection", and no more events
 * come on it):
 * - `POST /fapi/v1/listenKey` (API key only, weight 1) answers the account's active listenKey, or a
 *   new one, valid 60 minutes; `PUT` extends it (-1125 when it does not exist); `DELETE` closes it.
 * - `wss://fstream.binance.com/private/ws?listenKey=…` (and the older `/ws/<listenKey>`) pushes the
 *   account's ORDER_TRADE_UPDATE, ALGO_UPDATE and ACCOUNT_UPDATE events, and `listenKeyExpired` when
 *   the key lapses (then the connection closes).
 * Faults: disconnect connections, drop the next events, expire keys.
 *
 * Spot user data (the WebSocket API subscription) is not simulated.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConnectionLife } from './connectionLife';
import { fmt, plain, r8 } from './decimal';
import { BinanceError, type Account, type AlgoOrder, type Engine, type FuturesUserEvent } from './engine';

/** Hosts ccxt.pro's binance classes connect to for USDⓈ-M futures streams (live, testnet, demo). */
export const FUTURES_WS_HOSTS: ReadonlySet<string> = new Set([
  'fstream.binance.com',
  'fstream.binancefuture.com',
  'demo-fstream.binance.com',
]);

export const LISTEN_KEY_VALIDITY_MS = 60 * 60_000;

interface ListenKey {
  readonly key: string;
  readonly apiKey: string;
  expiresAt: number;
}

export interface StreamFaults {
  /** Closes the open stream connections (of one account, or all): events until a reconnect are lost. */
  disconnect(apiKey?: string): number;
  /** Drops the next `count` events (of one account, or any) without sending them. */
  dropEvents(count: number, apiKey?: string): void;
  /** Expires listenKeys now (of one account, or all): `listenKeyExpired`; the connection stays open, silent. */
  expireListenKeys(apiKey?: string): number;
}

export interface UserStreamStats {
  connections: number;
  connectsTotal: number;
  eventsSent: number;
  eventsDropped: number;
  /** Spot user-data subscriptions active on WebSocket API connections (a connection opens before it subscribes). */
  spotSubscriptions: number;
}

/** The "drop the next events" fault, shared by the futures and spot streams. */
export class EventDrops {
  private drops: { count: number; apiKey: string | undefined }[] = [];

  constructor(private readonly stats: UserStreamStats) {}

  /** Drops the next `count` events (of one account, or any). */
  add(count: number, apiKey?: string): void {
    this.drops.push({ count, apiKey });
  }

  /** Whether this event of `apiKey` is to be dropped (counted as dropped when it is). */
  take(apiKey: string): boolean {
    const drop = this.drops.find((d) => d.count > 0 && (d.apiKey === undefined || d.apiKey === apiKey));
    if (!drop) return false;
    drop.count -= 1;
    this.drops = this.drops.filter((d) => d.count > 0);
    this.stats.eventsDropped += 1;
    return true;
  }
}

export class FuturesUserStream implements StreamFaults {
  private readonly keys = new Map<string, ListenKey>();
  private readonly keyOfAccount = new Map<string, string>();
  private readonly sockets = new Map<string, Set<WebSocket>>();
  /** Connections whose key expired: open, never sent anything again. */
  private readonly silent = new Set<WebSocket>();
  private readonly server = new WebSocketServer({ noServer: true });
  readonly stats: UserStreamStats = { connections: 0, connectsTotal: 0, eventsSent: 0, eventsDropped: 0, spotSubscriptions: 0 };
  private readonly drops = new EventDrops(this.stats);

  constructor(
    private readonly engine: Engine,
    private readonly now: () => number,
    private readonly life: ConnectionLife = new ConnectionLife(now),
  ) {
    engine.onFuturesEvent = (apiKey, event) => this.publish(apiKey, event);
  }

  // ── REST: listenKey ───────────────────────────────────────────────────────

  /** POST: the active key extended, or a new one. */
  start(account: Account): { listenKey: string } {
    const t = this.now();
    const active = this.activeKeyOf(account.apiKey, t);
    if (active) {
      active.expiresAt = t + LISTEN_KEY_VALIDITY_MS;
      return { listenKey: active.key };
    }
    const key = randomBytes(48).toString('base64url').slice(0, 64);
    this.keys.set(key, { key, apiKey: account.apiKey, expiresAt: t + LISTEN_KEY_VALIDITY_MS });
    this.keyOfAccount.set(account.apiKey, key);
    return { listenKey: key };
  }

  /** PUT: extends the account's active key. */
  keepAlive(account: Account): { listenKey: string } {
    const t = this.now();
    const active = this.activeKeyOf(account.apiKey, t);
    if (!active) throw new BinanceError(-1125, 'This listenKey does not exist.');
    active.expiresAt = t + LISTEN_KEY_VALIDITY_MS;
    return { listenKey: active.key };
  }

  /** DELETE: closes the account's stream. */
  close(account: Account): Record<string, never> {
    const key = this.keyOfAccount.get(account.apiKey);
    if (key) this.expire(key, false);
    return {};
  }

  private activeKeyOf(apiKey: string, t: number): ListenKey | undefined {
    const key = this.keyOfAccount.get(apiKey);
    const entry = key === undefined ? undefined : this.keys.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= t) {
      this.expire(entry.key, true);
      return undefined;
    }
    return entry;
  }

  // ── WebSocket ─────────────────────────────────────────────────────────────

  /** The HTTP server's `upgrade` handler; answers false when the request is not a stream of ours. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, host: string): boolean {
    const url = new URL(req.url ?? '/', 'http://sim');
    if (!FUTURES_WS_HOSTS.has(host)) return false;
    const fromPath = /^\/ws\/([A-Za-z0-9_-]+)$/.exec(url.pathname)?.[1];
    const key = url.pathname === '/private/ws' ? url.searchParams.get('listenKey') : fromPath;
    const entry = key ? this.keys.get(key) : undefined;
    if (!entry || entry.expiresAt <= this.now()) {
      // Binance accepts the connection and closes it; a refused upgrade is what ws clients see here.
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{"code":-1125,"msg":"This listenKey does not exist."}');
      return true;
    }
    this.server.handleUpgrade(req, socket, head, (ws) => {
      let set = this.sockets.get(entry.apiKey);
      if (!set) this.sockets.set(entry.apiKey, (set = new Set()));
      set.add(ws);
      this.life.track(ws);
      this.stats.connections += 1;
      this.stats.connectsTotal += 1;
      ws.on('close', () => {
        set.delete(ws);
        this.stats.connections -= 1;
      });
      ws.on('error', () => undefined);
    });
    return true;
  }

  private publish(apiKey: string, event: FuturesUserEvent): void {
    const set = this.sockets.get(apiKey);
    if (!set || set.size === 0) return;
    const t = this.now();
    const key = this.activeKeyOf(apiKey, t);
    if (!key || this.drops.take(apiKey)) return;
    const text = JSON.stringify(this.eventJson(event, t));
    for (const ws of set) {
      ws.send(text);
      this.stats.eventsSent += 1;
    }
  }

  private eventJson(event: FuturesUserEvent, t: number): Record<string, unknown> {
    switch (event.kind) {
      case 'order':
        return { e: 'ORDER_TRADE_UPDATE', E: t, T: event.order.updateTime, o: this.orderJson(event) };
      case 'algo':
        return { e: 'ALGO_UPDATE', E: t, T: event.algo.updateTime, o: this.algoJson(event.algo) };
      case 'account':
        return { e: 'ACCOUNT_UPDATE', E: t, T: t, a: this.accountJson(event.account, event.reason, event.symbol) };
    }
  }

  private orderJson(event: Extract<FuturesUserEvent, { kind: 'order' }>): Record<string, unknown> {
    const { order: o, trade } = event;
    const m = this.engine.futuresMarket(o.symbol);
    const px = (n: number) => n.toFixed(m.pricePrecision);
    const qx = (n: number) => n.toFixed(m.quantityPrecision);
    return {
      s: o.symbol,
      c: o.clientOrderId,
      S: o.side,
      o: o.type,
      f: o.timeInForce,
      q: qx(o.origQty),
      p: px(o.price),
      ap: o.executedQty > 0 ? plain(r8(o.cumQuote / o.executedQty)) : '0',
      sp: px(o.stopPrice),
      x: event.execution,
      X: o.status,
      i: o.orderId,
      l: trade ? qx(trade.qty) : '0',
      z: qx(o.executedQty),
      L: trade ? plain(trade.price) : '0',
      N: trade?.commissionAsset ?? m.quote,
      n: trade ? fmt(trade.commission) : '0',
      T: o.updateTime,
      t: trade?.id ?? 0,
      b: '0',
      a: '0',
      m: trade?.maker ?? false,
      R: o.reduceOnly,
      wt: 'CONTRACT_PRICE',
      ot: o.origType,
      ps: o.positionSide,
      cp: o.closePosition,
      rp: trade ? fmt(trade.realizedPnl) : '0',
      pP: false,
      si: 0,
      ss: 0,
      V: 'EXPIRE_MAKER',
      pm: 'NONE',
      gtd: 0,
    };
  }

  private algoJson(a: AlgoOrder): Record<string, unknown> {
    const m = this.engine.futuresMarket(a.symbol);
    const placed =
      a.actualOrderId === undefined
        ? undefined
        : this.engine.account(a.apiKey).futuresOrders.find((o) => o.orderId === a.actualOrderId);
    return {
      caid: a.clientAlgoId,
      aid: a.algoId,
      at: 'CONDITIONAL',
      o: a.orderType,
      s: a.symbol,
      S: a.side,
      ps: a.positionSide,
      f: a.timeInForce,
      q: a.quantity.toFixed(m.quantityPrecision),
      X: a.algoStatus,
      ai: a.actualOrderId === undefined ? '' : String(a.actualOrderId),
      ap: placed && placed.executedQty > 0 ? plain(r8(placed.cumQuote / placed.executedQty)) : '0.00000',
      aq: placed ? placed.executedQty.toFixed(m.quantityPrecision) : '0.00000',
      act: '0',
      tp: a.triggerPrice.toFixed(m.pricePrecision),
      p: a.price.toFixed(m.pricePrecision),
      V: 'EXPIRE_MAKER',
      wt: a.workingType,
      pm: 'NONE',
      cp: a.closePosition,
      pP: a.priceProtect,
      R: a.reduceOnly,
      tt: a.triggerTime,
      gtd: 0,
    };
  }

  private accountJson(acc: Account, reason: string, symbol: string): Record<string, unknown> {
    const m = this.engine.futuresMarket(symbol);
    const view = this.engine.futuresView(acc, m.quote);
    const positions = [...acc.positions.values()].filter((p) => p.symbol === symbol);
    return {
      m: reason,
      B: [{ a: m.quote, wb: fmt(view.wallet), cw: fmt(view.wallet), bc: '0' }],
      P: positions.map((p) => ({
        s: p.symbol,
        pa: p.amt.toFixed(m.quantityPrecision),
        ep: plain(r8(p.entryPrice)),
        bep: plain(r8(p.entryPrice)),
        cr: '0',
        up: fmt(r8(p.amt * (this.engine.futuresPrice(symbol) - p.entryPrice))),
        mt: this.engine.marginTypeOf(acc, symbol) === 'ISOLATED' ? 'isolated' : 'cross',
        iw: '0',
        ps: p.positionSide,
      })),
    };
  }

  // ── faults ────────────────────────────────────────────────────────────────

  disconnect(apiKey?: string): number {
    let closed = 0;
    for (const [owner, set] of this.sockets) {
      if (apiKey !== undefined && owner !== apiKey) continue;
      for (const ws of set) {
        // An abrupt end, as a dropped network path looks to the client: no close frame.
        ws.terminate();
        closed += 1;
      }
    }
    return closed;
  }

  dropEvents(count: number, apiKey?: string): void {
    this.drops.add(count, apiKey);
  }

  expireListenKeys(apiKey?: string): number {
    let expired = 0;
    for (const entry of [...this.keys.values()]) {
      if (apiKey !== undefined && entry.apiKey !== apiKey) continue;
      this.expire(entry.key, true);
      expired += 1;
    }
    return expired;
  }

  private expire(key: string, tell: boolean): void {
    const entry = this.keys.get(key);
    if (!entry) return;
    this.keys.delete(key);
    if (this.keyOfAccount.get(entry.apiKey) === key) this.keyOfAccount.delete(entry.apiKey);
    const set = this.sockets.get(entry.apiKey);
    if (!set) return;
    for (const ws of [...set]) {
      // Binance sends E as a string here. The socket stays open; nothing more comes on it.
      if (tell) ws.send(JSON.stringify({ e: 'listenKeyExpired', E: String(this.now()), listenKey: key }));
      set.delete(ws);
      this.silent.add(ws);
      ws.once('close', () => this.silent.delete(ws));
    }
  }

  closeAll(): void {
    for (const set of this.sockets.values()) for (const ws of set) ws.terminate();
    for (const ws of this.silent) ws.terminate();
    this.server.close();
  }
}
