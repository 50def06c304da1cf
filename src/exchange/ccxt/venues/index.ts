/** Each exchange's dialect: a venue without one here speaks ccxt's unified methods (GenericVenue). */
import { BinanceVenue } from './binance';
import { BybitVenue } from './bybit';
import { GenericVenue } from './generic';
import type { Venue, VenueAccount } from './venue';

const DIALECTS: Readonly<Record<string, new (account: VenueAccount) => Venue>> = {
  binance: BinanceVenue,
  binanceusdm: BinanceVenue,
  bybit: BybitVenue,
};

export function venueFor(account: VenueAccount): Venue {
  const Dialect = DIALECTS[account.exchangeId] ?? GenericVenue;
  return new Dialect(account);
}

export type { Venue, VenueAccount, VenueCalls } from './venue';
