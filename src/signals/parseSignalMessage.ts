/**
 * Free-text signal parser: one Discord message in, one of three answers out.
 *
 *   normaliseText → tokenise → markBareSymbols → readSections → prices by scale → side →
 *   validateSignal (the one validation every signal source shares)
 *
 * A message is signal-like when it has at least two of: an entry, a stop label with a number,
 * take-profit labels with numbers. Anything else is chatter and is ignored.
 */
import type { Side, SignalRejectionReason, TradeSignal } from '../domain/signal';
import { validateSignal } from '../domain/signalValidation';
import { normaliseText } from './normaliseText';
import { distance, median } from './numbers';
import type { PriceNumber, PriceSection, Sections } from './sections';
import { readSections } from './sections';
import { decideSide } from './side';
import { markBareSymbols, pickSymbol } from './symbol';
import { tokenise, type Token } from './tokenise';
import { RESULT_WORDS } from './vocabulary';

/** The parser's refusals: every signal rejection but those only intake (markets) or validation make. */
export type ParseInvalidReason = Exclude<
  SignalRejectionReason,
  'bad-symbol' | 'bad-leverage' | 'unknown-symbol' | 'far-from-market'
>;

/** Discord's longest message (Nitro); anything longer did not come from a member. */
export const MAX_MESSAGE_LENGTH = 4000;
/**
 * Entries and take-profits a signal may carry; above, it is refused (a misread list, or not a call).
 * Channels with short- and mid-term targets post up to a dozen; the exchange's order limits are met
 * later, per account, by folding the farthest targets.
 */
export const MAX_PRICES_PER_LIST = 15;

export type ParseResult =
  | { ok: true; signal: TradeSignal }
  | { ok: false; kind: 'ignored' }
  | { ok: false; kind: 'invalid'; reason: ParseInvalidReason };

const IGNORED: ParseResult = { ok: false, kind: 'ignored' };
const invalid = (reason: ParseInvalidReason): ParseResult => ({ ok: false, kind: 'invalid', reason });

const hasNumbers = (section: PriceSection): boolean => section.numbers.length > 0 || section.sawPercent;
const hasEntry = (section: PriceSection): boolean => section.numbers.length > 0 || section.market;

/** The entry sections that count: labelled ones when present, else prices right after side or pair. */
const entrySections = (sections: Sections): PriceSection[] => {
  const labelled = sections.entries.filter(hasEntry);
  return labelled.length > 0 ? labelled : sections.implicitEntries.filter(hasEntry);
};

export function isSignalLike(sections: Sections): boolean {
  const entry = entrySections(sections).length > 0 || sections.marketPhrase;
  const stop = sections.stops.some(hasNumbers);
  const takeProfit = sections.takeProfits.some(hasNumbers);
  return [entry, stop, takeProfit].filter(Boolean).length >= 2;
}

// A list number is kept as a price only when within 50 % of the message's other prices.
const LIST_NUMBER_TOLERANCE = Math.log(1.5);

/** Settles ambiguous readings against the scale of the unambiguous prices of the message. */
function priceResolver(all: readonly PriceNumber[]): (numbers: readonly PriceNumber[]) => number[] {
  const certain = all
    .filter((n) => n.alternative === null && !n.maybeIndex && Number.isFinite(n.value) && n.value > 0)
    .map((n) => n.value);
  const scale = median(certain);
  return (numbers) =>
    numbers.flatMap((n) => {
      if (n.readings) {
        // A glued label: exactly one reading must sit among the message's prices, or none is taken.
        const fitting = scale === null ? [] : n.readings.filter((r) => distance(r, scale) <= LIST_NUMBER_TOLERANCE);
        return fitting.length === 1 ? fitting : [Number.NaN];
      }
      if (scale === null) return [n.value];
      if (n.maybeIndex) return distance(n.value, scale) > LIST_NUMBER_TOLERANCE ? [] : [n.value];
      if (n.alternative !== null) {
        const split = Math.max(...n.alternative.map((value) => distance(value, scale)));
        return split < distance(n.value, scale) ? n.alternative : [n.value];
      }
      return [n.value];
    });
}

const pickLeverage = (sections: Sections): number | null => {
  // "Leverage 10-20x": the lower bound is the safer reading. Bare ones ("BTC LONG 10x ... 2x your
  // usual size"): the first, which is where callers put it.
  const values = sections.leverage.length > 0 ? sections.leverage : sections.bareLeverage.slice(0, 1);
  return values.length === 0 ? null : values.some(Number.isNaN) ? Number.NaN : Math.min(...values);
};

