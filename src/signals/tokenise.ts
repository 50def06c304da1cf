/**
 * Splits normalised text into tokens: words, numbers, leverage ("10x", "x10"), percentages, pairs
 * ("BTC/USDT", "#BTC", "$BTC", "BTCUSDT"), separators and line breaks.
 */
import { readNumericRun, thousandsOf } from './numbers';
import { pairFromWord, pairFromParts } from './symbol';
import { isKeyword, isNotCoin, SLASH_QUOTES } from './vocabulary';

/** How a pair was written; explicit forms beat guesses when a message names several. */
export type PairMarker = 'slash' | 'suffix' | 'tagged' | 'labelled' | 'bare' | 'line';

export interface WordToken {
  kind: 'word';
  /** Lower case. */
  text: string;
  /** As written, for case checks on bare coin names. */
  raw: string;
}
export interface NumToken {
  kind: 'num';
  value: number;
  alternative: number[] | null;
  /** Digits as written, to tell list numbers ("1)") from prices. */
  raw: string;
}
export interface PairToken {
  kind: 'pair';
  base: string;
  /** Null when the message names the coin only (`#BTC`): the USDT pair. */
  quote: string | null;
  marker: PairMarker;
}
export interface LeverageToken {
  kind: 'lev';
  value: number;
}
export interface SepToken {
  kind: 'sep';
  text: string;
}
/** pct: a percentage (never a price); ref: a signal number such as "#12"; nl: a line break. */
export interface MarkToken {
  kind: 'pct' | 'ref' | 'nl';
}
export type Token = WordToken | NumToken | PairToken | LeverageToken | SepToken | MarkToken;

