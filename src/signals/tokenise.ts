/**
 * Splits normalised text into tokens: words, numbers, leverage ("10x", "x10"), percentages, pairs
 * ("BTC/USDT", "#BTC", "$BTC", "BTCUSDT"), separators and line breaks.
 */
import { readNumericRun, thousandsOf } from './numbers';
import { isCoinName, pairFromWord, pairFromParts } from './symbol';
import { isNotCoin, SLASH_QUOTES } from './vocabulary';
import type { Token } from './tokens';

export type { LeverageToken, MarkToken, NumToken, PairMarker, PairToken, SepToken, Token, WordToken } from './tokens';

// A base may start with digits when letters follow (1INCH, 1000PEPE); "1/2" is not a pair.
const PAIR =
  /([#$]?)(\d*[A-Za-z][A-Za-z0-9]*)\/([A-Za-z][A-Za-z0-9]*)(?::[A-Za-z]+)?(?:\.[Pp](?![A-Za-z0-9]))?/y;
const TAGGED = /([#$])(\d*[A-Za-z][A-Za-z0-9]*)(?:\.[Pp](?![A-Za-z0-9]))?/y;
// "#12" numbers a signal; "#1000FLOKI" is a coin.
const SIGNAL_NUMBER = /#\d+(?![A-Za-z0-9])/y;
// "SL - 25-30%", "1.5-2%": a percentage range, never a price. Low before high and written tight, so
// "TP 0.0450 - 5%", "5) 0.5 - 12.5%" and "1) 24 - 25%" stay a price and its share.
const PERCENT_RANGE = /(\d{1,3}(?:[.,]\d)?)(\s*)[-~](\s*)(\d{1,3}(?:[.,]\d{1,2})?)\s*%/y;
// "(5-10x)", "10 - 20 x": a leverage range; the lower bound is the safer reading (pickLeverage).
const LEVERAGE_RANGE = /(\d{1,3})\s*-\s*(\d{1,3})x(?![A-Za-z0-9])/iy;
// "TP41.3100": a numbered label glued to a price: TP 41.31, TP4 at 1.31 or TP41 at .31. The prices
// of the message decide, and when none or several readings fit, the signal is refused (never guessed).
const GLUED_LABEL = /(tp|target|tgt|tg|t|sl|entry)(\d{1,2})\.(\d[\d.,]*)/iy;
const GLUED_LABEL_WORD: Record<string, string> = { t: 'tp', tg: 'tp', tgt: 'tp' };
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
  if (!SLASH_QUOTES.has(lower.quote) && (isNotCoin(lower.base) || isNotCoin(lower.quote))) return 0;
  // "15m/4h" and "2x/3x" are not pairs; a digit-led base must read as a coin (1INCH, 1000PEPE).
  if (/^\d/.test(base) && !isCoinName(base)) return 0;
  // "H/USDT4H", "BNB/USDT15m": a timeframe glued to the quote.
  const glued = /^([a-z]+?)(\d+[a-z]*)$/.exec(lower.quote);
  if (glued?.[1] !== undefined && SLASH_QUOTES.has(glued[1])) {
    out.push(pairFromParts(base, glued[1], 'slash'));
    return text.length;
  }
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
  if (/^\d/.test(word) && !isCoinName(word)) return 0; // "$100k" is money
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
  // "1000PEPEUSDT", "1INCHUSDT": a digit-led coin with its quote.
  const pair = digits.includes(',') || digits.includes('.') ? null : pairFromWord(text, 'suffix');
  if (pair) {
    out.push(pair);
    return text.length;
  }
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

const readPercentRange: Reader = (line, at, out) => {
  const match = sticky(PERCENT_RANGE, line, at);
  if (!match) return 0;
  const [text, lowText = '', before = '', after = '', highText = ''] = match;
  const low = Number(lowText.replace(',', '.'));
  const high = Number(highText.replace(',', '.'));
  // Written tight only: "1) 24 - 25%" is a price and its share.
  const tight = before === '' && after === '';
  if (!(low < high && high <= 100 && tight)) return 0;
  out.push({ kind: 'pct' });
  return text.length;
};

// "12/05", "7/10", "2/3": a date, a score or a fraction; "12.05.2024": a date. Never prices.
const FRACTION = /\d{1,2}\/(?:1[0-2]|0?\d)(?![\d./])|\d{1,2}\.\d{1,2}\.\d{2,4}(?![\d.])/y;

const readFraction: Reader = (line, at, out) => {
  const before = line[at - 1];
  if (before !== undefined && /[\d.,]/.test(before)) return 0;
  const match = sticky(FRACTION, line, at);
  if (!match) return 0;
  out.push({ kind: 'word', text: match[0], raw: match[0] });
  return match[0].length;
};

const readLeverageRange: Reader = (line, at, out) => {
  const match = sticky(LEVERAGE_RANGE, line, at);
  if (!match) return 0;
  out.push({ kind: 'lev', value: Math.min(Number(match[1]), Number(match[2])) });
  return match[0].length;
};

/** The label, then a number with its readings (NaN until the message's scale picks one). */
const readGluedLabel: Reader = (line, at, out) => {
  const match = sticky(GLUED_LABEL, line, at);
  if (!match) return 0;
  const [text, label = '', digits = '', decimals = ''] = match;
  const word = GLUED_LABEL_WORD[label.toLowerCase()] ?? label.toLowerCase();
  out.push({ kind: 'word', text: word, raw: label });
  // "41.3100": 41.31 (no index), 1.31 (index 4) or 0.31 (index 41). "TP12.01.21" has no reading.
  const readings = /^\d+$/.test(decimals)
    ? Array.from({ length: digits.length + 1 }, (_, cut) => Number(`${digits.slice(cut) || '0'}.${decimals}`))
    : [];
  out.push({ kind: 'num', value: Number.NaN, alternative: null, raw: text, readings });
  return text.length;
};

// Order matters: a pair before a tag or a word, a signal number before a tag.
const READERS: readonly Reader[] = [
  readSpace,
  readPair,
  readSignalNumber,
  readTagged,
  readGluedLabel,
  readLeadingDot,
  readFraction,
  readPercentRange,
  readLeverageRange,
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

// "Short Term:", "Mid-Term", "for long term": a horizon heading (targets under it), never a side.
const HORIZONS: ReadonlySet<string> = new Set(['short', 'long', 'mid', 'medium']);

// "3 percent", "3 pct": a percentage in words.
const PERCENT_WORDS: ReadonlySet<string> = new Set(['percent', 'pct', 'procent', 'percentage']);
// "3 parts", "for 3 days", "at 3 pm", "5 min chart": counts, durations and hours are not prices.
const UNIT_WORDS: ReadonlySet<string> = new Set([
  'part', 'parts', 'day', 'days', 'hour', 'hours', 'hr', 'hrs', 'min', 'mins', 'minute', 'minutes',
  'sec', 'secs', 'second', 'seconds', 'week', 'weeks', 'month', 'months', 'year', 'years', 'pm', 'am',
  'times', 'candle', 'candles', 'trades', 'coins', 'people', 'members',
]);

/** Joins what the line readers see one token at a time: horizons, percentages and units in words. */
function mergeWords(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const next = tokens[i + 1];
    if (token === undefined) continue;
    if (token.kind === 'word' && HORIZONS.has(token.text) && next?.kind === 'word' && next.text === 'term') {
      out.push({ kind: 'word', text: 'term', raw: `${token.raw} ${next.raw}` });
      i += 1;
    } else if (token.kind === 'num' && next?.kind === 'word' && PERCENT_WORDS.has(next.text)) {
      out.push({ kind: 'pct' });
      i += 1;
    } else if (token.kind === 'num' && next?.kind === 'word' && UNIT_WORDS.has(next.text)) {
      out.push({ kind: 'word', text: `${token.raw} ${next.text}`, raw: `${token.raw} ${next.raw}` });
      i += 1;
    } else {
      out.push(token);
    }
  }
  return out;
}

export function tokenise(text: string): Token[] {
  const out: Token[] = [];
  text.split('\n').forEach((line, index) => {
    if (index > 0) out.push({ kind: 'nl' });
    tokeniseLine(line, out);
  });
  return mergeWords(out);
}
