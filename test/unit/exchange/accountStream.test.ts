import type { Exchange } from 'ccxt';
import { describe, expect, it } from 'vitest';
import { CcxtAccountStream } from '../../../src/exchange/ccxt/accountStream';

/** The part of a ccxt.pro instance the stream touches, driven by the test. */
class FakePro {
  apiKey = 'k3y';
  secret = 's3cret';
  options: Record<string, unknown> = { future: { listenKey: 'L'.repeat(64), lastAuthenticatedTime: 1 } };
  closed = false;
  onConnected: (client: unknown) => void = () => {};
  private pending: { resolve: (orders: unknown[]) => void; reject: (error: Error) => void } | null = null;
  handleMessage(_client: unknown, _message: unknown): void {}
  watchOrders(): Promise<unknown[]> {
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }
  push(orders: unknown[]): void {
    this.pending?.resolve(orders);
  }
  async close(): Promise<void> {
    this.closed = true;
    this.pending?.reject(new Error('closedByUser'));
  }
}

describe('CcxtAccountStream', () => {
  it('maps ccxt orders to reports; a triggered algo order reads "triggered", not open', async () => {
    const pro = new FakePro();
    const stream = new CcxtAccountStream('binance', async () => pro as unknown as Exchange);
    const next = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    pro.push([
      { symbol: 'LINK/USDT:USDT', clientOrderId: 'mbX', status: 'open', filled: 0, info: { X: 'TRIGGERING' } },
      { symbol: 'LINK/USDT:USDT', clientOrderId: undefined, status: 'closed', filled: 2, info: {} },
    ]);
    expect((await next).orders).toEqual([
      { symbol: 'LINK/USDT:USDT', clientOrderId: 'mbX', status: 'triggered', filled: 0 },
      { symbol: 'LINK/USDT:USDT', clientOrderId: null, status: 'closed', filled: 2 },
    ]);
    await stream.close();
  });

  it('closed while connecting: the instance built meanwhile is closed too, and close() waits for it', async () => {
    const pro = new FakePro();
    let build!: () => void;
    const built = new Promise<void>((resolve) => (build = resolve));
    const stream = new CcxtAccountStream('binance', async () => {
      await built;
      return pro as unknown as Exchange;
    });
    const next = stream.next();
    next.catch(() => undefined);
    const closing = stream.close();
    build();
    await closing;
    expect(pro.closed).toBe(true);
    await expect(next).rejects.toThrow(/closed/);
  });

  it('takes listenKeyExpired (the socket stays open and silent) for a loss, and the released instance forgets its key', async () => {
    const pro = new FakePro();
    const stream = new CcxtAccountStream('binance', async () => pro as unknown as Exchange);
    const next = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    pro.handleMessage({}, { e: 'listenKeyExpired', E: '1', listenKey: 'L'.repeat(64) });
    const error = await next.then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/listenKey expired/);
    expect(error?.message).not.toContain('L'.repeat(20));
    await stream.close();
    expect(pro.closed).toBe(true);
    // ccxt's keepalive timer outlives close(): with no key it renews nothing; no credential is kept.
    expect((pro.options.future as { listenKey?: string }).listenKey).toBeUndefined();
    expect([pro.apiKey, pro.secret]).toEqual(['', '']);
  });

  it('tells balance changes (futures ACCOUNT_UPDATE, spot outboundAccountPosition and balanceUpdate), and hands every message on to ccxt', async () => {
    const pro = new FakePro();
    const handled: unknown[] = [];
    pro.handleMessage = (_client: unknown, message: unknown) => void handled.push(message);
    const stream = new CcxtAccountStream('binance', async () => pro as unknown as Exchange);
    let changes = 0;
    stream.onBalanceChange(() => (changes += 1));
    const next = stream.next();
    next.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const messages = [
      { e: 'ACCOUNT_UPDATE', a: { m: 'FUNDING_FEE', B: [] } },
      { e: 'ORDER_TRADE_UPDATE', o: {} },
      // Spot's WebSocket API subscription wraps its events.
      { subscriptionId: 0, event: { e: 'outboundAccountPosition', B: [] } },
      { subscriptionId: 0, event: { e: 'balanceUpdate', a: 'USDT', d: '-10' } },
    ];
    for (const message of messages) pro.handleMessage({}, message);
    expect(changes).toBe(3);
    expect(handled).toEqual(messages);
    await stream.close();
  });

  const SPOT_API = 'wss://ws-api.binance.com:443/ws-api/v3';
  const spotOrderEvent = { subscriptionId: 0, event: { e: 'executionReport', s: 'LINKUSDT', X: 'FILLED' } };

  it('an order event that no watchOrders call waited for (ccxt drops it until a later event) is reported as missed', async () => {
    const pro = new FakePro();
    const stream = new CcxtAccountStream('binance', async () => pro as unknown as Exchange);
    const next = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // ccxt's client between the subscription's answer and the watchOrders that follows it: no 'orders' future.
    pro.handleMessage({ url: SPOT_API, futures: {} }, spotOrderEvent);
    expect(await next).toEqual({ orders: [], missed: true });
    // Once told, the next call waits for the next event again.
    const after = stream.next();
    let settled = false;
    void after.then(() => (settled = true));
    pro.handleMessage({ url: SPOT_API, futures: { orders: {} } }, spotOrderEvent);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(settled).toBe(false);
    pro.push([{ symbol: 'LINK/USDT', clientOrderId: 'mbY', status: 'closed', filled: 1, info: {} }]);
    expect((await after).missed).toBeUndefined();
    await stream.close();
  });

  it('a missed event told before next() is called is reported by that call, at once', async () => {
    const pro = new FakePro();
    const stream = new CcxtAccountStream('binance', async () => pro as unknown as Exchange);
    const first = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    pro.push([]);
    await first;
    // Between two calls (ccxt deleted the future it resolved): the second of two events in one read.
    pro.handleMessage({ url: 'wss://fstream.binance.com/ws/L', futures: {} }, { e: 'ORDER_TRADE_UPDATE', o: {} });
    expect(await stream.next()).toEqual({ orders: [], missed: true });
    await stream.close();
  });

  it('a WebSocket API connection listens from its subscription\'s answer, a listenKey stream from its open', async () => {
    for (const [url, answerNeeded] of [
      [SPOT_API, true],
      ['wss://fstream.binance.com/ws/' + 'L'.repeat(64), false],
    ] as const) {
      const pro = new FakePro();
      const stream = new CcxtAccountStream('binance', async () => pro as unknown as Exchange);
      let opens = 0;
      stream.onOpen(() => (opens += 1));
      const next = stream.next();
      next.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 0));
      const client = { url, futures: {} };
      pro.onConnected(client);
      expect(opens).toBe(answerNeeded ? 0 : 1);
      pro.handleMessage(client, { id: 1, status: 200, result: { subscriptionId: 0 } });
      expect(opens).toBe(1);
      await stream.close();
    }
  });

  it('a lost connection rejects next() as retryable without the listenKey; the next call builds a new instance', async () => {
    const instances: FakePro[] = [];
    const stream = new CcxtAccountStream('binance', async () => {
      const pro = new FakePro();
      instances.push(pro);
      return pro as unknown as Exchange;
    });
    const first = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await instances[0]!.close();
    await expect(first).rejects.toMatchObject({ kind: 'retryable' });
    const second = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(instances).toHaveLength(2);
    instances[1]!.push([]);
    expect((await second).orders).toEqual([]);
    await stream.close();
  });
});
