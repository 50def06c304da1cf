import { describe, expect, it } from 'vitest';
import { endedMastershipStep, GIVE_UP_AFTER_MS } from '../../../src/domain/endedMastership';

const held = (quantity: number, copiedTotal: number, heldByLiveMasters = 0, accountId = 'f') => ({
  accountId,
  symbol: 'BTC/USDT:USDT',
  side: 'long' as const,
  quantity,
  price: 50_000,
  copiedTotal,
  heldByLiveMasters,
});

describe('endedMastershipStep', () => {
  const base = { nowMs: 1_000_000, endedAtMs: 1_000_000, rounds: 0, pendingAccounts: new Set<string>() };

  it('a follower with a copy still on its way waits; the others are closed now', () => {
    expect(endedMastershipStep({ ...base, pendingAccounts: new Set(['f']), held: [held(0.01, 0.01)] })).toEqual({ kind: 'wait' });
    const step = endedMastershipStep({ ...base, pendingAccounts: new Set(['stuck']), held: [held(0.01, 0.01, 0, 'stuck'), held(0.02, 0.02, 0, 'ok')] });
    expect(step).toMatchObject({ kind: 'close', closes: [{ accountId: 'ok', quantity: 0.02 }] });
    // Nothing held but a copy still on its way: not settled yet.
    expect(endedMastershipStep({ ...base, pendingAccounts: new Set(['f']), held: [] })).toEqual({ kind: 'wait' });
  });

  it('a copy stuck on its way for a day does not hold the round for ever: the owners are told', () => {
    const late = { ...base, nowMs: base.endedAtMs + GIVE_UP_AFTER_MS + 1 };
    expect(endedMastershipStep({ ...late, pendingAccounts: new Set(['f']), held: [held(0.01, 0.01)] })).toEqual({ kind: 'settle', outcome: 'gave-up' });
  });

  it('closes what is held, never more than copy trading holds there less what running masterships hold', () => {
    expect(endedMastershipStep({ ...base, held: [held(0.01, 0.014, 0.004)] })).toMatchObject({ kind: 'close', closes: [{ quantity: 0.01 }] });
    // The member closed this master's copy by hand; what is left is the other master's.
    expect(endedMastershipStep({ ...base, held: [held(0.01, 0.004, 0.004)] })).toEqual({ kind: 'settle', outcome: 'flat' });
    expect(endedMastershipStep({ ...base, held: [held(0.01, 0.006, 0.004)] })).toMatchObject({ kind: 'close', closes: [{ quantity: 0.002 }] });
  });

  it('spaces rounds 10 s, doubling to 10 minutes, and gives up after a day', () => {
    const next = (rounds: number) => {
      const step = endedMastershipStep({ ...base, rounds, held: [held(0.01, 0.01)] });
      return step.kind === 'close' ? step.nextRoundAt - base.nowMs : null;
    };
    expect([0, 1, 2, 6, 7, 30].map(next)).toEqual([10_000, 20_000, 40_000, 600_000, 600_000, 600_000]);
    expect(endedMastershipStep({ ...base, nowMs: base.endedAtMs + GIVE_UP_AFTER_MS + 1, held: [held(0.01, 0.01)] })).toEqual({ kind: 'settle', outcome: 'gave-up' });
  });
});
