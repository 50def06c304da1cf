/**
 * Real messages from public signal channels (test/fixtures/signals/corpus.jsonl, each with the
 * repository or page it was taken from), with what a careful trader reads in each: a signal, a
 * refusal, or nothing (results, updates, chatter). A few are refused only at intake, where the
 * market is known (a pair that is not listed, prices written short): those lines carry what the
 * exchange would answer, and the intake's decision is checked with it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TradeSignal } from '../../../src/domain/signal';
import { parseSignalMessage } from '../../../src/signals/parseSignalMessage';
import { decideMarketCheck } from '../../../src/trading/symbolListing';

interface Expected extends Omit<TradeSignal, 'entryType'> {
  entryType?: TradeSignal['entryType'];
}
interface CorpusLine {
  source: string;
  text: string;
  expect: Expected | null | 'reject';
  note?: string;
  /** For a refusal: the reason the caller is given, where the message makes it plain. */
  reason?: string;
  /** Refused at intake: what the exchange answers (listed or not, the market price). */
  intake?: { listed?: boolean; marketPrice?: number };
}

const corpus: CorpusLine[] = readFileSync(new URL('../../fixtures/signals/corpus.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as CorpusLine);

describe('the real-message corpus', () => {
  it('holds at least 100 real signals, each with its source', () => {
    expect(corpus.filter((line) => line.expect !== null).length).toBeGreaterThanOrEqual(100);
    for (const line of corpus) expect(line.source).toMatch(/^(?:[\w.-]+\/[\w.-]+(?:@[0-9a-f]{40})?:\S+|https:\/\/\S+)$/);
  });

  it.each(corpus.map((line, index) => [index + 1, line.text.split('\n')[0]?.slice(0, 60) ?? '', line] as const))(
    'line %i: %s',
    (_line, _title, { text, expect: expected, intake, reason }) => {
      const result = parseSignalMessage(text);
      if (expected === null) {
        expect(result).toEqual({ ok: false, kind: 'ignored' });
      } else if (expected === 'reject' && intake) {
        // Read by the parser, refused by the intake's market check.
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const listing = intake.listed === false ? 'unlisted' : 'listed';
        expect(decideMarketCheck(result.signal, listing, intake.marketPrice ?? null)).not.toBe('accept');
      } else if (expected === 'reject') {
        expect(result).toMatchObject({ ok: false, kind: 'invalid', ...(reason === undefined ? {} : { reason }) });
      } else {
        const entryType = expected.entryType ?? (expected.entries.length === 0 ? 'market' : 'limit');
        expect(result).toEqual({
          ok: true,
          signal: {
            symbol: expected.symbol,
            side: expected.side,
            entryType,
            entries: expected.entries,
            stopLoss: expected.stopLoss,
            takeProfits: expected.takeProfits,
            leverage: expected.leverage,
          },
        });
        // And the intake accepts it on a market trading at its entry (or its stop, at market).
        const last = expected.entries[0] ?? expected.stopLoss;
        if (result.ok) expect(decideMarketCheck(result.signal, 'listed', last)).toBe('accept');
      }
    },
  );
});
