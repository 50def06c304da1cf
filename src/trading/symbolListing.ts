/**
 * Whether a signal's pair exists where it would trade, before it is accepted (issue #15): a typo or a
 * misread coin ("AI" for "XAI") is refused at intake with its reason, instead of being queued and
 * skipped by every account. A pair counts as listed when any venue (exchange and market type) of the
 * server's enabled accounts lists it, by the same resolution the accounts use (symbols.ts). A market
 * table that cannot be read is no answer: the signal is then accepted, and each account still
 * resolves the pair against its own market before it trades.
 */
import type { Database } from '../db/client';
import { accountsRepository } from '../db/repositories/accounts';
import type { MarketType } from '../domain/account';
import { resolveSymbol, type MarketLookup } from '../domain/symbols';
import { withTimeout } from '../timeout';

export type Listing = 'listed' | 'unlisted' | 'unknown';

export interface Venue {
  exchangeId: string;
  marketType: MarketType;
}

export interface SymbolListing {
  check(guildId: string, symbol: string): Promise<Listing>;
}

/** Listed on any venue read; unknown when a venue that was not read might list it. */
export function listingOf(symbol: string, tables: ReadonlyArray<{ venue: Venue; markets: MarketLookup | null }>): Listing {
  if (tables.some((t) => t.markets !== null && resolveSymbol(symbol, t.venue.marketType, t.markets).kind === 'resolved')) {
    return 'listed';
  }
  return tables.some((t) => t.markets === null) ? 'unknown' : 'unlisted';
}

export interface SymbolListingDeps {
  /** The venues of the server's enabled accounts (duplicates allowed). */
  venuesOf(guildId: string): Promise<readonly Venue[]>;
  /** The venue's market table (shared, keyless, cached by the exchange layer). */
  markets(venue: Venue): Promise<MarketLookup>;
  /** Checked when the server has no account yet, so a typo is still caught. */
  defaultVenues: readonly Venue[];
  /** A caller waits for the answer (Discord gives an interaction 3 s): past this, unknown. */
  timeoutMs?: number;
  log: { warn(obj: object, msg?: string): void };
}

export function createSymbolListing(deps: SymbolListingDeps): SymbolListing {
  const timeoutMs = deps.timeoutMs ?? 2000;
  return {
    async check(guildId, symbol) {
      const found = await deps.venuesOf(guildId);
      const unique = new Map((found.length > 0 ? found : deps.defaultVenues).map((v) => [`${v.exchangeId}|${v.marketType}`, v]));
      const tables = await Promise.all(
        [...unique.values()].map(async (venue) => {
          try {
            const markets = await withTimeout(deps.markets(venue), timeoutMs, () => new Error('market table timed out'));
            return { venue, markets };
          } catch (error) {
            deps.log.warn({ err: error, exchangeId: venue.exchangeId, marketType: venue.marketType }, 'market table unavailable: the pair is checked per account');
            return { venue, markets: null };
          }
        }),
      );
      return listingOf(symbol, tables);
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
  db: Database,
  gateways: { publicMarkets(exchangeId: string, marketType: MarketType): Promise<MarketLookup> },
  log: SymbolListingDeps['log'],
): SymbolListing {
  const accounts = accountsRepository(db);
  return createSymbolListing({
    venuesOf: async (guildId) =>
      (await accounts.listEnabledInGuild(guildId)).map((a) => ({ exchangeId: a.exchangeId, marketType: a.marketType })),
    markets: (venue) => gateways.publicMarkets(venue.exchangeId, venue.marketType),
    defaultVenues: DEFAULT_VENUES,
    log,
  });
}
