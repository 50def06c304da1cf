/**
 * The words signal posts use, by role. Labels are matched on lower-case word tokens; hyphenated
 * labels ("Stop-loss", "Take-Profit") arrive as separate words (see normaliseText).
 */
import type { Token } from './tokens';

export type LabelKind = 'entry' | 'takeProfit' | 'stop' | 'leverage' | 'sideLabel' | 'pairLabel';

export interface LabelMatch {
  kind: LabelKind;
  /** Number of word tokens the label spans. */
  length: number;
}

/** Longest phrases first, so "take profit targets" wins over "targets" and "entry targets". */
const PHRASES: ReadonlyArray<readonly [readonly string[], LabelKind]> = [
  [['take', 'profit', 'targets'], 'takeProfit'],
  [['take', 'profit', 'target'], 'takeProfit'],
  [['take', 'profits'], 'takeProfit'],
  [['take', 'profit'], 'takeProfit'],
  [['profit', 'targets'], 'takeProfit'],
  [['profit', 'target'], 'takeProfit'],
  [['entry', 'targets'], 'entry'],
  [['entry', 'target'], 'entry'],
  [['stop', 'loss'], 'stop'],
  [['stop', 'targets'], 'stop'],
  [['stop', 'target'], 'stop'],
  [['get', 'in'], 'entry'],
  [['trade', 'type'], 'sideLabel'],
  [['signal', 'type'], 'sideLabel'],
  [['order', 'type'], 'sideLabel'],
];

const SINGLE: ReadonlyMap<string, LabelKind> = new Map<string, LabelKind>([
  ['entry', 'entry'],
  ['entries', 'entry'],
  ['enter', 'entry'],
  // Slovak channels ("Vstup : market", "Limitny vstup").
  ['vstup', 'entry'],
  ['tp', 'takeProfit'],
  ['tps', 'takeProfit'],
  ['target', 'takeProfit'],
  ['targets', 'takeProfit'],
  ['takeprofit', 'takeProfit'],
  ['takeprofits', 'takeProfit'],
  ['tgt', 'takeProfit'],
  ['tgts', 'takeProfit'],
  ['exit', 'takeProfit'],
  ['exits', 'takeProfit'],
  ['sl', 'stop'],
  ['stop', 'stop'],
  ['stoploss', 'stop'],
  ['leverage', 'leverage'],
  ['lev', 'leverage'],
  ['lever', 'leverage'],
  ['lvg', 'leverage'],
  ['cross', 'leverage'],
  ['isolated', 'leverage'],
  ['side', 'sideLabel'],
  ['type', 'sideLabel'],
  ['position', 'sideLabel'],
  ['direction', 'sideLabel'],
  ['trade', 'sideLabel'],
  ['bias', 'sideLabel'],
  ['pair', 'pairLabel'],
  ['coin', 'pairLabel'],
  ['symbol', 'pairLabel'],
  ['asset', 'pairLabel'],
  ['token', 'pairLabel'],
  ['ticker', 'pairLabel'],
  ['currency', 'pairLabel'],
  ['instrument', 'pairLabel'],
]);

/** Numbered labels: TP1, Target2, T3, Entry1, SL1. */
const NUMBERED: ReadonlyArray<readonly [RegExp, LabelKind]> = [
  [/^(?:tp|target|tgt|tg|t)\d{1,2}$/, 'takeProfit'],
  [/^entry\d{1,2}$/, 'entry'],
  [/^sl\d{1,2}$/, 'stop'],
];

export type SideWord = 'long' | 'short' | 'buy' | 'sell';
const SIDE_WORDS: ReadonlySet<string> = new Set<SideWord>(['long', 'short', 'buy', 'sell']);
export const isSideWord = (text: string): text is SideWord => SIDE_WORDS.has(text);

/** "market", "CMP" (current market price): a market entry. */
export const MARKET_WORDS: ReadonlySet<string> = new Set(['market', 'cmp', 'mkt']);

/** Words that may sit inside a price list without ending it. */
export const PRICE_FILLERS: ReadonlySet<string> = new Set([
  'price',
  'prices',
  'zone',
  'zones',
  'range',
  'area',
  'level',
  'levels',
  'point',
  'points',
  'at',
  'around',
  'near',
  'approx',
  'about',
  'between',
  'from',
  'limit',
  'now',
  'is',
  'usdt',
  'usd',
  'usdc',
  'busd',
  'order',
  'orders',
  'dca',
  'below',
  'under',
  'above',
  'over',
  'in',
  'the',
  'for',
  // "Short Term:", "Mid Term:" sub-headings inside a target list (see tokenise).
  'term',
]);

/** Leverage lines also carry margin modes: "Leverage: Cross 10x", "5x isolated". */
export const LEVERAGE_FILLERS: ReadonlySet<string> = new Set([
  'cross',
  'isolated',
  'isolate',
  'margin',
  'mode',
  'max',
  'up',
  'to',
  'use',
]);

