/**
 * Reads the labelled parts of a signal: each label (Entry, TP, SL, Leverage...) owns the numbers
 * after it until the next label, a word with no role, or the end of its line; a following line of
 * numbers only ("2) 66000") continues it. Side words are collected on the way.
 */
import type { Side } from '../domain/signal';
import type { Token } from './tokens';
import type { LabelKind, SideWord } from './vocabulary';
import {
  CONDITIONAL_STOP_WORDS,
  isSideWord,
  JOINERS,
  LEVERAGE_FILLERS,
  MARKET_WORDS,
  matchLabel,
  PRICE_FILLERS,
} from './vocabulary';

export interface PriceNumber {
  /** NaN when the text was not a number. */
  value: number;
  /** The other reading of an ambiguous comma run ("150,155,162"). */
  alternative: number[] | null;
  /** A small integer right after a label ("Target 1 0.46"): a list number unless near the prices. */
  maybeIndex: boolean;
  /** A label glued to its price: the possible prices (see tokenise). */
  readings?: number[];
}

export interface PriceSection {
  numbers: PriceNumber[];
  /** A market word (market, CMP) in an entry section. */
  market: boolean;
  /** Percentages seen (they are never prices but show the label was followed by numbers). */
  sawPercent: boolean;
  /** A stop on a candle's close ("SL: H4 close below 0.0297"), which no exchange order can express. */
  conditional: boolean;
  /** "Enter above 0.25", "Buy below 140": the side of the price the entry waits for; "breakout" when it says so. */
  trigger: 'above' | 'below' | 'breakout' | null;
  /** "DCA", "averaging": prices to add at, beside the entry. */
  averaging: boolean;
}

export interface Sections {
  /** After entry labels (Entry, Entry zone, Buy: ...). */
  entries: PriceSection[];
  /** Right after a side word or the pair ("long btc 64,500", "#LINKUSDT at market"). */
  implicitEntries: PriceSection[];
  /** "at market" or "CMP" outside any section. */
  marketPhrase: boolean;
  stops: PriceSection[];
  takeProfits: PriceSection[];
  /** Values after leverage labels (NaN when malformed). */
  leverage: number[];
  /** "20x", "x10" anywhere. */
  bareLeverage: number[];
  /** From a side label (Side: Sell) if any, else the first side word; null when none is given. */
  side: Side | null;
}

type Mode = 'entry' | 'implicit' | 'takeProfit' | 'stop' | 'leverage';

interface Collected extends PriceSection {
  leverage: number[];
  /** "20x" met inside a price list ("TP 65000 66000 20x"). */
  bareLeverage: number[];
  /** Index of the first token not taken. */
  end: number;
}

const SMALL_INTEGER = /^\d{1,2}$/;
/** How many tokens after a list its remarks are looked for ("after 15m close", "on breakout"). */
const REMARK_REACH = 8;
// "Entry: 150 (breakout)", "on breakout", "Stop buy 152": an entry that waits for the price to break through.
const BREAKOUT_WORDS: ReadonlySet<string> = new Set(['breakout', 'breakouts', 'break', 'breaks', 'breaking']);
const TRIGGER_WORDS: ReadonlyMap<string, 'above' | 'below'> = new Map([
  ['above', 'above'],
  ['over', 'above'],
  ['below', 'below'],
  ['under', 'below'],
]);

const isSep = (token: Token | undefined, ...texts: string[]): boolean =>
  token?.kind === 'sep' && texts.includes(token.text);

/** The token after `index`, past currency signs ("$0.46"). */
const afterDollars = (tokens: readonly Token[], index: number): Token | undefined => {
  let at = index;
  while (isSep(tokens[at], '$')) at++;
  return tokens[at];
};

/** "1)", "2.", "3:" before a price: a list number, not a price. */
function isListNumber(tokens: readonly Token[], index: number): boolean {
  const token = tokens[index];
  if (token?.kind !== 'num' || !SMALL_INTEGER.test(token.raw)) return false;
  const next = tokens[index + 1];
  if (isSep(next, ')')) return true;
  return isSep(next, '.', ':') && afterDollars(tokens, index + 2)?.kind === 'num';
}

