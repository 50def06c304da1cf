/**
 * Finding the traded pair: explicit forms (BTC/USDT, BTCUSDT, #BTC, $BTC, "Pair: BTC") first,
 * then a bare coin name next to a side word ("long btc", "BTC LONG"), then a lone upper-case line.
 */
import type { PairMarker, PairToken, Token, WordToken } from './tokens';
import { isNotCoin, isSideWord, matchLabel, QUOTES } from './vocabulary';

// Letters first (BTC), or a multiplier (1, 10, ... 1000000, 1M) before at least two letters (1INCH,
// 1000PEPE, 1MBABYDOGE); "8BIT" or "15min" are no coins.
const COIN = /^(?:[A-Za-z][A-Za-z0-9]{1,19}|(?:10{0,6}|1[Mm])[A-Za-z]{2}[A-Za-z0-9]{0,17})$/;
const BARE_COIN = /^[A-Za-z][A-Za-z0-9]{1,9}$/;
// Quotes read from a word only when written in capitals (NKNBTC, LINKETH); "teeth" is a word.
const COIN_QUOTES = ['btc', 'eth'] as const;

/** Whether a written name can be a coin (for digit-led names: 1INCH yes, 100k or 15m no). */
export const isCoinName = (name: string): boolean => COIN.test(name) && !isNotCoin(name.toLowerCase());

export function pairFromParts(base: string, quote: string | null, marker: PairMarker): PairToken {
  const upperQuote = quote?.toUpperCase() ?? null;
  // "SOLUSDT-PERP": the perpetual of SOL/USDT.
  const upperBase = base.toUpperCase();
  return {
    kind: 'pair',
    base: upperQuote === 'PERP' && /^.{2,}(?:USDT|USDC|BUSD)$/.test(upperBase) ? upperBase.replace(/(?:USDT|USDC|BUSD)$/, '') : upperBase,
    // A perpetual written as BTC/PERP or BTCPERP is the USDT-margined one.
    quote: upperQuote === 'PERP' ? 'USDT' : upperQuote,
    marker,
  };
}

/** "BTCUSDT", "LINKUSDT", "BTCPERP" → pair; a bare quote ("USDT") or a one-letter base is not one. */
export function pairFromWord(word: string, marker: PairMarker): PairToken | null {
  const lower = word.toLowerCase();
  for (const quote of QUOTES) {
    if (lower.length > quote.length + 1 && lower.endsWith(quote)) {
      const written = word.slice(0, word.length - quote.length);
      // "SUSHIUSDTPERP": the perpetual of SUSHI/USDT.
      const base = quote === 'perp' ? written.replace(/(?:USDT|USDC|BUSD|USD)$/i, '') : written;
      if (isCoinName(base)) return pairFromParts(base, quote, marker);
    }
  }
  if (word !== word.toUpperCase()) return null;
  for (const quote of COIN_QUOTES) {
    if (lower.length > quote.length + 2 && lower.endsWith(quote)) {
      const base = word.slice(0, word.length - quote.length);
      // Below the stablecoin forms: "STETH" in a message about BTCUSDT must not win.
      if (isCoinName(base)) return pairFromParts(base, quote, 'coinQuoted');
    }
  }
  return null;
}

/** A bare word may be a coin when written all upper or all lower case ("BTC", "btc", not "Term"). */
const mayBeCoin = (raw: string): boolean =>
  (BARE_COIN.test(raw) || (/^\d/.test(raw) && raw === raw.toUpperCase() && isCoinName(raw))) &&
  (raw === raw.toUpperCase() || raw === raw.toLowerCase()) &&
  !isNotCoin(raw.toLowerCase());

const isLineStart = (tokens: readonly Token[], index: number): boolean => {
  for (let i = index - 1; i >= 0; i--) {
    const token = tokens[i];
    if (token === undefined || token.kind === 'nl') return true;
    if (token.kind !== 'sep') return false;
  }
  return true;
};

const wordIndexAfterSeps = (tokens: readonly Token[], index: number): { at: number; sawSep: boolean } => {
  let at = index;
  while (tokens[at]?.kind === 'sep') at++;
  return { at, sawSep: at > index };
};

/**
 * Rewrites words that name the coin into pair tokens, so later steps see one kind of symbol:
 * after a pair label ("Coin: BTC"), next to a side word ("long btc", "BTC LONG"), or alone on a line.
 */
