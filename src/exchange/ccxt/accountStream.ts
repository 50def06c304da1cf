/**
 * One account's user-data stream through ccxt.pro (`watchOrders`: order and algo-order updates,
 * fills included). Each connection is a fresh ccxt.pro instance: after a loss (a dropped socket, an
 * expired listenKey, the 24 h connection life) ccxt would otherwise reuse the cached listenKey for up
 * to 20 minutes, and the new instance asks the exchange for the account's active key instead.
 *
 * Binance's `listenKeyExpired` leaves the socket open and silent (ccxt has no handler for it): it is
 * taken for a loss here. A released instance forgets its listenKey (ccxt's keepalive timer, which
 * close() does not clear, then finds nothing to renew) and its credentials.
 *
 * A connection listens from its open (a listenKey's stream), or, on a WebSocket API connection (Binance
 * spot), from the answer to its subscription: before it the exchange sends no event. An order event
 * that arrives while no `watchOrders` waits for it (ccxt resolves only a waiting call: the event after
 * the subscription's answer in one read, or the second of two in one read) is reported as `missed`,
 * not left in ccxt's cache until some later event.
 *
 * Balance changes come on the same connection (futures ACCOUNT_UPDATE for fills, fees, funding and
 * transfers; spot outboundAccountPosition and balanceUpdate): they are told, not parsed (the balance
 * is read over REST when wanted), so that silence means "unchanged since the last read".
 */
import type { Exchange, Order } from 'ccxt';
import { scrubText } from '../../logger';
import { ExchangeError } from '../errors';
import type { AccountChange, AccountStream, StreamedOrder } from '../gateway';


const STATUSES: ReadonlySet<string> = new Set(['open', 'closed', 'canceled', 'expired', 'rejected']);

/** Binance's user-data events that report an order change (spot, then futures orders and algo orders). */
const ORDER_EVENTS: ReadonlySet<unknown> = new Set(['executionReport', 'ORDER_TRADE_UPDATE', 'ALGO_UPDATE']);

/** ccxt's name for a `watchOrders` call waiting for all symbols' orders (Client.futures). */
const ORDERS_WATCH = 'orders';

/** What a ccxt.pro WebSocket client shows the stream: its address and the calls waiting on it. */
interface ProClient {
  readonly url?: string;
  readonly futures?: Record<string, unknown>;
}

/** A WebSocket API connection (not a listenKey's stream): events flow once a subscription is answered. */
const subscribesAfterOpen = (client: ProClient | undefined): boolean => /\/ws-api\//.test(client?.url ?? '');

/** The answer to a user-data subscription on a WebSocket API connection. */
const isSubscriptionAnswer = (message: { result?: unknown } | null): boolean =>
  typeof message?.result === 'object' && message.result !== null && 'subscriptionId' in message.result;

const MISSED = Symbol('missed');

/** Binance's user-data events that report a balance change (futures, then spot). */
const BALANCE_EVENTS: ReadonlySet<unknown> = new Set(['ACCOUNT_UPDATE', 'outboundAccountPosition', 'balanceUpdate']);

/** ccxt's order as the stream's neutral form. Binance's algo TRIGGERING reads "open" in ccxt: it is a trigger. */
function streamedOrder(order: Order): StreamedOrder {
  const raw = (order.info as { X?: unknown } | undefined)?.X;
  const status: StreamedOrder['status'] =
    raw === 'TRIGGERING' || raw === 'TRIGGERED'
      ? 'triggered'
      : STATUSES.has(order.status ?? '')
        ? (order.status as StreamedOrder['status'])
        : 'other';
  return { symbol: order.symbol ?? '', clientOrderId: order.clientOrderId ?? null, status, filled: order.filled ?? 0 };
}

/** The option buckets where ccxt.pro's binance keeps a listenKey. */
const LISTEN_KEY_BUCKETS = ['future', 'delivery', 'spot', 'margin', 'stock'];

interface Connection {
  readonly exchange: Exchange;
  /** Rejects when the exchange says the stream ended without closing the socket. */
  readonly ended: Promise<never>;
}

export class CcxtAccountStream implements AccountStream {
  private connection: Connection | null = null;
  private connecting: Promise<unknown> | null = null;
  private readonly releases = new Set<Promise<void>>();
  private readonly openListeners: (() => void)[] = [];
  private readonly balanceListeners: (() => void)[] = [];
  private closed = false;
  /** An order event no watchOrders call received, since the last next(). */
  private missedEvents = false;
  private wakeOnMissed: (() => void) | null = null;

  constructor(
    private readonly exchangeId: string,
    /** A new ccxt.pro instance for the account, its markets attached. */
    private readonly connect: () => Promise<Exchange>,
  ) {}

