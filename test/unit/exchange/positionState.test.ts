import type { Position } from 'ccxt';
import { describe, expect, it } from 'vitest';
import { positionStateOf } from '../../../src/exchange/ccxt/orderState';

const position = (over: Partial<Position>): Position => ({ info: {}, symbol: 'BTC/USDT:USDT', side: 'long', contracts: 3, contractSize: 1, entryPrice: 60_000, ...over }) as Position;

describe("a ccxt position as the port's", () => {
  it('counts contracts, the unit orders are placed in, whatever a contract is worth', () => {
    // An OKX BTC swap: one contract is 0.01 BTC. Closing 3 contracts takes an order of amount 3, not 0.03.
    expect(positionStateOf(position({ contracts: 3, contractSize: 0.01 }))[0]?.quantity).toBe(3);
    expect(positionStateOf(position({ contracts: 0.25, contractSize: 1 }))[0]?.quantity).toBe(0.25);
  });

  it('reads a short as a positive quantity on the short side, and leaves out flat and unnamed positions', () => {
    expect(positionStateOf(position({ side: 'short', contracts: -2 }))).toMatchObject([{ side: 'short', quantity: 2 }]);
    expect(positionStateOf(position({ contracts: 0 }))).toEqual([]);
    expect(positionStateOf(position({ symbol: undefined as unknown as string }))).toEqual([]);
  });
});
