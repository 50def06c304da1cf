/**
 * What a member's signal is checked against at intake, before it is accepted (issue #15): its pair
 * must exist where it would trade, and its prices must be near the market's. A typo, a misread coin
 * ("AI" for "XAI") or prices written short ("Buy 445" for 0.445, satoshis for a BTC pair) are refused
 * with their reason instead of being queued for every account.
 *
 * A pair counts as listed when any venue (exchange and market type) of the server's enabled accounts
 * lists it, by the resolution the accounts use (symbols.ts). A market table or price that cannot be
 * read is no answer: the signal is then accepted, and each account still resolves the pair against
 * its own market and checks its stop against the price before it trades.
 */
import type { Store } from '../db/store';
import type { MarketType } from '../domain/account';
import type { TradeSignal } from '../domain/signal';
import { resolveSymbol, type MarketLookup } from '../domain/symbols';
import { withTimeout } from '../timeout';

export type Listing = 'listed' | 'unlisted' | 'unknown';

export interface Venue {
  exchangeId: string;
  marketType: MarketType;
}

/** The answer at intake: accept, or the reason to refuse. */
export type MarketCheck = 'accept' | 'unknown-symbol' | 'far-from-market';

export interface SymbolListing {
  check(guildId: string, signal: TradeSignal): Promise<MarketCheck>;
}

/** Listed on any venue read; unknown when a venue that was not read might list it. */
export function listingOf(symbol: string, tables: ReadonlyArray<{ venue: Venue; markets: MarketLookup | null }>): Listing {
  if (tables.some((t) => t.markets !== null && resolveSymbol(symbol, t.venue.marketType, t.markets).kind === 'resolved')) {
    return 'listed';
  }
  return tables.some((t) => t.markets === null) ? 'unknown' : 'unlisted';
}

// Entries (or, at market, the stop) within half to twice the market's price: a limit entry is rarely
// placed further, and a number written short or in satoshis is off by a factor of 100 or more.
const MARKET_FACTOR = 2;

/** Whether the signal's prices belong to a market trading at `last`. */
export function nearMarket(signal: TradeSignal, last: number): boolean {
  const anchors = signal.entryType === 'limit' ? signal.entries : [signal.stopLoss];
  return anchors.every((price) => price >= last / MARKET_FACTOR && price <= last * MARKET_FACTOR);
}

/** The intake's decision from what could be read (null: the price could not be read). */
export function decideMarketCheck(signal: TradeSignal, listing: Listing, last: number | null): MarketCheck {
  if (listing === 'unlisted') return 'unknown-symbol';
  if (last !== null && last > 0 && !nearMarket(signal, last)) return 'far-from-market';
  return 'accept';
}

export interface SymbolListingDeps {
  /** The venues of the server's enabled accounts (duplicates allowed). */
  venuesOf(guildId: string): Promise<readonly Venue[]>;
  /** The venue's market table (shared, keyless, cached by the exchange layer). */
  markets(venue: Venue): Promise<MarketLookup>;
  /** The last price of a market symbol on a venue (shared, keyless). */
  lastPrice(venue: Venue, marketSymbol: string): Promise<number>;
  /** Checked when the server has no account yet, so a typo is still caught. */
  defaultVenues: readonly Venue[];
  /** A caller waits for the answer (Discord gives an interaction 3 s): past this, no answer. */
  timeoutMs?: number;
  log: { warn(obj: object, msg?: string): void };
}

export function createSymbolListing(deps: SymbolListingDeps): SymbolListing {
  const timeoutMs = deps.timeoutMs ?? 2000;
  const bounded = <T>(promise: Promise<T>, what: string): Promise<T> =>
    withTimeout(promise, timeoutMs, () => new Error(`${what} timed out`));
  return {
    async check(guildId, signal) {
      const found = await deps.venuesOf(guildId);
      const unique = new Map((found.length > 0 ? found : deps.defaultVenues).map((v) => [`${v.exchangeId}|${v.marketType}`, v]));
      const tables = await Promise.all(
        [...unique.values()].map(async (venue) => {
          try {
            return { venue, markets: await bounded(deps.markets(venue), 'market table') };
          } catch (error) {
            deps.log.warn({ err: error, exchangeId: venue.exchangeId, marketType: venue.marketType }, 'market table unavailable: the pair is checked per account');
            return { venue, markets: null };
          }
        }),
      );
      const listing = listingOf(signal.symbol, tables);
      return decideMarketCheck(signal, listing, listing === 'listed' ? await priceOn(tables) : null);

      async function priceOn(read: typeof tables): Promise<number | null> {
        for (const { venue, markets } of read) {
          if (markets === null) continue;
          const resolved = resolveSymbol(signal.symbol, venue.marketType, markets);
          if (resolved.kind !== 'resolved') continue;
          try {
            return await bounded(deps.lastPrice(venue, resolved.symbol), 'price');
          } catch (error) {
            deps.log.warn({ err: error, exchangeId: venue.exchangeId, symbol: resolved.symbol }, 'price unavailable: prices are checked per account');
            return null;
          }
        }
        return null;
      }
    },
  };
}

/** Venues checked when a server has no enabled account yet: the exchange the bot is built around. */
export const DEFAULT_VENUES: readonly Venue[] = [
  { exchangeId: 'binance', marketType: 'spot' },
  { exchangeId: 'binance', marketType: 'futures' },
];

/** The listing for a server: its enabled accounts' venues, read through the exchange layer's shared tables. */
export function serverSymbolListing(
  store: Store,
  gateways: {
    publicMarkets(exchangeId: string, marketType: MarketType): Promise<MarketLookup>;
    publicLastPrice(exchangeId: string, marketType: MarketType, symbol: string): Promise<number>;
  },
  log: SymbolListingDeps['log'],
): SymbolListing {
  const accounts = store.accounts;
  return createSymbolListing({
    venuesOf: async (guildId) =>
      (await accounts.listEnabledInGuild(guildId)).map((a) => ({ exchangeId: a.exchangeId, marketType: a.marketType })),
    markets: (venue) => gateways.publicMarkets(venue.exchangeId, venue.marketType),
    lastPrice: (venue, symbol) => gateways.publicLastPrice(venue.exchangeId, venue.marketType, symbol),
    defaultVenues: DEFAULT_VENUES,
    log,
  });
}
