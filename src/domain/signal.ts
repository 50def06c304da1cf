/**
 * The one structured signal every source produces (channel parser, /signal, copy trading, strategy).
 * Prices are plain numbers here; they meet a market's precision only when sized for one account.
 */
export const SIDES = ['long', 'short'] as const;
export type Side = (typeof SIDES)[number];

/** Where signals come from: a caller's message, /signal, a copied master order, the built-in strategy. */
export const SIGNAL_SOURCES = ['channel', 'command', 'copy', 'strategy'] as const;
export type SignalSource = (typeof SIGNAL_SOURCES)[number];
export const isSignalSource = (value: unknown): value is SignalSource => (SIGNAL_SOURCES as readonly unknown[]).includes(value);
export const ENTRY_TYPES = ['market', 'limit'] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

export interface TradeSignal {
  /** Unified pair, BASE/QUOTE, e.g. `BTC/USDT`. Resolved to each account's market later. */
  symbol: string;
  side: Side;
  entryType: EntryType;
  /** Ascending limit prices; empty for a market entry. */
  entries: number[];
  stopLoss: number;
  /** In trade direction: ascending for a long, descending for a short. */
  takeProfits: number[];
  /** Requested leverage, or null to use each account's own setting. */
  leverage: number | null;
}

/** Why a signal as a whole cannot be traded (kebab-case, shown to callers in plain words). */
export type SignalRejectionReason =
  | 'no-symbol'
  | 'bad-symbol'
  | 'no-entry'
  | 'no-stop'
  | 'stop-wrong-side'
  | 'target-wrong-side'
  | 'bad-number'
  | 'bad-leverage'
  // The free-text parser's refusals: written in a form no order can follow, or that could be misread.
  | 'unclear-number'
  | 'several-symbols'
  | 'several-stops'
  | 'breakout-entry'
  | 'mixed-entry'
  | 'percent-stop'
  | 'conditional-stop'
  | 'unreadable-targets'
  | 'too-many-prices'
  | 'prices-out-of-scale'
  | 'too-long'
  // Resolved against the exchanges' market lists at intake.
  | 'unknown-symbol'
  | 'far-from-market';

/**
 * A signal that passed the one validation (validateSignal), normalised. Only the validation makes
 * one, and only these are queued: nothing downstream validates again.
 */
export type ValidatedSignal = TradeSignal & { readonly __validated: true };

export type SignalValidation =
  | { ok: true; signal: ValidatedSignal }
  | { ok: false; reason: SignalRejectionReason };
