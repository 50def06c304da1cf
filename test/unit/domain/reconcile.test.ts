import { describe, expect, it } from 'vitest';
import { reconcile } from '../../../src/domain/reconcile';
import { renderReconciliation } from '../../../src/discord/embeds/reconcile';

const booked = {
  // 15 before fees, 0.1494 of fees paid in BNB (0.000249 BNB at 600), −0.02 of funding.
  realised: 14.8306,
  funding: -0.02,
  fees: [{ currency: 'BNB', amount: 0.000249, quoteValue: 0.1494 }],
  quote: 'USDT',
};
const records = { realizedPnl: [5, 10], commission: [{ currency: 'BNB', amount: -0.00012 }, { currency: 'BNB', amount: -0.000129 }], funding: [-0.02] };

describe('the book against the exchange', () => {
  it('matching records: every component equal, the total at the bot\'s fill-time BNB rate', () => {
    const r = reconcile(booked, records);
    expect(r.matches).toBe(true);
    expect(r.gross).toEqual({ bot: 15, exchange: 15, difference: 0 });
    expect(r.fees).toEqual([{ currency: 'BNB', bot: 0.000249, exchange: 0.000249, difference: 0 }]);
    expect(r.funding).toEqual({ bot: -0.02, exchange: -0.02, difference: 0 });
    expect(r.total).toEqual({ bot: 14.8306, exchange: 14.8306, difference: 0 });
  });

  it.each([
    ['a funding payment the bot never booked', { ...records, funding: [-0.02, -0.03] }, 'funding', -0.03],
    ['a fill the bot missed', { ...records, realizedPnl: [5, 10, 1.5] }, 'gross', 1.5],
  ] as const)('%s is shown where it is', (_label, exchange, component, difference) => {
    const r = reconcile(booked, exchange);
    expect(r.matches).toBe(false);
    expect(r[component].difference).toBeCloseTo(difference, 10);
    expect(r.total!.difference).toBeCloseTo(difference, 10);
  });

  it('a fee in a currency the book has no price for: compared per currency, the totals are not', () => {
    const r = reconcile({ ...booked, fees: [] }, records);
    expect(r.fees).toEqual([{ currency: 'BNB', bot: 0, exchange: 0.000249, difference: 0.000249 }]);
    expect(r.total).toBeNull();
    expect(r.matches).toBe(false);
  });

  it('renders each position with the figures that differ marked', () => {
    const check = reconcile(booked, { ...records, funding: [-0.05] });
    const embed = renderReconciliation({
      accountName: 'main',
      positions: [{ positionId: 'p', symbol: 'LINK/USDT:USDT', side: 'long', openedAt: new Date(0), closedAt: new Date(3_600_000), check, overlapped: false }],
    });
    const text = JSON.stringify(embed);
    expect(text).toContain('Funding: bot -0.02 USDT · exchange -0.05 USDT (**Δ -0.03 USDT**)');
    expect(text).toContain('Fees in BNB: bot 0.000249 BNB · exchange 0.000249 BNB');
    expect(embed.description).toContain('differ');
  });
});
