import type { ParseResult } from './parseSignalMessage';

/**
 * One JSON line for a parse result, with the signal's seven keys in a fixed order (the CLI contract
 * of `npm run signal:parse`), whatever order the object was built in.
 */
export function toSignalJson(result: ParseResult): string {
  if (!result.ok) {
    return JSON.stringify(
      result.kind === 'ignored'
        ? { ok: false, kind: 'ignored' }
        : { ok: false, kind: 'invalid', reason: result.reason },
    );
  }
  const { symbol, side, entryType, entries, stopLoss, takeProfits, leverage } = result.signal;
  return JSON.stringify({
    ok: true,
    signal: { symbol, side, entryType, entries, stopLoss, takeProfits, leverage },
  });
}
