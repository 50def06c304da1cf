/**
 * A signal names a pair (`BTC/USDT`); each account trades it on its own exchange and market type.
 * Spot keeps the pair; futures use the linear perpetual settled in the quote (`BTC/USDT:USDT`).
 * A dollar-stable quote the exchange lacks is swapped for another stable quote, in a fixed order, since
 * members mean "BTC against dollars"; any other quote (ETH/BTC) is never swapped, that is another trade.
 */
import type { MarketType } from './account';
import type { MarketRules } from './market';
import { skip, type Skipped } from './reasons';

/** Tried in this order after the signal's own quote. */
export const STABLE_QUOTES = ['USDT', 'USDC', 'USD'] as const;

/** Anything with `get(symbol)`, such as the Map of a gateway's loaded markets. */
export interface MarketLookup {
  get(symbol: string): MarketRules | undefined;
}

export type SymbolResolution =
  | {
      readonly kind: 'resolved';
      readonly symbol: string;
      readonly market: MarketRules;
      readonly quoteSubstituted: boolean;
    }
  | Skipped<'symbol-not-listed'>;

export interface Pair {
  readonly base: string;
  readonly quote: string;
}

/** `btc/usdt`, `BTC/USDT` or `BTC/USDT:USDT` → { BTC, USDT }; anything else → undefined. */
export function parsePair(symbol: string): Pair | undefined {
  const match = /^([A-Za-z0-9]+)\/([A-Za-z0-9]+)(?::[A-Za-z0-9]+)?$/.exec(symbol.trim());
  if (!match?.[1] || !match[2]) return undefined;
  return { base: match[1].toUpperCase(), quote: match[2].toUpperCase() };
}

/** The unified symbol of a pair on a market type. */
export function marketSymbol(pair: Pair, marketType: MarketType): string {
  return marketType === 'spot' ? `${pair.base}/${pair.quote}` : `${pair.base}/${pair.quote}:${pair.quote}`;
}

/** A dollar-stable quote: amounts in it are USD for sizing and limits. */
export function isStable(quote: string): boolean {
  return (STABLE_QUOTES as readonly string[]).includes(quote.toUpperCase());
}

export function resolveSymbol(
  signalSymbol: string,
  marketType: MarketType,
  markets: MarketLookup,
): SymbolResolution {
  const pair = parsePair(signalSymbol);
  if (!pair) return skip('symbol-not-listed');
  const quotes = isStable(pair.quote)
    ? [pair.quote, ...STABLE_QUOTES.filter((q) => q !== pair.quote)]
    : [pair.quote];
  const wantedType = marketType === 'spot' ? 'spot' : 'swap';
  for (const quote of quotes) {
    const symbol = marketSymbol({ base: pair.base, quote }, marketType);
    const market = markets.get(symbol);
    // The symbol alone could match a market of another kind on an odd exchange; check what it is.
    if (market && market.type === wantedType && market.base.toUpperCase() === pair.base) {
      return { kind: 'resolved', symbol, market, quoteSubstituted: quote !== pair.quote };
    }
  }
  return skip('symbol-not-listed');
}