const PAIR =
  /([#$]?)([A-Za-z][A-Za-z0-9]*)\/([A-Za-z][A-Za-z0-9]*)(?::[A-Za-z]+)?(?:\.[Pp](?![A-Za-z0-9]))?/y;
const TAGGED = /([#$])([A-Za-z][A-Za-z0-9]*)(?:\.[Pp](?![A-Za-z0-9]))?/y;
const SIGNAL_NUMBER = /#\d+/y;
const LEADING_DOT = /\.(\d+)(?![.,]?\d)/y;
const NUMBER = /(\d+(?:[.,]\d+)*)([A-Za-z][A-Za-z0-9]*)?(\s*%)?/y;
const WORD = /([A-Za-z][A-Za-z0-9]*)(?:\.[Pp](?![A-Za-z0-9]))?/y;
const SEPARATOR = /[:\-/,|()=@~+$&>.;<!?]/y;
const SPACE = /[ ]+/y;
const LEVERAGE_WORD = /^x(\d{1,3})$/;

type Reader = (line: string, at: number, out: Token[]) => number;

const sticky = (pattern: RegExp, line: string, at: number): RegExpExecArray | null => {
  pattern.lastIndex = at;
  return pattern.exec(line);
};

/** "BTC/USDT", "$DOGE/USDT", "#ETH/BTC"; "TP/SL" and "long/short" are words, not pairs. */
const readPair: Reader = (line, at, out) => {
  const match = sticky(PAIR, line, at);
  if (!match) return 0;
  const [text, , base = '', quote = ''] = match;
  const lower = { base: base.toLowerCase(), quote: quote.toLowerCase() };
  // "S/L" and "T/P" are labels.
  if (lower.base === 's' && lower.quote === 'l') return pushWord(out, 'SL', text.length);
  if (lower.base === 't' && lower.quote === 'p') return pushWord(out, 'TP', text.length);
  if (!SLASH_QUOTES.has(lower.quote) && (isKeyword(lower.base) || isKeyword(lower.quote))) return 0;
  out.push(pairFromParts(base, quote, 'slash'));
  return text.length;
};

const pushWord = (out: Token[], raw: string, length: number): number => {
  out.push({ kind: 'word', text: raw.toLowerCase(), raw });
  return length;
};

/** "#BTC", "$BTC", "#LINKUSDT"; "#long" is the word long, "#signal" is decoration. */
const readTagged: Reader = (line, at, out) => {
  const match = sticky(TAGGED, line, at);
  if (!match) return 0;
  const [text, , word = ''] = match;
  if (isNotCoin(word.toLowerCase())) return pushWord(out, word, text.length);
  out.push(pairFromWord(word, 'tagged') ?? pairFromParts(word, null, 'tagged'));
  return text.length;
};

const readSignalNumber: Reader = (line, at, out) => {
  const match = sticky(SIGNAL_NUMBER, line, at);
  if (!match) return 0;
  out.push({ kind: 'ref' });
  return match[0].length;
};

/** ".5" after a space is 0.5. */
const readLeadingDot: Reader = (line, at, out) => {
  const before = line[at - 1];
  if (before !== undefined && /[A-Za-z0-9.]/.test(before)) return 0;
  const match = sticky(LEADING_DOT, line, at);
  if (!match) return 0;
  out.push({ kind: 'num', value: Number(`0.${match[1] ?? ''}`), alternative: null, raw: match[0] });
  return match[0].length;
};

/** Digits with their suffix: "64,500", "10x" (leverage), "65k", "2%" (not a price), "15m" (a word). */
const readNumber: Reader = (line, at, out) => {
  const match = sticky(NUMBER, line, at);
  if (!match) return 0;
  const [text, digits = '', suffix, percent] = match;
  if (percent !== undefined) {
    out.push({ kind: 'pct' });
    return text.length;
  }
  if (suffix === undefined) {
    for (const read of readNumericRun(digits)) out.push({ kind: 'num', ...read, raw: digits });
    return text.length;
  }
  const unit = suffix.toLowerCase();
  if (unit === 'x') {
    out.push({ kind: 'lev', value: digits.includes(',') ? Number.NaN : Number(digits) });
  } else if (unit === 'k' && !digits.includes(',')) {
    out.push({ kind: 'num', value: thousandsOf(digits), alternative: null, raw: text });
  } else {
    // "15m", "4h", "1inch", "100usdt": timeframes, names and amounts are not prices.
    out.push({ kind: 'word', text: text.toLowerCase(), raw: text });
  }
  return text.length;
};

/** Words; "BTCUSDT" is a pair, "x10" leverage. */
const readWord: Reader = (line, at, out) => {
  const match = sticky(WORD, line, at);
  if (!match) return 0;
  const [text, word = ''] = match;
  const leverage = LEVERAGE_WORD.exec(word.toLowerCase());
  if (leverage) {
    out.push({ kind: 'lev', value: Number(leverage[1]) });
    return text.length;
  }
  const pair = pairFromWord(word, 'suffix');
  if (pair) {
    out.push(pair);
    return text.length;
  }
  return pushWord(out, word, text.length);
};

const readSeparator: Reader = (line, at, out) => {
  const match = sticky(SEPARATOR, line, at);
  if (!match) return 0;
  out.push({ kind: 'sep', text: match[0] });
  return 1;
};

const readSpace: Reader = (line, at) => sticky(SPACE, line, at)?.[0].length ?? 0;

// Order matters: a pair before a tag or a word, a signal number before a tag.
const READERS: readonly Reader[] = [
  readSpace,
  readPair,
  readSignalNumber,
  readTagged,
  readLeadingDot,
  readNumber,
  readWord,
  readSeparator,
];

function tokeniseLine(line: string, out: Token[]): void {
  let at = 0;
  while (at < line.length) {
    let consumed = 0;
    for (const read of READERS) {
      consumed = read(line, at, out);
      if (consumed > 0) break;
    }
    // Anything unreadable (stray punctuation) is skipped.
    at += consumed > 0 ? consumed : 1;
  }
}

export function tokenise(text: string): Token[] {
  const out: Token[] = [];
  text.split('\n').forEach((line, index) => {
    if (index > 0) out.push({ kind: 'nl' });
    tokeniseLine(line, out);
  });
  return out;
}