/** A label glued to its price ("TP41.3100", see tokenise). */
const isGluedLabel = (token: Token): boolean => token.kind === 'num' && token.readings !== undefined;

/**
 * "Target 1 - 0.961 / Target 2 - 0.971 / ...": small integers that count 1, 2, 3... after the labels
 * are the list's numbering, even where a price sits near 1.
 */
function withoutListIndexes(numbers: readonly PriceNumber[]): PriceNumber[] {
  const indexes = numbers.filter((n) => n.maybeIndex);
  const counts = indexes.length >= 2 && indexes.every((n, i) => n.value === i + 1);
  return counts ? numbers.filter((n) => !n.maybeIndex) : [...numbers];
}

// A tick closing a line after a price reads as done: "TP1 0.46 ✅", "Target 2: 5.82 ☑️" (as a
// bullet before a label, "☑️ Target 1: ...", it is decoration).
const CHECKED_NUMBER = /\d[ \t]*(?:\u2705|\u2611|\u2714)\uFE0F?[ \t]*(?:\n|$)/u;

/**
 * Results and updates about an earlier call: words saying a target or stop was reached or the call
 * was cancelled or closed, a tick after a price or a take-profit label, or "98% profit". Such a post
 * often repeats the whole call; trading it again would be the worst misreading, so it is ignored.
 */
function isResultsPost(text: string, tokens: readonly Token[]): boolean {
  if (CHECKED_NUMBER.test(text) || text.split('\n').some(isTickedTarget)) return true;
  if (tokens.some((t) => t.kind === 'word' && RESULT_WORDS.has(t.text))) return true;
  // "+120% profit", "98.2% gain": a result ("40% of profit" is a share of the position).
  return tokens.some((t, i) => {
    const next = tokens[i + 1];
    return t.kind === 'pct' && next?.kind === 'word' && (next.text === 'profit' || next.text === 'gain' || next.text === 'profits');
  });
}

// A tick after a take-profit label on its line: "TP1 ✅ 65000", "BTC/USDT TP2 ✅ +35%" (a tick
// before the label, "✅ Targets: ...", is a bullet).
const TARGET_LABEL = /\b(?:tp\d*|targets?|take[- ]?profits?)\b/i;
const TICK = /[\u2705\u2611\u2714]/u;
// A tick followed by another label is the next item's bullet ("Target 1: 287 ☑️ Target 2: 275").
const BULLET_BEFORE_LABEL = /^[^A-Za-z0-9]*(?:tp\d*|targets?|take|stop|sl|entry|leverage)\b/i;
const isTickedTarget = (line: string): boolean => {
  const label = TARGET_LABEL.exec(line);
  if (label === null) return false;
  const after = line.slice(label.index + label[0].length);
  return [...after.matchAll(new RegExp(TICK.source, 'gu'))].some(
    (tick) => !BULLET_BEFORE_LABEL.test(after.slice((tick.index ?? 0) + tick[0].length)),
  );
};

// How far a price may sit from the entries and still be read as part of this trade: a stop beyond
// half (or double) the entry, a target beyond a tenth (or ten times), or entries spread wider than
// double, are misreadings far more often than calls.
const STOP_SCALE = 2;
const TARGET_SCALE = 10;
const ENTRY_SPREAD = 2;

function withinScale(input: {
  entries: readonly number[];
  referencePrice: number | null;
  stopLoss: number;
  takeProfits: readonly number[];
  side: Side;
}): boolean {
  const { entries, referencePrice, stopLoss, takeProfits, side } = input;
  const anchors = entries.length > 0 ? entries : referencePrice !== null ? [referencePrice] : [];
  if (anchors.length === 0) {
    // At market with no price given: the stop and the targets at least belong to one chart.
    const all = [stopLoss, ...takeProfits];
    return Math.max(...all) / Math.min(...all) <= STOP_SCALE * TARGET_SCALE;
  }
  const low = Math.min(...anchors);
  const high = Math.max(...anchors);
  if (high / low > ENTRY_SPREAD) return false;
  const long = side === 'long';
  if (long ? stopLoss < low / STOP_SCALE : stopLoss > high * STOP_SCALE) return false;
  return takeProfits.every((tp) => (long ? tp <= high * TARGET_SCALE : tp >= low / TARGET_SCALE));
}