/** "Target 1 0.46", "TP 2 - 3350", "Target 1 $0.46": maybe a list number; the message's prices decide later. */
function mayBeListNumber(tokens: readonly Token[], index: number): boolean {
  const token = tokens[index];
  if (token?.kind !== 'num' || !SMALL_INTEGER.test(token.raw) || token.value < 1 || token.value > 20)
    return false;
  const next = tokens[index + 1];
  if (afterDollars(tokens, index + 1)?.kind === 'num') return true;
  return isSep(next, '-') && afterDollars(tokens, index + 2)?.kind === 'num';
}

/** Whether the line starting at `index` holds only numbers, separators and fillers. */
function isNumbersLine(tokens: readonly Token[], index: number): boolean {
  let sawNumber = false;
  for (let i = index; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined || token.kind === 'nl') break;
    // A percentage counts: "Stop Targets:\n5-10%" is the stop, written as one.
    if (token.kind === 'num' || token.kind === 'pct') sawNumber = true;
    else if (token.kind === 'word' ? !PRICE_FILLERS.has(token.text) : token.kind !== 'sep') {
      return false;
    }
  }
  return sawNumber;
}

/** Index of the first token of the next non-blank line after the line break at `index`. */
function nextLineStart(tokens: readonly Token[], index: number): number {
  let at = index;
  while (tokens[at]?.kind === 'nl') at++;
  return at;
}

/** Takes the numbers after a label (or after a side word or pair, mode `implicit`). */
function collect(tokens: readonly Token[], start: number, mode: Mode): Collected {
  const out: Collected = {
    numbers: [],
    market: false,
    sawPercent: false,
    conditional: false,
    trigger: null,
    averaging: false,
    leverage: [],
    bareLeverage: [],
    end: tokens.length,
  };
  const takesMarket = mode === 'entry' || mode === 'implicit';
  /** Words in remarks and around a price that make it conditional: a candle close, a breakout. */
  const noteRemark = (word: string): void => {
    if (mode === 'stop' && CONDITIONAL_STOP_WORDS.has(word)) out.conditional = true;
    if (takesMarket && BREAKOUT_WORDS.has(word)) out.trigger = 'breakout';
  };
  let adjacent = true; // nothing at all between the label and this token
  let afterLabel = true; // only separators since the label or the line start
  let skippingParens = false;
  let i = start;
  scan: for (; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined) break;
    if (token.kind === 'nl') {
      skippingParens = false;
      const next = tokens[i + 1];
      const blank = next === undefined || next.kind === 'nl';
      // Numbers may start on the next line ("Targets:\n1) 0.46"). A labelled list may also go on
      // after blank lines ("one target per line"), when what follows is numbers only.
      // Prices after a pair or a side word stay on their line ("#SOL/USDT\n\nRisk: 8/10" is no entry).
      const spaced = mode === 'entry' || mode === 'takeProfit' || (mode === 'stop' && out.numbers.length === 0);
      const continues =
        mode !== 'leverage' &&
        (blank ? spaced && isNumbersLine(tokens, nextLineStart(tokens, i)) : isNumbersLine(tokens, i + 1));
      if (!continues) break;
      if (blank) i = nextLineStart(tokens, i) - 1;
      adjacent = false;
      afterLabel = true;
      continue;
    }
    if (skippingParens) {
      if (isSep(token, ')')) skippingParens = false;
      else if (token.kind === 'word') noteRemark(token.text);
      continue;
    }
    switch (token.kind) {
      case 'sep':
        // "Leverage 10x | Margin 5 USDT": past its value a leverage ends at anything but a range.
        if (mode === 'leverage' && out.leverage.length > 0 && !['-', '/', '~', '('].includes(token.text)) break scan;
        // "64000 (−2%)", "3400 (close 50%)": remarks after a price are not prices.
        if (token.text === '(' && out.numbers.length > 0 && mode !== 'leverage') skippingParens = true;
        adjacent = false;
        continue;
      case 'num':
        if (mode !== 'leverage' && isListNumber(tokens, i)) {
          i += 1;
          adjacent = false;
          continue;
        }
        if (mode === 'leverage') out.leverage.push(token.value);
        else {
          // Right after the label or at the start of a line of the list ("Targets:\n1 - 4.5\n2 - 4").
          const maybeIndex = (adjacent || afterLabel) && mode !== 'implicit' && mayBeListNumber(tokens, i);
          out.numbers.push({
            value: token.value,
            alternative: token.alternative,
            maybeIndex,
            ...(token.readings ? { readings: token.readings } : {}),
          });
        }
        break;
      case 'lev':
        (mode === 'leverage' ? out.leverage : out.bareLeverage).push(token.value);
        break;
      case 'pct':
        out.sawPercent = true;
        break;
      case 'ref':
        if (!afterLabel) break scan;
        break;
      case 'pair':
        break scan;
      case 'word':
        if (mode === 'leverage' && LEVERAGE_FILLERS.has(token.text) && !(token.text === 'margin' && out.leverage.length > 0)) break;
        if ((mode === 'stop' && CONDITIONAL_STOP_WORDS.has(token.text)) || (takesMarket && BREAKOUT_WORDS.has(token.text))) {
          noteRemark(token.text);
          break;
        }
        // "3 parts", "4h", "12/05": counts, timeframes and dates inside a list are passed over.
        if (/^\d/.test(token.text) && mode !== 'leverage') break;
        if (matchLabel(tokens, i) !== null || isSideWord(token.text)) break scan;
        if (takesMarket && MARKET_WORDS.has(token.text)) {
          out.market = true;
          break;
        }
        if (takesMarket && TRIGGER_WORDS.has(token.text)) out.trigger ??= TRIGGER_WORDS.get(token.text) ?? null;
        if (takesMarket && token.text === 'dca') out.averaging = true;
        if (PRICE_FILLERS.has(token.text)) break;
        if (JOINERS.has(token.text) && out.numbers.length > 0 && tokens[i + 1]?.kind === 'num') break;
        break scan;
    }
    adjacent = false;
    afterLabel = false;
  }
  out.end = i;
  // "SL 5.40 after 15m close": the condition may follow words the list stops at; the next few words
  // of the line tell (bounded, up to the next label or side: each section scans only its own tail).
  for (let j = i; j < Math.min(tokens.length, i + REMARK_REACH) && tokens[j]?.kind !== 'nl'; j++) {
    const token = tokens[j];
    if (token?.kind !== 'word') continue;
    if (matchLabel(tokens, j) !== null || isSideWord(token.text)) break;
    noteRemark(token.text);
  }
  return out;
}

