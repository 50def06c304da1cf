/**
 * THE contract of the exchange port (src/exchange/gateway.ts), run against every implementation:
 * the ccxt gateway on the Binance simulator (ccxt.test.ts) and the paper gateway (paper.test.ts).
 * Each test gets a fresh, funded account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketType } from '../../src/domain/account';
import { isExchangeError } from '../../src/exchange/errors';
import type { ExchangeErrorKind } from '../../src/exchange/errors';
import type { ExchangeGateway, OrderIntent } from '../../src/exchange/gateway';

export interface ContractSubject {
  gateway: ExchangeGateway;
  /** Lets resting orders and triggers react to the current price (paper: tick(); the simulator needs nothing). */
  settle(): Promise<void>;
  /** Signed requests that set leverage or margin mode for this account so far; null when none are ever sent (paper). */
  leverageRequests(): number | null;
}

export interface ContractHarness {
  label: string;
  marketType: MarketType;
  /** A liquid market (unified symbol) priced at `price` when each test starts. */
  symbol: string;
  price: number;
  /** Entry size and a smaller size for each protective leg (both on the amount step). */
  entryQuantity: number;
  legQuantity: number;
  /** An order on this market and quantity is below its minimum notional. */
  tiny: { symbol: string; quantity: number };
  /** Quote currency balance each new account starts with. */
  funded: number;
  setPrice(price: number): Promise<void>;
  subject(): Promise<ContractSubject>;
  close(): Promise<void>;
}

let sequence = 0;
const runTag = Math.random().toString(36).slice(2, 8);
/** Client order ids: unique per run, 1–32 alphanumerics. */
export const cid = (tag: string): string => `ct${runTag}${tag}${++sequence}`.replace(/[^A-Za-z0-9]/g, '').slice(0, 32);

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

async function expectKind(run: () => Promise<unknown>, kind: ExchangeErrorKind): Promise<void> {
  const error = await failure(run);
  expect(isExchangeError(error), String(error)).toBe(true);
  expect((error as { kind: string }).kind, String(error)).toBe(kind);
}

