import { describe, expect, it } from 'vitest';
import type { MarketRules } from '../../../src/domain/market';
import type { Quote } from '../../../src/exchange/gateway';
import { MemoryPaperStore, PaperGateway, triggered } from '../../../src/exchange/paper';
import type { MarketDataSource } from '../../../src/exchange/paper';

const SOL: MarketRules = {
  symbol: 'SOL/USDT:USDT',
  base: 'SOL',
  quote: 'USDT',
  type: 'swap',
  amountStep: 1,
  priceStep: 0.01,
  minAmount: 1,
  maxAmount: 1_000_000,
  minNotional: 5,
  maxLeverage: 100,
  contractSize: 1,
  maxConditionalOrders: 10,
};

/** Prices you set by hand: a plain MarketDataSource, no exchange involved. */
class HandPrices implements MarketDataSource {
  last = 100;
  private readonly rules = new Map([[SOL.symbol, SOL]]);
  async markets() {
    return this.rules;
  }
  async quote(_exchangeId: string, _marketType: string, symbol: string): Promise<Quote> {
    return { symbol, bid: this.last, ask: this.last, last: this.last, at: 1 };
  }
}

const setup = () => {
  const prices = new HandPrices();
  const store = new MemoryPaperStore();
  let now = 1_000;
  const gateway = new PaperGateway({
    accountId: 'acc',
    exchangeId: 'binance',
    marketType: 'futures',
    store,
    marketData: prices,
    now: () => ++now,
    slippageBps: 0,
    startingBalanceUsd: 1_000,
  });
  return { prices, store, gateway };
};

const market = (clientOrderId: string, side: 'buy' | 'sell', quantity: number, reduceOnly = false) => ({
  clientOrderId,
  symbol: SOL.symbol,
  side,
  type: 'market' as const,
  quantity,
  reduceOnly,
});

describe('paper gateway', () => {
  it('triggers: sell stops fall to their price, buy stops rise; take-profits the other way', () => {
    expect(triggered('stop-loss', 'sell', 90, 90)).toBe(true);
    expect(triggered('stop-loss', 'sell', 90, 91)).toBe(false);
    expect(triggered('stop-loss', 'buy', 110, 110)).toBe(true);
    expect(triggered('stop-loss', 'buy', 110, 109)).toBe(false);
    expect(triggered('take-profit', 'sell', 110, 111)).toBe(true);
    expect(triggered('take-profit', 'sell', 110, 100)).toBe(false);
    expect(triggered('take-profit', 'buy', 90, 89)).toBe(true);
    expect(triggered('take-profit', 'buy', 90, 95)).toBe(false);
  });

  it('loses no update when one account gets many orders at once', async () => {
    const { gateway, store } = setup();
    await Promise.all(Array.from({ length: 9 }, (_, i) => gateway.placeOrder(market(`c${i}`, 'buy', 1))));
    expect(await gateway.positions()).toMatchObject([{ side: 'long', quantity: 9 }]);
    expect((await store.load('acc'))?.trades).toHaveLength(9);
  });

  it('nets one-way: selling more than the long flips to a short; reduce-only never flips', async () => {
    const { gateway } = setup();
    await gateway.placeOrder(market('a', 'buy', 2));
    await gateway.placeOrder(market('b', 'sell', 3));
    expect(await gateway.positions()).toMatchObject([{ side: 'short', quantity: 1 }]);
    const capped = await gateway.placeOrder(market('c', 'buy', 5, true));
    expect(capped).toMatchObject({ status: 'partially-filled', filledQuantity: 1 });
    expect(await gateway.positions()).toEqual([]);
  });

  it('a protective leg whose position is gone lapses (expired) when triggered', async () => {
    const { gateway, prices } = setup();
    await gateway.placeOrder(market('open', 'buy', 2));
    await gateway.placeOrder({ clientOrderId: 'sl', symbol: SOL.symbol, side: 'sell', type: 'stop-loss', triggerPrice: 90, quantity: 2, reduceOnly: true });
    await gateway.placeOrder(market('close', 'sell', 2, true));
    prices.last = 89;
    expect(await gateway.tick()).toBe(0);
    expect(await gateway.fetchOrder(SOL.symbol, 'sl')).toMatchObject({ status: 'expired', filledQuantity: 0 });
    expect(await gateway.positions()).toEqual([]);
  });

  it('refuses a trigger that would fire at once, a bad step, and a reused client id even after the order finished', async () => {
    const { gateway } = setup();
    await expect(
      gateway.placeOrder({ clientOrderId: 'x1', symbol: SOL.symbol, side: 'sell', type: 'stop-loss', triggerPrice: 101, quantity: 1, reduceOnly: true }),
    ).rejects.toMatchObject({ kind: 'invalid-order' });
    await expect(gateway.placeOrder(market('x2', 'buy', 1.5))).rejects.toMatchObject({ kind: 'invalid-order' });
    await gateway.placeOrder(market('x3', 'buy', 1));
    await expect(gateway.placeOrder(market('x3', 'buy', 1))).rejects.toMatchObject({ kind: 'duplicate-client-id' });
  });

  it('refuses margin it does not have, at the account leverage', async () => {
    const { gateway } = setup();
    await expect(gateway.placeOrder(market('big', 'buy', 20))).rejects.toMatchObject({ kind: 'insufficient-funds' });
    await gateway.ensureLeverage(SOL.symbol, 10, 'cross');
    await gateway.placeOrder(market('big2', 'buy', 20));
    expect((await gateway.balance()).free).toBeCloseTo(1_000 - 200 - 1, 6);
  });

  it("rests at most the market's maxConditionalOrders stop-loss / take-profit legs per symbol, like Binance", async () => {
    const { gateway } = setup();
    await gateway.placeOrder(market('pos', 'buy', 2));
    const leg = (id: string, triggerPrice: number) =>
      gateway.placeOrder({ clientOrderId: id, symbol: SOL.symbol, side: 'sell', type: 'stop-loss', triggerPrice, quantity: 1, reduceOnly: true });
    for (let i = 0; i < 10; i += 1) await leg(`leg${i}`, 90 - i);
    await expect(leg('leg10', 80)).rejects.toMatchObject({ kind: 'conditional-limit', exchangeCode: 'paper-max-conditional-orders' });
    await gateway.cancelOrder(SOL.symbol, 'leg0');
    await expect(leg('leg10', 80)).resolves.toMatchObject({ status: 'open' });
  });

  it('does not attach SL/TP to an entry (separate legs only)', async () => {
    const { gateway } = setup();
    await expect(gateway.placeOrder({ ...market('att', 'buy', 1), attachedStopLoss: 90 })).rejects.toMatchObject({ kind: 'not-supported' });
  });
});
