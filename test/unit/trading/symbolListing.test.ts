import { describe, expect, it } from 'vitest';
import type { MarketRules } from '../../../src/domain/market';
import type { TradeSignal } from '../../../src/domain/signal';
import { createSymbolListing, decideMarketCheck, listingOf, type Venue } from '../../../src/trading/symbolListing';

const rules = (symbol: string, type: 'spot' | 'swap'): MarketRules => {
  const [base = '', rest = ''] = symbol.split('/');
  return {
    symbol,
    base,
    quote: rest.split(':')[0] ?? '',
    type,
    amountStep: 0.001,
    priceStep: 0.01,
    minAmount: 0.001,
    maxAmount: null,
    minNotional: 5,
    maxLeverage: type === 'spot' ? 1 : 20,
    contractSize: 1,
    maxConditionalOrders: null,
  };
};
const table = (...markets: MarketRules[]) => new Map(markets.map((m) => [m.symbol, m]));
const spot: Venue = { exchangeId: 'binance', marketType: 'spot' };
const futures: Venue = { exchangeId: 'binance', marketType: 'futures' };
const signal = (over: Partial<TradeSignal> = {}): TradeSignal => ({
  symbol: 'SOL/USDT',
  side: 'long',
  entryType: 'limit',
  entries: [150],
  stopLoss: 140,
  takeProfits: [160],
  leverage: null,
  ...over,
});
const quiet = { warn: () => {} };

describe('listingOf', () => {
  it('listed when any venue lists the pair as its accounts would trade it', () => {
    expect(listingOf('SOL/USDT', [{ venue: futures, markets: table(rules('SOL/USDT:USDT', 'swap')) }])).toBe('listed');
    // A futures-only server: a spot-only pair is not listed where it would trade.
    expect(listingOf('SOL/USDT', [{ venue: futures, markets: table(rules('SOL/USDT', 'spot')) }])).toBe('unlisted');
  });

  it('unknown when a venue could not be read and none of the others lists it', () => {
    expect(listingOf('SOL/USDT', [{ venue: spot, markets: table() }, { venue: futures, markets: null }])).toBe('unknown');
    expect(listingOf('SOL/USDT', [{ venue: spot, markets: table(rules('SOL/USDT', 'spot')) }, { venue: futures, markets: null }])).toBe('listed');
  });
});

describe('decideMarketCheck', () => {
  it.each([
    ['an entry at the market', signal(), 150, 'accept'],
    ['a limit entry 40 % below the market', signal({ entries: [90], stopLoss: 80, takeProfits: [100] }), 150, 'accept'],
    ['an entry written short (445 for 0.445)', signal({ entries: [445], stopLoss: 423, takeProfits: [471] }), 0.45, 'far-from-market'],
    ['satoshis for a BTC pair', signal({ symbol: 'IRIS/BTC', entries: [281], stopLoss: 260, takeProfits: [310] }), 0.0000028, 'far-from-market'],
    ['a market entry whose stop is far from the price', signal({ entryType: 'market', entries: [], stopLoss: 1.4, takeProfits: [1.6] }), 150, 'far-from-market'],
    ['no price could be read', signal({ entries: [445], stopLoss: 423, takeProfits: [471] }), null, 'accept'],
  ] as const)('%s', (_title, s, last, expected) => {
    expect(decideMarketCheck(s, 'listed', last)).toBe(expected);
  });

  it('an unlisted pair is refused whatever the price', () => {
    expect(decideMarketCheck(signal(), 'unlisted', null)).toBe('unknown-symbol');
  });
});

describe('createSymbolListing', () => {
  const deps = (over: Partial<Parameters<typeof createSymbolListing>[0]> = {}) => ({
    venuesOf: async () => [futures],
    markets: async () => table(rules('SOL/USDT:USDT', 'swap')),
    lastPrice: async () => 150,
    defaultVenues: [spot],
    log: quiet,
    timeoutMs: 50,
    ...over,
  });

  it('reads the price on the venue that lists the pair, by its market symbol', async () => {
    const asked: string[] = [];
    const listing = createSymbolListing(deps({ lastPrice: async (venue, symbol) => (asked.push(`${venue.marketType} ${symbol}`), 0.45) }));
    expect(await listing.check('g', signal({ entries: [445], stopLoss: 423, takeProfits: [471] }))).toBe('far-from-market');
    expect(asked).toEqual(['futures SOL/USDT:USDT']);
  });

  it('a server with no account is checked against the default venues', async () => {
    const listing = createSymbolListing(deps({ venuesOf: async () => [], markets: async (venue) => (venue.marketType === 'spot' ? table() : table(rules('SOL/USDT:USDT', 'swap'))) }));
    expect(await listing.check('g', signal())).toBe('unknown-symbol');
  });

  it('a market table or a price that does not answer in time is no refusal', async () => {
    const never = new Promise<never>(() => {});
    expect(await createSymbolListing(deps({ markets: () => never })).check('g', signal())).toBe('accept');
    expect(await createSymbolListing(deps({ lastPrice: () => never })).check('g', signal({ entries: [445], stopLoss: 423, takeProfits: [471] }))).toBe('accept');
    expect(await createSymbolListing(deps({ markets: async () => { throw new Error('503'); } })).check('g', signal())).toBe('accept');
  });
});
