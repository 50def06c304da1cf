import { describe, expect, it } from 'vitest';
import type { MarketRules } from '../../../src/domain/market';
import { marketSymbol, parsePair, resolveSymbol, STABLE_QUOTES } from '../../../src/domain/symbols';
import { btcPerp, btcSpot } from './fixtures';

const lookup = (...markets: MarketRules[]) => new Map(markets.map((m) => [m.symbol, m]));

const binance = lookup(
  btcSpot(),
  btcPerp(),
  btcPerp({ symbol: 'ETH/USDC:USDC', base: 'ETH', quote: 'USDC' }),
  btcSpot({ symbol: 'SOL/USDC', base: 'SOL', quote: 'USDC' }),
  btcSpot({ symbol: 'SOL/USD', base: 'SOL', quote: 'USD' }),
  btcSpot({ symbol: 'ETH/BTC', base: 'ETH', quote: 'BTC' }),
  // An inverse (coin-margined) perpetual is not a linear one and must never be picked.
  btcPerp({ symbol: 'DOGE/USD:DOGE', base: 'DOGE', quote: 'USD' }),
);

describe('resolveSymbol', () => {
  it.each([
    ['BTC/USDT', 'spot', 'BTC/USDT', false],
    ['BTC/USDT', 'futures', 'BTC/USDT:USDT', false],
    ['btc/usdt', 'futures', 'BTC/USDT:USDT', false],
    ['BTC/USDT:USDT', 'futures', 'BTC/USDT:USDT', false],
    ['ETH/USDT', 'futures', 'ETH/USDC:USDC', true],
    ['SOL/USDT', 'spot', 'SOL/USDC', true], // USDC comes before USD
    ['SOL/USD', 'spot', 'SOL/USD', false], // the signal's own quote first
    ['BTC/USDC', 'spot', 'BTC/USDT', true],
    ['ETH/BTC', 'spot', 'ETH/BTC', false],
  ] as const)('%s on %s → %s', (signal, type, expected, substituted) => {
    const r = resolveSymbol(signal, type, binance);
    expect(r).toMatchObject({ kind: 'resolved', symbol: expected, quoteSubstituted: substituted });
  });

  it.each([
    ['XRP/USDT', 'spot'], // not listed at all
    ['ETH/BTC', 'futures'], // no linear ETH/BTC perpetual; a non-stable quote is never swapped
    ['ETH/ETH', 'spot'],
    ['DOGE/USD', 'futures'], // only an inverse perpetual exists
    ['SOL/USDT', 'futures'], // SOL is spot-only here
    ['BTCUSDT', 'spot'], // malformed input is a skip, never a throw
    ['', 'futures'],
  ] as const)('%s on %s → symbol-not-listed', (signal, type) => {
    expect(resolveSymbol(signal, type, binance)).toEqual({ kind: 'skipped', reason: 'symbol-not-listed' });
  });

  it('rejects a market whose kind does not match the account', () => {
    const odd = lookup(btcPerp({ symbol: 'BTC/USDT' }));
    expect(resolveSymbol('BTC/USDT', 'spot', odd)).toEqual({ kind: 'skipped', reason: 'symbol-not-listed' });
  });

  it('tries the stable quotes in a fixed order', () => {
    expect(STABLE_QUOTES).toEqual(['USDT', 'USDC', 'USD']);
    expect(parsePair('eth/usdc:usdc')).toEqual({ base: 'ETH', quote: 'USDC' });
    expect(parsePair('ETH-USDT')).toBeUndefined();
    expect(marketSymbol({ base: 'ETH', quote: 'USDC' }, 'futures')).toBe('ETH/USDC:USDC');
  });
});
