import type { Exchange } from 'ccxt';
import { describe, expect, it } from 'vitest';
import { FeeValuation } from '../../../src/exchange/ccxt/feeValuation';

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 5, 12, 0, 0);

/** A ccxt exchange with only what the valuation uses: markets and 1-minute candles. */
function fakeExchange(prices: (minute: number) => number | Error) {
  const calls: number[] = [];
  const exchange = {
    markets: { 'BNB/USDT': {} },
    async fetchOHLCV(_symbol: string, _tf: string, since: number) {
      calls.push(since);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const price = prices(since);
      if (price instanceof Error) throw price;
      return [[since, price, price, price, price, 1]];
    },
  } as unknown as Exchange;
  return { exchange, calls };
}

const bnbFee = (cost: number, at: number) => ({ currency: 'BNB', cost, price: 100, at });

describe('fee valuation', () => {
  it('values a BNB fee at its minute\'s candle; twenty fills of one open minute read one candle', async () => {
    const { exchange, calls } = fakeExchange(() => 600);
    const valuation = new FeeValuation('binance:live');
    const fills = Array.from({ length: 20 }, (_, i) => valuation.value(exchange, 'LINK/USDT:USDT', [bnbFee(0.0001, T + i * 1000)], T + 25_000));
    const charges = await Promise.all(fills);
    expect(charges[0]).toEqual([{ currency: 'BNB', amount: 0.0001, quoteValue: 0.06 }]);
    expect(calls).toEqual([T]);
  });

  it('keeps a closed minute\'s price for good, an open one only a few seconds', async () => {
    const { exchange, calls } = fakeExchange((m) => (m === T ? 600 : 610));
    const valuation = new FeeValuation('binance:live');
    await valuation.value(exchange, 'LINK/USDT:USDT', [bnbFee(0.0001, T + 1000)], T + 2 * MINUTE);
    await valuation.value(exchange, 'LINK/USDT:USDT', [bnbFee(0.0001, T + 2000)], T + 10 * MINUTE);
    expect(calls).toEqual([T]);
    await valuation.value(exchange, 'LINK/USDT:USDT', [bnbFee(0.0001, T + MINUTE + 1000)], T + MINUTE + 5000);
    await valuation.value(exchange, 'LINK/USDT:USDT', [bnbFee(0.0001, T + MINUTE + 1000)], T + MINUTE + 40_000);
    expect(calls).toEqual([T, T + MINUTE, T + MINUTE]);
  });

  it('a price that cannot be read leaves the charge unvalued, never fails; the coin and the quote need no price', async () => {
    const { exchange } = fakeExchange(() => new Error('502'));
    const valuation = new FeeValuation('binance:live');
    const charges = await valuation.value(
      exchange,
      'LINK/USDT:USDT',
      [bnbFee(0.0001, T), { currency: 'LINK', cost: 0.001, price: 100, at: T }, { currency: 'USDT', cost: 0.04, price: 100, at: T }],
      T + MINUTE,
    );
    expect(charges).toEqual([
      { currency: 'BNB', amount: 0.0001, quoteValue: null },
      { currency: 'LINK', amount: 0.001, quoteValue: 0.1 },
      { currency: 'USDT', amount: 0.04, quoteValue: 0.04 },
    ]);
    const noMarket = await valuation.value(exchange, 'LINK/USDT:USDT', [{ currency: 'XYZ', cost: 1, price: 100, at: T }], T);
    expect(noMarket).toEqual([{ currency: 'XYZ', amount: 1, quoteValue: null }]);
  });
});
