import { describe, expect, it } from 'vitest';
import { nettingConflict } from '../../../src/domain/netting';

describe('nettingConflict (one-way futures hold one net position per symbol)', () => {
  const open = [{ symbol: 'BTC/USDT:USDT', side: 'long' as const }];
  it.each([
    ['the other way on the same symbol, one-way', 'BTC/USDT:USDT', 'short', 'one-way', true],
    ['the other way, position mode not read yet (Binance defaults to one-way)', 'BTC/USDT:USDT', 'short', null, true],
    ['the same way (adds to it)', 'BTC/USDT:USDT', 'long', 'one-way', false],
    ['another symbol', 'ETH/USDT:USDT', 'short', 'one-way', false],
    ['hedge mode keeps the sides apart', 'BTC/USDT:USDT', 'short', 'hedge', false],
  ] as const)('%s → %s', (_, symbol, side, mode, conflict) => {
    expect(nettingConflict(symbol, side, mode, open)).toBe(conflict);
  });
});