/** After Buy/Sell: a price or market word means the word labels a price list ("Buy zone 142-145"). */
function priceFollows(tokens: readonly Token[], index: number): boolean {
  for (let i = index; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined || token.kind === 'nl') return false;
    if (token.kind === 'num') return true;
    if (token.kind === 'sep') continue;
    if (token.kind !== 'word') return false;
    if (MARKET_WORDS.has(token.text)) return true;
    if (!PRICE_FILLERS.has(token.text)) return false;
  }
  return false;
}

/** "at market", "@ market", "market order", "CMP" anywhere: a market entry. */
function isMarketPhrase(tokens: readonly Token[], index: number): boolean {
  const token = tokens[index];
  if (token?.kind !== 'word' || !MARKET_WORDS.has(token.text)) return false;
  if (token.text === 'cmp') return true;
  const before = tokens[index - 1];
  const after = tokens[index + 1];
  return (
    (before?.kind === 'word' && (before.text === 'at' || before.text === 'by')) ||
    isSep(before, '@') ||
    (after?.kind === 'word' && ['order', 'entry', 'buy', 'sell'].includes(after.text))
  );
}

const SIDE_OF: Record<SideWord, Side> = { long: 'long', buy: 'long', short: 'short', sell: 'short' };

/** Finds the side word after a side label on the same line ("Signal Type: Regular (Long)"). */
function sideAfterLabel(tokens: readonly Token[], index: number): number | null {
  let words = 0;
  for (let i = index; i < tokens.length && words <= 2; i++) {
    const token = tokens[i];
    if (token === undefined || token.kind === 'nl') return null;
    if (token.kind === 'sep') continue;
    if (token.kind !== 'word') return null;
    if (isSideWord(token.text)) return i;
    words++;
  }
  return null;
}

