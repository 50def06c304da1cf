/**
 * The tokens a signal message is split into (tokenise.ts): types only, so that the modules reading
 * them (symbol, vocabulary, sections) need not import the tokeniser that uses them in turn.
 */
/** How a pair was written; explicit forms beat guesses when a message names several. */
export type PairMarker = 'slash' | 'suffix' | 'coinQuoted' | 'tagged' | 'labelled' | 'bare' | 'line';

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
  /** A label glued to its price ("TP41.3100"): the readings; the message's scale picks one or none. */
  readings?: number[];
}
export interface PairToken {
  kind: 'pair';
  base: string;
  /** Null when the message names the coin only (`#BTC`): the USDT pair. */
  quote: string | null;
  marker: PairMarker;
  /** A bare coin guessed from a lower-case word ("long btc"), weaker evidence than "LONG BTC". */
  lowercase?: true;
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
