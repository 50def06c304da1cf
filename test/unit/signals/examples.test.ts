import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSignalMessage } from '../../../src/signals/parseSignalMessage';
import { hasShared, sharedPath } from '../../support/shared';

interface ExpectedSignal {
  symbol: string;
  side: 'long' | 'short';
  entries: number[];
  entryType?: 'market' | 'limit';
  stopLoss: number;
  takeProfits: number[];
  leverage: number | null;
}
interface Example {
  text: string;
  expect: ExpectedSignal | null | 'reject';
}

const examples = (): Example[] =>
  readFileSync(sharedPath('signals', 'examples.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Example);

describe.skipIf(!hasShared)('shared signal examples (../shared/signals/examples.jsonl)', () => {
  const all = hasShared ? examples() : [];

  it('has examples to check', () => {
    expect(all.length).toBeGreaterThan(0);
  });

  it.each(all.map((example, index) => [index + 1, example.text.split('\n')[0] ?? '', example] as const))(
    'line %i: %s',
    (_line, _title, { text, expect: expected }) => {
      const result = parseSignalMessage(text);
      if (expected === null) {
        expect(result).toEqual({ ok: false, kind: 'ignored' });
      } else if (expected === 'reject') {
        expect(result).toMatchObject({ ok: false, kind: 'invalid' });
      } else {
        // README: prices compare as numbers; market entries have no prices and entryType "market".
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
      }
    },
  );
});
