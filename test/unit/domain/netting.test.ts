import { describe, expect, it } from 'vitest';
import { exposureConflict } from '../../../src/domain/netting';

describe('exposureConflict (one bot position per exchange position)', () => {
  const open = [{ symbol: 'BTC/USDT:USDT', side: 'long' as const }];
  it.each([
    ['the other way on the same symbol, one-way', 'BTC/USDT:USDT', 'short', 'one-way', 'opposite-position-open'],
    ['the other way, position mode not read yet (Binance defaults to one-way)', 'BTC/USDT:USDT', 'short', null, 'opposite-position-open'],
    ['the same way: a second position on one exchange position, its stop would reduce the first', 'BTC/USDT:USDT', 'long', 'one-way', 'position-open-on-symbol'],
    ['hedge mode, the same side', 'BTC/USDT:USDT', 'long', 'hedge', 'position-open-on-symbol'],
    ['hedge mode keeps the sides apart', 'BTC/USDT:USDT', 'short', 'hedge', null],
    ['another symbol', 'ETH/USDT:USDT', 'short', 'one-way', null],
  ] as const)('%s → %s', (_, symbol, side, mode, conflict) => {
    expect(exposureConflict(symbol, side, mode, open)).toBe(conflict);
  });
});