class SectionReader {
  readonly sections: Sections = {
    entries: [],
    implicitEntries: [],
    marketPhrase: false,
    stops: [],
    takeProfits: [],
    leverage: [],
    bareLeverage: [],
    side: null,
  };
  private explicitSide: Side | null = null;
  private firstSide: Side | null = null;
  private readonly labelledSides = new Set<number>();
  /** "Sell 150 155" is a take-profit list, unless nothing in the message buys and TPs are labelled elsewhere. */
  private readonly sellOpensShort: boolean;

  constructor(private readonly tokens: readonly Token[]) {
    const buys = tokens.some((t) => t.kind === 'word' && (t.text === 'buy' || t.text === 'long'));
    const takeProfitLabel = tokens.some(
      (t, i) => t.kind === 'word' && t.text !== 'sell' && matchLabel(tokens, i)?.kind === 'takeProfit',
    );
    this.sellOpensShort = !buys && takeProfitLabel;
  }

  read(): Sections {
    let i = 0;
    while (i < this.tokens.length) i = this.step(i);
    this.sections.side = this.explicitSide ?? this.firstSide;
    return this.sections;
  }

  private step(i: number): number {
    const token = this.tokens[i];
    if (token === undefined) return i + 1;
    if (token.kind === 'pair') return this.take(i + 1, 'implicit');
    if (token.kind === 'lev') {
      this.sections.bareLeverage.push(token.value);
      return i + 1;
    }
    if (token.kind !== 'word') return i + 1;
    const label = matchLabel(this.tokens, i);
    if (label !== null) return this.label(i, label.kind, i + label.length);
    if (isSideWord(token.text)) return this.sideWord(i, token.text);
    if (isMarketPhrase(this.tokens, i)) this.sections.marketPhrase = true;
    return i + 1;
  }

  private label(i: number, kind: LabelKind, after: number): number {
    switch (kind) {
      case 'entry':
      case 'takeProfit':
      case 'stop':
      case 'leverage':
        return this.take(after, kind);
      case 'sideLabel': {
        const at = sideAfterLabel(this.tokens, after);
        const word = at === null ? undefined : this.tokens[at];
        if (at !== null && word?.kind === 'word' && isSideWord(word.text)) {
          this.labelledSides.add(at);
          this.explicitSide ??= SIDE_OF[word.text];
        }
        return after;
      }
      case 'pairLabel':
        return Math.max(after, i + 1);
    }
  }

  private sideWord(i: number, word: SideWord): number {
    const side = SIDE_OF[word];
    if (this.labelledSides.has(i) || word === 'long' || word === 'short') {
      this.firstSide ??= side;
      return this.take(i + 1, 'implicit');
    }
    if (!priceFollows(this.tokens, i + 1)) {
      this.firstSide ??= side;
      return this.take(i + 1, 'implicit');
    }
    if (word === 'buy') {
      this.firstSide ??= side;
      return this.take(i + 1, 'entry');
    }
    if (this.sellOpensShort) {
      this.firstSide ??= side;
      return this.take(i + 1, 'entry');
    }
    return this.take(i + 1, 'takeProfit');
  }

  private take(start: number, mode: Mode): number {
    const collected = collect(this.tokens, start, mode);
    const { numbers, market, sawPercent, conditional, trigger, averaging } = collected;
    const section: PriceSection = { numbers, market, sawPercent, conditional, trigger, averaging };
    if (mode === 'entry') this.sections.entries.push(section);
    else if (mode === 'implicit') this.sections.implicitEntries.push(section);
    else if (mode === 'stop') this.sections.stops.push(section);
    else if (mode === 'takeProfit') this.sections.takeProfits.push(section);
    else this.sections.leverage.push(...collected.leverage);
    this.sections.bareLeverage.push(...collected.bareLeverage);
    return Math.max(collected.end, start);
  }
}

export function readSections(tokens: readonly Token[]): Sections {
  return new SectionReader(tokens).read();
}
