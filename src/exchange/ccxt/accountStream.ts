/**
 * One account's user-data stream through ccxt.pro (`watchOrders`: order and algo-order updates,
 * fills included). Each connection is a fresh ccxt.pro instance: after a loss (a dropped socket, an
 * expired listenKey, the 24 h connection life) ccxt would otherwise reuse the cached listenKey for up
 * to 20 minutes, and the new instance asks the exchange for the account's active key instead.
 */
import type { Exchange, Order } from 'ccxt';
import { ExchangeError } from '../errors';
import type { AccountChange, AccountStream, StreamedOrder } from '../gateway';
import { scrubText } from '../../logger';

/** A listenKey opens the account's private stream to whoever holds it: never in a message. */
const withoutListenKey = (text: string): string =>
  scrubText(text.replace(/(listenKey=)[^\s&"']+/gi, '$1…').replace(/(\/ws\/)[A-Za-z0-9_-]{16,}/g, '$1…')).slice(0, 300);

const STATUSES: ReadonlySet<string> = new Set(['open', 'closed', 'canceled', 'expired', 'rejected']);

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

export class CcxtAccountStream implements AccountStream {
  private exchange: Exchange | null = null;
  private readonly openListeners: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly exchangeId: string,
    /** A new ccxt.pro instance for the account, its markets attached. */
    private readonly connect: () => Promise<Exchange>,
  ) {}

  onOpen(listener: () => void): void {
    this.openListeners.push(listener);
  }

  async next(): Promise<AccountChange> {
    if (this.closed) throw new ExchangeError('not-supported', `${this.exchangeId}: the user-data stream was closed`);
    try {
      let exchange = this.exchange;
      if (!exchange) {
        exchange = await this.connect();
        // ccxt's hook for "a socket opened"; bound when the connection is created, after this.
        exchange.onConnected = () => {
          for (const listener of this.openListeners) listener();
        };
        this.exchange = exchange;
      }
      const orders = await exchange.watchOrders();
      return { orders: orders.map(streamedOrder) };
    } catch (error) {
      await this.drop();
      if (this.closed) throw new ExchangeError('not-supported', `${this.exchangeId}: the user-data stream was closed`);
      const name = error instanceof Error ? error.constructor.name : 'Error';
      const detail = error instanceof Error ? withoutListenKey(error.message) : '';
      throw new ExchangeError('retryable', `${this.exchangeId}: user-data stream lost (${name}${detail ? `: ${detail}` : ''})`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private async drop(): Promise<void> {
    const exchange = this.exchange;
    this.exchange = null;
    if (exchange) await exchange.close().catch(() => undefined);
  }
}