  onOpen(listener: () => void): void {
    this.openListeners.push(listener);
  }

  onBalanceChange(listener: () => void): void {
    this.balanceListeners.push(listener);
  }

  async next(): Promise<AccountChange> {
    if (this.closed) throw this.closedError();
    try {
      const connection = this.connection ?? (await this.newConnection());
      // Once told of a missed event, this call answers at once; else it waits for the next report or miss.
      let waitedFor: Order[] | typeof MISSED = MISSED;
      if (!this.missedEvents) {
        const missed = new Promise<typeof MISSED>((resolve) => (this.wakeOnMissed = () => resolve(MISSED)));
        // A watchOrders left waiting here is the one the next call gets back (ccxt keeps one per hash).
        waitedFor = await Promise.race([connection.exchange.watchOrders(), connection.ended, missed]).finally(
          () => (this.wakeOnMissed = null),
        );
      }
      const orders = waitedFor === MISSED ? [] : waitedFor.map(streamedOrder);
      const missedAny = this.missedEvents;
      this.missedEvents = false;
      return missedAny ? { orders, missed: true } : { orders };
    } catch (error) {
      this.release();
      if (this.closed) throw this.closedError();
      const name = error instanceof Error ? error.constructor.name : 'Error';
      // scrubText removes a listenKey (it opens the account's private stream) in every form it travels in.
      const detail = error instanceof Error ? scrubText(error.message).slice(0, 300) : '';
      throw new ExchangeError('retryable', `${this.exchangeId}: user-data stream lost (${name}${detail ? `: ${detail}` : ''})`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // A connect under way finishes first (its instance is then released, never left open).
    await this.connecting?.catch(() => undefined);
    this.release();
    await Promise.all(this.releases);
  }

  private async newConnection(): Promise<Connection> {
    const building = this.connect();
    this.connecting = building;
    let exchange: Exchange;
    try {
      exchange = await building;
    } finally {
      this.connecting = null;
    }
    let end!: (error: Error) => void;
    const ended = new Promise<never>((_resolve, reject) => (end = reject));
    ended.catch(() => undefined);
    const connection: Connection = { exchange, ended };
    this.connection = connection;
    if (this.closed) {
      // Closed while it was being built: released now, and close() waits for it.
      this.release();
      throw this.closedError();
    }
    const listening = () => {
      for (const listener of this.openListeners) listener();
    };
    // ccxt's hooks, bound when a socket is created (after this): "a socket opened", and every message.
    exchange.onConnected = (client: unknown) => {
      if (!subscribesAfterOpen(client as ProClient)) listening();
    };
    const handleMessage = exchange.handleMessage.bind(exchange);
    exchange.handleMessage = (client: unknown, message: unknown) => {
      // Spot's WebSocket API subscription wraps each event: { subscriptionId, event: { e, … } }.
      const raw = message as { e?: unknown; event?: { e?: unknown } | null; result?: unknown } | null;
      const event = raw?.e ?? raw?.event?.e;
      if (event === 'listenKeyExpired') {
        end(new ExchangeError('retryable', `${this.exchangeId}: the user-data stream's listenKey expired`));
        return;
      }
      if (BALANCE_EVENTS.has(event)) for (const listener of this.balanceListeners) listener();
      const unwatched = ORDER_EVENTS.has(event) && !(ORDERS_WATCH in ((client as ProClient | undefined)?.futures ?? {}));
      const handled = handleMessage(client, message) as unknown;
      if (unwatched && this.connection === connection) {
        this.missedEvents = true;
        this.wakeOnMissed?.();
      }
      if (subscribesAfterOpen(client as ProClient) && isSubscriptionAnswer(raw)) listening();
      return handled;
    };
    return connection;
  }

  /** Closes the current instance (in the background; close() waits for it) and forgets its secrets. */
  private release(): void {
    const connection = this.connection;
    this.connection = null;
    // What the next connection's visit-on-open finds covers what this one missed.
    this.missedEvents = false;
    if (!connection) return;
    const { exchange } = connection;
    const options = exchange.options as Record<string, unknown>;
    for (const bucket of LISTEN_KEY_BUCKETS) {
      const value = options[bucket];
      if (value && typeof value === 'object') options[bucket] = { ...value, listenKey: undefined, lastAuthenticatedTime: 0 };
    }
    const released = exchange
      .close()
      .catch(() => undefined)
      .then(() => {
        exchange.apiKey = '';
        exchange.secret = '';
      });
    this.releases.add(released);
    void released.finally(() => this.releases.delete(released));
  }

  private closedError(): ExchangeError {
    return new ExchangeError('not-supported', `${this.exchangeId}: the user-data stream was closed`);
  }
}
