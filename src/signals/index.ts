/** Signal parsing (pure): free text from the signal channel, and /signal's options. */
export { parseSignalMessage } from './parseSignalMessage';
export type { ParseInvalidReason, ParseResult } from './parseSignalMessage';
export { toSignalJson } from './toSignalJson';
export { normaliseSymbol, parseSignalOptions, readPrices } from './options';
export type { OptionsRead, OptionsRefusal, SignalOptions } from './options';
