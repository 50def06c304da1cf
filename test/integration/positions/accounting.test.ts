import { afterEach, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { readModels } from '../../../src/db/repositories/readModels';
import { positions } from '../../../src/db/schema';
import { FUNDING_HOUR_MS } from '../../../src/domain/funding';
import { createReconcileService } from '../../../src/services/reconcile';
import { positionsWorld, SYMBOL, type PositionsWorld } from './support';

let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/**
 * The worked example of issue #12, by hand. LINK/USDT perpetual, long 2 at 100 (market), targets 105
 * and 110 of 1 each (triggered take-profits fill as takers), leverage 1; the account pays fees in BNB
 * (Binance "feeBurn": the 0.04 % taker rate less 10 %, i.e. 0.036 % of the notional, in BNB at 600):
 *   entry  200.00 × 0.00036 = 0.0720 USDT = 0.000120 BNB
 *   TP1    105.00 × 0.00036 = 0.0378 USDT = 0.000063 BNB
 *   TP2    110.00 × 0.00036 = 0.0396 USDT = 0.000066 BNB        fees 0.1494 USDT (0.000249 BNB)
 *   funding at 13:00, price 100, rate +0.01 %: the long pays 2 × 100 × 0.0001 = 0.0200
 *   realised = (105 − 100) + (110 − 100) − 0.1494 − 0.0200 = 14.8306 → 14.83
 * At TP1 the position has realised 5 − 0.0378 − 0.0720 / 2 = 4.9262 already, and so has the day; the
 * funding paid at 13:00 is read after the 16:00 slot. Binance's own records: REALIZED_PNL 5 + 10,
 * COMMISSION −0.000249 BNB, FUNDING_FEE −0.02.
 */
const BNB = 600;
const RATE = 0.0004 * 0.9;
const FEES_USDT = (200 + 105 + 110) * RATE;
const FUNDING = -2 * 100 * 0.0001;
const AT_TP1 = 5 - 105 * RATE - (200 * RATE) / 2;
const REALISED = 15 - FEES_USDT + FUNDING;

/** The world, and a futures account (fixed 200 USDT, 1×) that pays its fees in BNB at 600. */
async function bnbPayer() {
  world = await positionsWorld();
  const w = world;
  const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
  const apiKey = w.apiKeyOf(account);
  w.sim.fund(apiKey, 'futures', 'BNB', 1);
  w.sim.setBnbFeeBurn(apiKey, 'futures', true);
  w.sim.setPrice('BNBUSDT', BNB, 'both');
  return { w, account, apiKey };
}

describe('accounting to the cent: fees in BNB, funding, partial exits (issue #12)', () => {
  it('a futures round trip with two take-profits, BNB fees and one funding payment matches the hand computation and the exchange income', { timeout: 120_000 }, async () => {
    const { w, account, apiKey } = await bnbPayer();

    await w.signal();
    await w.cycle();
    const [opened] = await w.positionRows(account.id);
    expect(opened).toMatchObject({ status: 'open', quantity: 2, averageEntryPrice: 100 });

    // The next funding time (13:00): the exchange pays.
    w.clock.set(Math.ceil(w.clock.now() / FUNDING_HOUR_MS) * FUNDING_HOUR_MS);
    w.sim.payFunding(SYMBOL, 0.0001);
    w.clock.advance(61_000);
    w.sim.setPrice(SYMBOL, 105, 'both');
    await w.cycle();
    const [afterTp1] = await w.positionRows(account.id);
    expect(afterTp1).toMatchObject({ status: 'open', quantity: 1, takeProfitsHit: 1 });
    // Binance's order answers carry no fee: read from the trades, valued at BNB's price in the fill's minute (not 0.00012 "USDT").
    const fees = new Map((await w.orderRows(account.id)).map((o) => [o.leg, o.fees]));
    expect(fees.get('e0')).toEqual([{ currency: 'BNB', amount: 0.00012, quoteValue: 0.072 }]);
    expect(fees.get('t0')).toEqual([{ currency: 'BNB', amount: 0.000063, quoteValue: 0.0378 }]);
    // Realised at once, and counted in the day: the TP1 gain, its fee, half the entry fee.
    expect(afterTp1!.realizedPnl).toBeCloseTo(AT_TP1, 8);
    expect((await w.day(account.id))[0]!.realizedPnl).toBeCloseTo(AT_TP1, 8);
    // Funding is read after the 16:00 slot (and 5 minutes for the exchange to write it), not before.
    expect(afterTp1!.funding).toBe(0);
    w.clock.set(Date.UTC(2026, 0, 5, 16, 5, 1));
    await w.cycle();
    const [funded] = await w.positionRows(account.id);
    expect(funded!.funding).toBeCloseTo(FUNDING, 10);
    expect(funded!.realizedPnl).toBeCloseTo(AT_TP1 + FUNDING, 8);
    expect((await w.day(account.id))[0]!.realizedPnl).toBeCloseTo(AT_TP1 + FUNDING, 8);

    w.sim.setPrice(SYMBOL, 110, 'both');
    await w.cycle();
    const [closed] = await w.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'take-profit', takeProfitsHit: 2 });
    expect(closed!.realizedPnl.toFixed(2)).toBe('14.83');
    expect(closed!.realizedPnl).toBeCloseTo(REALISED, 8);
    expect(closed!.fees).toBeCloseTo(FEES_USDT, 8);
    const [day] = await w.day(account.id);
    expect(day!.realizedPnl).toBeCloseTo(REALISED, 8);

    // The exchange's own records add up to the same figure (its commission in BNB at 600).
    const income = w.sim.income(apiKey);
    const sum = (type: string) => income.filter((r) => r.incomeType === type).reduce((acc, r) => acc + r.income, 0);
    expect(sum('REALIZED_PNL')).toBeCloseTo(15, 8);
    expect(income.filter((r) => r.incomeType === 'COMMISSION').every((r) => r.asset === 'BNB')).toBe(true);
    expect(sum('COMMISSION')).toBeCloseTo(-0.000249, 10);
    expect(sum('FUNDING_FEE')).toBeCloseTo(FUNDING, 10);
    expect(sum('REALIZED_PNL') + sum('COMMISSION') * BNB + sum('FUNDING_FEE')).toBeCloseTo(closed!.realizedPnl, 8);

    // The owner's check: the book against the exchange's income records, component by component.
    const reconcile = createReconcileService({ reads: readModels(w.db.db), accounts: accountsRepository(w.db.db), gateways: w.provider, now: () => w.clock.now() });
    const query = { ownerId: account.ownerId, guildId: account.guildId, accountId: account.id };
    const report = await reconcile.check(query);
    expect(report.positions).toHaveLength(1);
    const [checked] = report.positions;
    expect(checked).toMatchObject({ symbol: 'LINK/USDT:USDT', overlapped: false, check: { matches: true } });
    expect(checked!.check.total).toMatchObject({ difference: 0 });
    expect(checked!.check.total!.exchange).toBeCloseTo(REALISED, 8);
    expect(checked!.check.gross).toMatchObject({ bot: 15, exchange: 15, difference: 0 });
    expect(checked!.check.fees).toEqual([{ currency: 'BNB', bot: 0.000249, exchange: 0.000249, difference: 0 }]);
    expect(checked!.check.funding).toMatchObject({ bot: FUNDING, exchange: FUNDING, difference: 0 });
    // A book that strayed by a cent is shown as a difference, where it is.
    await w.db.db.update(positions).set({ realizedPnl: sql`${positions.realizedPnl} - 0.01` }).where(eq(positions.id, closed!.id));
    // One check a minute per account: each costs the exchange's request weight.
    await expect(reconcile.check(query)).rejects.toThrow(/less than a minute ago/);
    w.clock.advance(61_000);
    const strayed = (await reconcile.check(query)).positions[0]!.check;
    expect(strayed.matches).toBe(false);
    expect(strayed.total!.difference).toBeCloseTo(0.01, 8);
    expect(strayed.gross.difference).toBeCloseTo(0.01, 8);
    await w.db.db.update(positions).set({ realizedPnl: sql`${positions.realizedPnl} + 0.01` }).where(eq(positions.id, closed!.id));

    // Booked once: another cycle reads nothing new.
    w.clock.advance(FUNDING_HOUR_MS);
    await w.cycle();
    expect((await w.positionRows(account.id))[0]!.realizedPnl).toBeCloseTo(REALISED, 8);
    expect((await w.day(account.id))[0]!.realizedPnl).toBeCloseTo(REALISED, 8);
  });

  it('a BNB fee whose price cannot be read at the close is valued afterwards, and the position and its day corrected once', { timeout: 120_000 }, async () => {
    const { w, account } = await bnbPayer();
    await w.signal();
    await w.cycle();
    w.sim.setPrice(SYMBOL, 105, 'both');
    await w.cycle();
    // BNB's candles unreadable while the last target fills (a new minute: no price cached) and the position closes.
    w.clock.advance(5 * 60_000);
    w.sim.inject({ kind: 'http-5xx', path: '/api/v3/klines' });
    w.sim.setPrice(SYMBOL, 110, 'both');
    await w.cycle();
    const [closed] = await w.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'take-profit' });
    const tp2 = (await w.orderRows(account.id)).find((o) => o.leg === 't1')!;
    expect(tp2.fees).toEqual([{ currency: 'BNB', amount: 0.000066, quoteValue: null }]);
    // Left out, not counted as 0.000066 USDT: the close is short of TP2's fee (0.0396).
    expect(closed!.fees).toBeCloseTo(FEES_USDT - 110 * RATE, 8);
    expect(closed!.realizedPnl).toBeCloseTo(15 - FEES_USDT + 110 * RATE, 8);

    // Still unreadable: the correction tries, fails, and puts the order off (kept in the database), not every pass.
    await w.cycle();
    const deferred = (await w.orderRows(account.id)).find((o) => o.leg === 't1')!;
    expect(deferred.feesUnvalued).toBe(true);
    expect(deferred.feesRetryAt!.getTime()).toBeGreaterThan(w.clock.now());
    const lookups = () => w.sim.requestLog.filter((e) => e.path === '/fapi/v1/order' && e.method === 'GET').length;
    const before = lookups();
    await w.cycle();
    expect(lookups()).toBe(before);

    w.sim.clearFaults();
    w.clock.advance(61_000);
    await w.cycle();
    const [corrected] = await w.positionRows(account.id);
    expect(corrected!.fees).toBeCloseTo(FEES_USDT, 8);
    expect(corrected!.realizedPnl).toBeCloseTo(15 - FEES_USDT, 8);
    expect((await w.day(account.id))[0]!.realizedPnl).toBeCloseTo(15 - FEES_USDT, 8);
    expect((await w.orderRows(account.id)).find((o) => o.leg === 't1')!.fees).toEqual([{ currency: 'BNB', amount: 0.000066, quoteValue: 0.0396 }]);
    // Once: more cycles change nothing.
    w.clock.advance(61_000);
    await w.cycle();
    expect((await w.positionRows(account.id))[0]!.realizedPnl).toBeCloseTo(15 - FEES_USDT, 8);
    expect((await w.day(account.id))[0]!.realizedPnl).toBeCloseTo(15 - FEES_USDT, 8);
  });
});
