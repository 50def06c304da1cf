/**
 * The intake's validation is the only one (the fan-out trusts what is queued), so nothing may be
 * queued without it: the signals repository takes a ValidatedSignal, which only validateSignal
 * makes. These lines fail to compile (`npm run typecheck`) if that ever loosens.
 */
import { describe, expect, it } from 'vitest';
import type { NewSignal } from '../../../src/db/repositories/signals';
import type { TradeSignal } from '../../../src/domain/signal';
import { validateSignal } from '../../../src/domain/signalValidation';

const trade: TradeSignal = { symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 60_000, takeProfits: [70_000], leverage: null };
const base = { id: '00000000-0000-4000-8000-000000000001', guildId: '1', source: 'command' as const, sourceRef: 'r', authorId: null, channelId: null, createdAt: new Date(0) };

describe('only validated signals can be queued', () => {
  it('a validated signal fits a new signal row; a raw trade does not', () => {
    const validated = validateSignal(trade);
    if (!validated.ok) throw new Error(validated.reason);
    const row: NewSignal = { ...base, signal: validated.signal };
    expect(row.signal.symbol).toBe('BTC/USDT');
    // @ts-expect-error a TradeSignal that skipped the validation is not a ValidatedSignal
    const unchecked: NewSignal = { ...base, signal: trade };
    expect(unchecked.signal).toBe(trade);
  });

  it('the validation refuses what the fan-out would otherwise trade', () => {
    expect(validateSignal({ ...trade, stopLoss: 80_000 })).toEqual({ ok: false, reason: 'stop-wrong-side' });
  });
});