export function markBareSymbols(input: readonly Token[]): Token[] {
  const tokens = [...input];
  const promote = (index: number, marker: PairMarker, test: (raw: string) => boolean): void => {
    const token = tokens[index];
    if (token?.kind === 'word' && test(token.raw)) {
      const pair = pairFromParts(token.raw, null, marker);
      tokens[index] = token.raw === token.raw.toLowerCase() ? { ...pair, lowercase: true } : pair;
    }
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token?.kind !== 'word') continue;
    const label = matchLabel(tokens, i);
    if (label?.kind === 'pairLabel') {
      const next = wordIndexAfterSeps(tokens, i + label.length);
      // "Coin: BTC" or a label opening its line; "this coin will" is chatter.
      if (next.sawSep || isLineStart(tokens, i)) {
        // "Coin: BTC", "Pair: btc"; "Coin Name: #APE/USDT" names no coin with "Name".
        promote(next.at, 'labelled', (raw) => isCoinName(raw) && (raw === raw.toUpperCase() || raw === raw.toLowerCase()));
      }
    } else if (isSideWord(token.text)) {
      promote(i + 1, 'bare', mayBeCoin);
      if (i > 0 && isLineStart(tokens, i - 1)) promote(i - 1, 'bare', mayBeCoin);
    }
  }
  markLoneLines(tokens);
  return tokens;
}

/** "SOL" alone on a line (often bold in Discord), or opening the message ("BTC at market"), names the coin. */
function markLoneLines(tokens: Token[]): void {
  const isUpperCoin = (token: Token | undefined): token is WordToken =>
    token?.kind === 'word' && token.raw === token.raw.toUpperCase() && mayBeCoin(token.raw);
  const firstIndex = tokens.findIndex((t) => t.kind !== 'sep' && t.kind !== 'nl');
  if (isUpperCoin(tokens[firstIndex]))
    tokens[firstIndex] = pairFromParts(tokens[firstIndex].raw, null, 'line');
  let start = 0;
  for (let i = 0; i <= tokens.length; i++) {
    const token = tokens[i];
    if (token !== undefined && token.kind !== 'nl') continue;
    const meaningful = tokens.slice(start, i).filter((t) => t.kind !== 'sep');
    const only = meaningful[0];
    if (meaningful.length === 1 && isUpperCoin(only)) {
      tokens[tokens.indexOf(only, start)] = pairFromParts(only.raw, null, 'line');
    }
    start = i + 1;
  }
}

const PRIORITY: Record<PairMarker, number> = {
  slash: 0,
  suffix: 0,
  labelled: 0,
  tagged: 1,
  coinQuoted: 2,
  bare: 2,
  line: 3,
};

const symbolOf = (token: PairToken): string => `${token.base}/${token.quote ?? 'USDT'}`;
// A tag with its quote (#LINKUSDT) is as explicit as LINK/USDT.
const rankOf = (token: PairToken): number => (token.marker === 'tagged' && token.quote !== null ? 0 : PRIORITY[token.marker]);

/**
 * The message's pair as BASE/QUOTE (USDT when no quote is given); null when it names none; "several"
 * when it names more than one ("DOT pumps, but we go with ATOM", "Long ARB ... similar to OPUSDT"):
 * no ranking of the forms can tell which is traded, so the message is refused.
 */
export function pickSymbol(tokens: readonly Token[]): string | 'several' | null {
  let best: PairToken | null = null;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const token of tokens) {
    if (token.kind !== 'pair') continue;
    const rank = rankOf(token);
    if (rank < bestRank) {
      best = token;
      bestRank = rank;
    }
  }
  if (best === null) return null;
  // Written forms (BTC/USDT, BTCUSDT, #BTC) are weighed against each other; a coin guessed from a
  // word beside a side ("LONG old") or a lone line only against other guesses of its kind or better.
  // An upper-case coin beside a side ("Long ARB") is named as plainly as a pair written elsewhere.
  const rival = (token: PairToken): boolean => rankOf(token) <= Math.max(bestRank, PRIORITY.tagged) || token.marker === 'bare';
  const named = tokens.filter((t): t is PairToken => t.kind === 'pair' && rival(t));
  const bases = new Map<string, Set<string>>();
  for (const token of named) {
    const quotes = bases.get(token.base) ?? new Set<string>();
    if (token.quote !== null) quotes.add(token.quote);
    bases.set(token.base, quotes);
  }
  // "#BTC #BTCUSD" is one pair; "BTC/USDT" and "BTC/USDC" are two, as are two coins.
  const several = bases.size > 1 || [...bases.values()].some((quotes) => quotes.size > 1);
  return several ? 'several' : symbolOf(best);
}
