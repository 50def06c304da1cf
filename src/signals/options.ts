/**
 * /signal's options read into a signal (pure): the same module as the free-text parser, so both
 * sources read symbols and prices alike. The intake's one validation runs afterwards.
 */
import type { SignalRejectionReason, TradeSignal } from '../domain/signal';
import { MAX_PRICES_PER_LIST } from './parseSignalMessage';
import { pairFromWord } from './symbol';

export interface SignalOptions {
  symbol: string;
  side: string;
  /** "market", one price, or several ("64000, 64500" or "64000-64500"). */
  entry: string;
  stop: number;
  /** Comma- or space-separated prices; may be empty. */
  takeProfits: string;
  leverage: number | null;
}

/** Why options cannot be read: a rejection reason (with the offending text), or a side that is neither long nor short. */
export type OptionsRefusal = { reason: SignalRejectionReason; detail: string } | { reason: 'bad-side'; detail: string };

export type OptionsRead<T> = { ok: true; value: T } | ({ ok: false } & OptionsRefusal);

/** "BTC/USDT", "btcusdt", "#BTC", "BTC" → "BTC/USDT" (a bare coin trades against USDT). */
export function normaliseSymbol(raw: string): string {
  const text = raw.trim().replace(/^[#$]/, '');
  if (text.includes('/')) return text.toUpperCase();
  const pair = pairFromWord(text, 'suffix');
  if (pair?.quote) return `${pair.base}/${pair.quote.toUpperCase()}`;
  return `${text.toUpperCase()}/USDT`;
}

/** "65000", "65k"; commas separate prices. Null for anything not a price. */
function readPrice(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(k)?$/i.exec(text.trim());
  if (!match?.[1]) return null;
  const value = Number(match[1]) * (match[2] ? 1000 : 1);
  return Number.isFinite(value) && value > 0 ? value : null;
}

export function readPrices(text: string, what: string): OptionsRead<number[]> {
  const parts = text
    .split(/[\s,;]+|(?<=\d)-(?=\d)/)
    .map((part) => part.trim())
    .filter(Boolean);
  // The channel parser's limit holds for /signal too (one reply, one embed, orders an exchange allows).
  if (parts.length > MAX_PRICES_PER_LIST) return { ok: false, reason: 'too-many-prices', detail: `${what}: ${parts.length}` };
  const prices: number[] = [];
  for (const part of parts) {
    const price = readPrice(part);
    if (price === null) return { ok: false, reason: 'bad-number', detail: `${what}: "${part}"` };
    prices.push(price);
  }
  return { ok: true, value: prices };
}

export function parseSignalOptions(input: SignalOptions): OptionsRead<TradeSignal> {
  const side = input.side.trim().toLowerCase();
  if (side !== 'long' && side !== 'short') return { ok: false, reason: 'bad-side', detail: input.side };
  const entryText = input.entry.trim().toLowerCase();
  const market = entryText === '' || entryText === 'market' || entryText === 'm' || entryText === 'cmp' || entryText === 'now';
  const entries: OptionsRead<number[]> = market ? { ok: true, value: [] } : readPrices(input.entry, 'entry');
  if (!entries.ok) return entries;
  const takeProfits = readPrices(input.takeProfits, 'take-profits');
  if (!takeProfits.ok) return takeProfits;
  return {
    ok: true,
    value: {
      symbol: normaliseSymbol(input.symbol),
      side,
      entryType: market ? 'market' : 'limit',
      entries: entries.value,
      stopLoss: input.stop,
      takeProfits: takeProfits.value,
      leverage: input.leverage,
    },
  };
}