/** A stop that triggers on a candle's close ("SL: H4 candle close below 0.0297"), not on a price touch. */
export const CONDITIONAL_STOP_WORDS: ReadonlySet<string> = new Set([
  'candle',
  'candles',
  'close',
  'closes',
  'closing',
  'closed',
  'daily',
  'weekly',
  'hourly',
  'h1',
  'h2',
  'h4',
  'h6',
  'h8',
  'h12',
  'd1',
  'w1',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
]);

/** Words of a results post or an update about an earlier call ("TP1 hit", "all targets done"). */
export const RESULT_WORDS: ReadonlySet<string> = new Set([
  'hit',
  'reached',
  'achieved',
  'smashed',
  'booked',
  'done',
  // Updates: the call is over or withdrawn.
  'cancel',
  'cancelled',
  'canceled',
  'closed',
  'stopped',
  'invalidated',
  'expired',
  'filled',
  'triggered',
  'liquidated',
]);

/** Between two prices only ("3450 to 3480", "between 3450 and 3480"). */
export const JOINERS: ReadonlySet<string> = new Set(['to', 'and', 'or', 'till', 'until', 'upto']);

/** Quote currencies a pair may end with; PERP (perpetual) means the USDT pair. */
export const QUOTES: readonly string[] = ['fdusd', 'usdt', 'usdc', 'busd', 'tusd', 'usd', 'perp'];
/** Quotes accepted after a slash even when the base looks like a keyword. */
export const SLASH_QUOTES: ReadonlySet<string> = new Set([
  ...QUOTES,
  'dai',
  'btc',
  'eth',
  'bnb',
  'eur',
  'try',
]);

/** Words that are never a coin when written bare or as a hashtag. */
const NOT_COINS: ReadonlySet<string> = new Set([
  'signal',
  'signals',
  'binance',
  'bybit',
  'okx',
  'bitget',
  'kucoin',
  'mexc',
  'gate',
  'bingx',
  'phemex',
  'bitmex',
  'deribit',
  'huobi',
  'htx',
  'kraken',
  'coinbase',
  'bitfinex',
  'daytrade',
  'shortterm',
  'longterm',
  'futures',
  'future',
  'spot',
  'perpetual',
  'crypto',
  'vip',
  'free',
  'premium',
  'update',
  'updates',
  'alert',
  'new',
  'trades',
  'trading',
  'scalp',
  'scalping',
  'swing',
  'setup',
  'breakout',
  'above',
  'below',
  'the',
  'a',
  'an',
  'on',
  'in',
  'if',
  'it',
  'this',
  'that',
  'for',
  'with',
  'here',
  'term',
  'squeeze',
  'call',
  'calls',
  'all',
  'only',
  'again',
  'soon',
  'risk',
  'high',
  'low',
  'mid',
  'done',
  'hit',
  'closed',
  'close',
  'profit',
  'loss',
  'take',
  'reward',
  'gm',
  'gn',
  'now',
  'idea',
  // Hashtags of the trade, not coins.
  'altseason',
  'altcoin',
  'altcoins',
  'bitcoin',
  'ethereum',
  'defi',
  'nft',
  'memecoin',
  'memecoins',
  'bullish',
  'bearish',
  'giveaway',
  'airdrop',
  'pump',
  'dyor',
  'nfa',
  'tradingview',
  'cryptotrading',
  'cryptosignals',
  'tradingsignals',
  'bullrun',
  'technicalanalysis',
  'ta',
  'name',
  'of',
  'my',
  'we',
  'you',
  'i',
  'me',
  'our',
]);

const KEYWORDS: ReadonlySet<string> = new Set([
  ...SINGLE.keys(),
  ...SIDE_WORDS,
  ...MARKET_WORDS,
  ...PRICE_FILLERS,
  ...LEVERAGE_FILLERS,
  ...JOINERS,
  ...QUOTES,
  'stop',
  'loss',
  'take',
  'profit',
  'profits',
]);

/** True for words with a role in signals (labels, sides, fillers, quotes). */
export const isKeyword = (text: string): boolean =>
  KEYWORDS.has(text) || NUMBERED.some(([pattern]) => pattern.test(text));

/** True for words that cannot name a coin on their own. */
export const isNotCoin = (text: string): boolean => isKeyword(text) || NOT_COINS.has(text);

const wordAt = (tokens: readonly Token[], index: number): string | null => {
  const token = tokens[index];
  return token?.kind === 'word' ? token.text : null;
};

/** The label starting at `index`, if any. Side words are not labels; see sections. */
export function matchLabel(tokens: readonly Token[], index: number): LabelMatch | null {
  const first = wordAt(tokens, index);
  if (first === null) return null;
  for (const [words, kind] of PHRASES) {
    if (words.every((word, offset) => wordAt(tokens, index + offset) === word)) {
      return { kind, length: words.length };
    }
  }
  const single = SINGLE.get(first);
  if (single !== undefined) return { kind: single, length: 1 };
  for (const [pattern, kind] of NUMBERED) {
    if (pattern.test(first)) return { kind, length: 1 };
  }
  return null;
}
