/**
 * Free-text signal parser: one Discord message in, one of three answers out.
 *
 *   normaliseText → tokenise → markBareSymbols → readSections → prices by scale → side →
 *   validateSignal (the one validation every signal source shares)
 *
 * A message is signal-like when it has at least two of: an entry, a stop label with a number,
 * take-profit labels with numbers. Anything else is chatter and is ignored.
 */
import type { TradeSignal } from '../domain/signal';
import { validateSignal } from '../domain/signalValidation';
import { normaliseText } from './normaliseText';
import { distance, median } from './numbers';
import type { PriceNumber, PriceSection, Sections } from './sections';
import { readSections } from './sections';
import { decideSide } from './side';
import { markBareSymbols, pickSymbol } from './symbol';
import { tokenise } from './tokenise';

export type ParseInvalidReason =
  'no-symbol' | 'no-entry' | 'no-stop' | 'stop-wrong-side' | 'target-wrong-side' | 'bad-number';

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
  const values = sections.leverage.length > 0 ? sections.leverage : sections.bareLeverage;
  // "Leverage 10-20x": the lower bound is the safer reading.
  return values.length === 0 ? null : values.some(Number.isNaN) ? Number.NaN : Math.min(...values);
};

export function parseSignalMessage(text: string): ParseResult {
  const tokens = markBareSymbols(tokenise(normaliseText(text)));
  const sections = readSections(tokens);
  if (!isSignalLike(sections)) return IGNORED;

  const symbol = pickSymbol(tokens);
  if (symbol === null) return invalid('no-symbol');

  const chosen = entrySections(sections);
  const entryNumbers = chosen.flatMap((s) => s.numbers);
  const stopNumbers = sections.stops.map((s) => s.numbers);
  const targetNumbers = sections.takeProfits.flatMap((s) => s.numbers);
  const resolve = priceResolver([...entryNumbers, ...stopNumbers.flat(), ...targetNumbers]);

  const prices = resolve(entryNumbers);
  const stops = stopNumbers.map(resolve).find((values) => values.length > 0) ?? [];
  const takeProfits = resolve(targetNumbers);
  const leverage = pickLeverage(sections);
  if ([...prices, ...stops, ...takeProfits].some(Number.isNaN) || Number.isNaN(leverage)) {
    return invalid('bad-number');
  }

  // A market word wins over prices written next to it ("Entry: CMP (64000)"); those are the reference.
  const market = chosen.some((s) => s.market) || (prices.length === 0 && sections.marketPhrase);
  if (!market && prices.length === 0) return invalid('no-entry');
  const stopLoss = stops[0];
  if (stopLoss === undefined) return invalid('no-stop');
  // "TP: 3% 5%": targets we cannot place; better refused than silently dropped.
  if (takeProfits.length === 0 && sections.takeProfits.some(hasNumbers)) return invalid('bad-number');

  const entries = market ? [] : prices;
  const referencePrice = market ? (prices[0] ?? null) : null;
  const side = decideSide(sections.side, { entries, stopLoss, takeProfits, referencePrice });
  if (!side.ok) return invalid(side.reason);

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
  if (validated.ok) return { ok: true, signal: validated.signal };
  switch (validated.reason) {
    case 'bad-symbol':
      return invalid('no-symbol');
    case 'bad-leverage':
      return invalid('bad-number');
    default:
      return invalid(validated.reason);
  }
}