export function parseSignalMessage(text: string): ParseResult {
  if (text.length > MAX_MESSAGE_LENGTH) return invalid('too-long');
  const normalised = normaliseText(text);
  // Compatibility forms can grow ("㏂" is "a.m."): bounded again after normalising.
  if (normalised.length > 2 * MAX_MESSAGE_LENGTH) return invalid('too-long');
  const tokens = markBareSymbols(tokenise(normalised));
  const sections = readSections(tokens);
  if (!isSignalLike(sections)) return IGNORED;
  // "Target 1: 5.82 ✅ 98% profit": a results post about an earlier call, not a new one.
  if (isResultsPost(text, tokens)) return IGNORED;

  const symbol = pickSymbol(tokens);
  if (symbol === null) return invalid('no-symbol');
  if (symbol === 'several') return invalid('several-symbols');

  const chosen = entrySections(sections);
  const entryNumbers = withoutListIndexes(chosen.flatMap((s) => s.numbers));
  const stopNumbers = sections.stops.map((s) => s.numbers);
  const targetNumbers = withoutListIndexes(sections.takeProfits.flatMap((s) => s.numbers));
  const resolve = priceResolver([...entryNumbers, ...stopNumbers.flat(), ...targetNumbers]);

  const prices = resolve(entryNumbers);
  const stops = stopNumbers.map(resolve).find((values) => values.length > 0) ?? [];
  const takeProfits = resolve(targetNumbers);
  const leverage = pickLeverage(sections);
  if ([...prices, ...stops, ...takeProfits].some(Number.isNaN) || Number.isNaN(leverage)) {
    return invalid(tokens.some(isGluedLabel) ? 'unclear-number' : 'bad-number');
  }
  if (sections.stops.some((s) => s.conditional)) return invalid('conditional-stop');
  if (stops.length === 0 && sections.stops.some((s) => s.sawPercent)) return invalid('percent-stop');
  if (new Set(prices).size > MAX_PRICES_PER_LIST || new Set(takeProfits).size > MAX_PRICES_PER_LIST) {
    return invalid('too-many-prices');
  }

  // A market word wins over prices written next to it ("Entry: CMP (64000)"); those are the reference.
  const market = chosen.some((s) => s.market) || (prices.length === 0 && sections.marketPhrase);
  if (!market && prices.length === 0) return invalid('no-entry');
  const stopLoss = stops[0];
  if (stopLoss === undefined) return invalid('no-stop');
  // "SL 63000 / 62500": which one? Never the first by default.
  if (new Set(stops).size > 1) return invalid('several-stops');
  // "TP: 3% 5%", "Targets: see chart": targets were announced but none could be read. Trading the
  // signal without them would not be the trade the caller posted.
  if (takeProfits.length === 0 && sections.takeProfits.length > 0) return invalid('unreadable-targets');

  // "Entry: market, DCA: 4.93": one market order plus limits to add at; a signal is one or the other.
  if (market && prices.length > 0 && chosen.some((s) => s.averaging)) return invalid('mixed-entry');
  const entries = market ? [] : prices;
  const referencePrice = market ? (prices[0] ?? null) : null;
  const side = decideSide(sections.side, { entries, stopLoss, takeProfits, referencePrice });
  if (!side.ok) return invalid(side.reason);
  // "Enter above 0.25" on a long (below, on a short) waits for a breakout; a limit order there would
  // fill at once on the wrong side of it. "Buy below 140" is a plain limit and is read as one.
  const breakout = side.side === 'long' ? 'above' : 'below';
  if (chosen.some((s) => s.trigger === 'breakout') || (!market && chosen.some((s) => s.trigger === breakout))) {
    return invalid('breakout-entry');
  }

  const validated = validateSignal(
    {
      symbol,
      side: side.side,
      entryType: market ? 'market' : 'limit',
      entries,
      stopLoss,
      takeProfits,
      leverage,
    },
    referencePrice === null ? {} : { referencePrice },
  );
  if (validated.ok) {
    const inScale = withinScale({ ...validated.signal, referencePrice });
    return inScale ? { ok: true, signal: validated.signal } : invalid('prices-out-of-scale');
  }
  switch (validated.reason) {
    case 'bad-symbol':
    case 'unknown-symbol':
      return invalid('no-symbol');
    case 'far-from-market':
      return invalid('prices-out-of-scale');
    case 'bad-leverage':
      return invalid('bad-number');
    default:
      return invalid(validated.reason);
  }
}
