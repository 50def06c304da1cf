/** Free-text signal parsing (pure). */
export { parseSignalMessage } from './parseSignalMessage';
export type { ParseInvalidReason, ParseResult } from './parseSignalMessage';
export { toSignalJson } from './toSignalJson';