export function gatewayContract(makeHarness: () => Promise<ContractHarness>): void {
  let h: ContractHarness;

  beforeAll(async () => {
    h = await makeHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const fresh = async (): Promise<ContractSubject> => {
    await h.setPrice(h.price);
    return h.subject();
  };

  const entry = (overrides: Partial<OrderIntent> = {}): OrderIntent => ({
    clientOrderId: cid('e'),
    symbol: h.symbol,
    side: 'buy',
    type: 'market',
    quantity: h.entryQuantity,
    reduceOnly: false,
    ...overrides,
  });

  describe('market data', () => {
    it('reports market rules with decimal steps, minimums and notional, shared between calls', async () => {
      const { gateway } = await fresh();
      const markets = await gateway.markets();
      const rules = markets.get(h.symbol);
      expect(rules).toBeDefined();
      expect(rules).toMatchObject({ symbol: h.symbol, type: h.marketType === 'spot' ? 'spot' : 'swap', quote: 'USDT' });
      expect(rules!.amountStep).toBeGreaterThan(0);
      expect(rules!.amountStep).toBeLessThanOrEqual(1);
      expect(rules!.priceStep).toBeGreaterThan(0);
      expect(rules!.priceStep).toBeLessThan(1);
      expect(rules!.minAmount).toBeGreaterThan(0);
      expect(rules!.minNotional).toBeGreaterThan(0);
      expect(rules!.maxLeverage).toBeGreaterThanOrEqual(1);
      if (h.marketType === 'spot') expect(rules!.maxLeverage).toBe(1);
      for (const market of markets.values()) expect(market.type).toBe(h.marketType === 'spot' ? 'spot' : 'swap');
      expect(await gateway.markets()).toBe(markets);
    });

    it('quotes bid, ask and last', async () => {
      const { gateway } = await fresh();
      const quote = await gateway.quote(h.symbol);
      expect(quote.symbol).toBe(h.symbol);
      expect(quote.last).toBeCloseTo(h.price, 0);
      expect(quote.bid).toBeLessThanOrEqual(quote.ask);
      expect(quote.at).toBeGreaterThan(0);
    });

    it('reports the balance in the settlement currency', async () => {
      const { gateway } = await fresh();
      const balance = await gateway.balance();
      expect(balance.currency).toBe('USDT');
      expect(balance.free).toBeCloseTo(h.funded, 2);
      expect(balance.equity).toBeGreaterThanOrEqual(balance.free - 1e-9);
      expect(balance.asOf).toBeGreaterThan(0);
    });

    it("reads the exchange's clock and a recvWindow", async () => {
      const { gateway } = await fresh();
      expect(Math.abs((await gateway.serverTime()) - Date.now())).toBeLessThan(60_000);
      expect(gateway.recvWindowMs).toBeGreaterThan(0);
    });
  });

  describe('orders by client order id', () => {
    it('places, finds, lists and cancels a resting limit order', async () => {
      const { gateway } = await fresh();
      const id = cid('l');
      const price = Number((h.price * 0.97).toFixed(2));
      const quantity = h.marketType === 'spot' ? h.legQuantity : h.entryQuantity;
      const placed = await gateway.placeOrder(entry({ clientOrderId: id, type: 'limit', price, quantity }));
      expect(placed).toMatchObject({ clientOrderId: id, symbol: h.symbol, side: 'buy', type: 'limit', status: 'open', quantity, filledQuantity: 0 });
      expect(placed.exchangeOrderId).not.toBe('');

      const found = await gateway.fetchOrder(h.symbol, id);
      expect(found).toMatchObject({ clientOrderId: id, exchangeOrderId: placed.exchangeOrderId, status: 'open', type: 'limit' });
      expect((await gateway.openOrders(h.symbol)).map((o) => o.clientOrderId)).toContain(id);
      expect((await gateway.openOrders()).map((o) => o.clientOrderId)).toContain(id);

      const cancelled = await gateway.cancelOrder(h.symbol, id);
      expect(cancelled).toMatchObject({ clientOrderId: id, status: 'cancelled' });
      expect(await gateway.fetchOrder(h.symbol, id)).toMatchObject({ status: 'cancelled' });
      expect((await gateway.openOrders(h.symbol)).map((o) => o.clientOrderId)).not.toContain(id);
      expect(await gateway.cancelOrder(h.symbol, id)).toBeNull();
    });

    it('answers null for an order it never saw', async () => {
      const { gateway } = await fresh();
      expect(await gateway.fetchOrder(h.symbol, cid('nope'))).toBeNull();
      expect(await gateway.cancelOrder(h.symbol, cid('nope'))).toBeNull();
    });

    it('refuses a second order with the same client order id as duplicate-client-id', async () => {
      const { gateway } = await fresh();
      const id = cid('d');
      const price = Number((h.price * 0.97).toFixed(2));
      const quantity = h.marketType === 'spot' ? h.legQuantity : h.entryQuantity;
      await gateway.placeOrder(entry({ clientOrderId: id, type: 'limit', price, quantity }));
      await expectKind(() => gateway.placeOrder(entry({ clientOrderId: id, type: 'limit', price, quantity })), 'duplicate-client-id');
      expect((await gateway.openOrders(h.symbol)).filter((o) => o.clientOrderId === id)).toHaveLength(1);
      await gateway.cancelOrder(h.symbol, id);
    });

    it('refuses an order below the minimum notional as invalid-order', async () => {
      const { gateway } = await fresh();
      await expectKind(() => gateway.placeOrder(entry({ symbol: h.tiny.symbol, quantity: h.tiny.quantity })), 'invalid-order');
    });
  });

  describe('fills, positions and trades', () => {
    it('fills a market entry and reports it in trades since a cursor', async () => {
      const { gateway } = await fresh();
      const since = (await gateway.serverTime()) - 1;
      const first = await gateway.placeOrder(entry());
      expect(first).toMatchObject({ status: 'filled', filledQuantity: h.entryQuantity, side: 'buy', type: 'market' });
      expect(first.averagePrice).toBeCloseTo(h.price, -1);
      expect(await gateway.fetchOrder(h.symbol, first.clientOrderId)).toMatchObject({ status: 'filled', filledQuantity: h.entryQuantity });

      const trades = await gateway.tradesSince(h.symbol, { sinceMs: since });
      expect(trades.length).toBeGreaterThanOrEqual(1);
      expect(trades.every((t) => t.orderId === first.exchangeOrderId && t.side === 'buy')).toBe(true);
      expect(trades.reduce((sum, t) => sum + t.quantity, 0)).toBeCloseTo(h.entryQuantity, 8);
      const cursor = { sinceMs: since, afterId: trades[trades.length - 1]!.id };
      expect(await gateway.tradesSince(h.symbol, cursor)).toEqual([]);

      const second = await gateway.placeOrder(entry());
      const later = await gateway.tradesSince(h.symbol, cursor);
      expect(later.length).toBeGreaterThanOrEqual(1);
      expect(later.every((t) => t.orderId === second.exchangeOrderId)).toBe(true);
      expect(await gateway.tradesSince(h.symbol, { sinceMs: Date.now() + 60_000 })).toEqual([]);
    });

    it('reports positions (futures) or none (spot)', async () => {
      const { gateway } = await fresh();
      expect(await gateway.positions()).toEqual([]);
      await gateway.placeOrder(entry());
      const positions = await gateway.positions();
      if (h.marketType === 'spot') {
        expect(positions).toEqual([]);
        return;
      }
      expect(positions).toHaveLength(1);
      expect(positions[0]).toMatchObject({ symbol: h.symbol, side: 'long', quantity: h.entryQuantity });
      expect(positions[0]!.entryPrice).toBeCloseTo(h.price, -1);
      const balance = await gateway.balance();
      expect(balance.free).toBeLessThan(h.funded);
    });

    it('reports every asset of the wallet: the bought coin free, a resting sell as used (spot)', async () => {
      const { gateway } = await fresh();
      const assetBalances = gateway.assetBalances?.bind(gateway);
      expect(assetBalances, 'the gateway reports every asset').toBeDefined();
      const before = await assetBalances!();
      const cash = before.get('USDT');
      expect(cash).toBeDefined();
      expect(cash!.free + cash!.used).toBeCloseTo(h.funded, 2);
      expect(cash!.used).toBeCloseTo(0, 8);
      const base = (await gateway.markets()).get(h.symbol)!.base;
      expect(before.get(base)?.free ?? 0).toBe(0);
      if (h.marketType !== 'spot') return;

      const bought = await gateway.placeOrder(entry());
      const filled = (await gateway.fetchOrder(h.symbol, bought.clientOrderId))!;
      expect(filled).toMatchObject({ status: 'filled', filledQuantity: h.entryQuantity });
      // Binance takes a spot buy's fee in the coin bought (unless paid otherwise); paper in the quote.
      const held = filled.filledQuantity - filled.fees.filter((fee) => fee.currency === base).reduce((sum, fee) => sum + fee.amount, 0);
      const afterBuy = await assetBalances!();
      expect(afterBuy.get(base)!.free).toBeCloseTo(held, 8);
      expect(afterBuy.get(base)!.used).toBeCloseTo(0, 8);
      expect(afterBuy.get('USDT')!.free).toBeLessThan(h.funded);

      const sellId = cid('rs');
      const price = Number((h.price * 1.2).toFixed(2));
      await gateway.placeOrder({ clientOrderId: sellId, symbol: h.symbol, side: 'sell', type: 'limit', price, quantity: h.legQuantity, reduceOnly: false });
      const resting = await assetBalances!();
      expect(resting.get(base)!.used).toBeCloseTo(h.legQuantity, 8);
      expect(resting.get(base)!.free).toBeCloseTo(held - h.legQuantity, 8);

      await gateway.cancelOrder(h.symbol, sellId);
      const released = await assetBalances!();
      expect(released.get(base)!.used).toBeCloseTo(0, 8);
      expect(released.get(base)!.free).toBeCloseTo(held, 8);
    });

    it('runs stop-loss and take-profit legs that trigger on price', async () => {
      const subject = await fresh();
      const { gateway } = subject;
      await gateway.placeOrder(entry());
      const tpId = cid('tp');
      const slId = cid('sl');
      const tp = await gateway.placeOrder({
        clientOrderId: tpId,
        symbol: h.symbol,
        side: 'sell',
        type: 'take-profit',
        triggerPrice: Number((h.price * 1.1).toFixed(2)),
        quantity: h.legQuantity,
        reduceOnly: true,
      });
      const sl = await gateway.placeOrder({
        clientOrderId: slId,
        symbol: h.symbol,
        side: 'sell',
        type: 'stop-loss',
        triggerPrice: Number((h.price * 0.9).toFixed(2)),
        quantity: h.legQuantity,
        reduceOnly: true,
      });
      expect(tp).toMatchObject({ clientOrderId: tpId, type: 'take-profit', status: 'open' });
      expect(sl).toMatchObject({ clientOrderId: slId, type: 'stop-loss', status: 'open' });
      const open = await gateway.openOrders(h.symbol);
      expect(open.map((o) => [o.clientOrderId, o.type])).toEqual(
        expect.arrayContaining([
          [tpId, 'take-profit'],
          [slId, 'stop-loss'],
        ]),
      );

      await h.setPrice(Number((h.price * 1.11).toFixed(2)));
      await subject.settle();
      expect(await gateway.fetchOrder(h.symbol, tpId)).toMatchObject({ status: 'filled', filledQuantity: h.legQuantity, type: 'take-profit' });
      expect(await gateway.fetchOrder(h.symbol, slId)).toMatchObject({ status: 'open' });

      await h.setPrice(Number((h.price * 0.89).toFixed(2)));
      await subject.settle();
      const stopped = await gateway.fetchOrder(h.symbol, slId);
      expect(stopped).toMatchObject({ status: 'filled', filledQuantity: h.legQuantity, type: 'stop-loss' });
      expect(stopped!.averagePrice).toBeLessThan(h.price);
      expect(await gateway.openOrders(h.symbol)).toEqual([]);
      if (h.marketType === 'futures') {
        const rest = h.entryQuantity - 2 * h.legQuantity;
        const positions = await gateway.positions();
        if (rest === 0) expect(positions).toEqual([]);
        else expect(positions[0]).toMatchObject({ quantity: rest });
      }
    });

    it('reduce-only orders never open a position (futures)', async () => {
      if (h.marketType !== 'futures') return;
      const { gateway } = await fresh();
      await expectKind(() => gateway.placeOrder(entry({ side: 'sell', reduceOnly: true })), 'invalid-order');
      expect(await gateway.positions()).toEqual([]);
      await gateway.placeOrder(entry());
      const closed = await gateway.placeOrder(entry({ side: 'sell', reduceOnly: true }));
      expect(closed).toMatchObject({ status: 'filled', filledQuantity: h.entryQuantity });
      expect(await gateway.positions()).toEqual([]);
    });
  });

  describe('account setup', () => {
    it('sets leverage and margin mode once per symbol; the second call sends nothing', async () => {
      const subject = await fresh();
      const { gateway } = subject;
      const before = subject.leverageRequests();
      await gateway.ensureLeverage(h.symbol, 5, 'isolated');
      const afterFirst = subject.leverageRequests();
      await gateway.ensureLeverage(h.symbol, 5, 'isolated');
      expect(subject.leverageRequests()).toBe(afterFirst);
      if (before !== null && afterFirst !== null) {
        expect(afterFirst - before).toBe(h.marketType === 'futures' ? 2 : 0);
        if (h.marketType === 'futures') {
          // A different leverage is a new setting.
          await gateway.ensureLeverage(h.symbol, 6, 'isolated');
          expect(subject.leverageRequests()).toBeGreaterThan(afterFirst);
        }
      }
      if (h.marketType === 'futures') {
        await gateway.placeOrder(entry());
        const [position] = await gateway.positions();
        expect(position).toMatchObject({ symbol: h.symbol, quantity: h.entryQuantity });
      }
    });

    it('preflights the account and audits the key', async () => {
      const { gateway } = await fresh();
      const preflight = await gateway.preflight();
      expect(preflight).toMatchObject({ positionMode: 'one-way', problems: [] });
      expect(preflight.futuresEnabled).toBe(h.marketType === 'futures');
      if (h.marketType === 'futures') expect(preflight.maxLeverage).toBeGreaterThan(1);
      const audit = await gateway.auditKey();
      expect(audit.verdict).toBe('ok');
      expect(audit.canWithdraw).toBe(false);
    });
  });
}
