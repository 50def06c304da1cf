import { afterEach, describe, expect, it } from 'vitest';
import type { TradeSignal } from '../../../src/domain/signal';
import { FEES, positionsWorld, SYMBOL, type PositionsWorld } from './support';

const PERP = 'LINK/USDT:USDT';

let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const limitLong: TradeSignal = {
  symbol: 'LINK/USDT',
  side: 'long',
  entryType: 'limit',
  entries: [98],
  stopLoss: 95,
  takeProfits: [105, 110],
  leverage: 1,
};
const sorted = (legs: { leg: string; status: string }[]) => legs.map((leg) => [leg.leg, leg.status]).sort();

describe('limit entries and the engine-side stop', () => {
  it('a limit entry that fills later gets its position, stop and take-profits from the sync', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await world.signal(limitLong);
    await world.cycle();
    expect(sorted(await world.orderRows(account.id))).toEqual([['e0', 'open']]);
    expect(await world.positionRows(account.id)).toEqual([]);

    world.sim.setPrice(SYMBOL, 98, 'both');
    await world.cycle();
    const [position] = await world.positionRows(account.id);
    expect(position).toMatchObject({ status: 'open', quantity: 2, averageEntryPrice: 98 });
    expect(sorted(await world.orderRows(account.id))).toEqual([
      ['e0', 'filled'],
      ['s0', 'open'],
      ['t0', 'open'],
      ['t1', 'open'],
    ]);

    // Both targets: the last one closes it as a take-profit, nothing left resting.
    world.sim.setPrice(SYMBOL, 105, 'both');
    await world.cycle();
    world.sim.setPrice(SYMBOL, 110, 'both');
    await world.cycle();
    const [closed] = await world.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'take-profit', takeProfitsHit: 2 });
    // Entry as maker (resting limit), exits as takers (triggered).
    const expected = 105 + 110 - 196 - 196 * FEES.maker - (105 + 110) * FEES.taker;
    expect(closed!.realizedPnl).toBeCloseTo(expected, 6);
    expect(sorted(await world.orderRows(account.id))).toEqual([
      ['e0', 'filled'],
      ['s0', 'cancelled'],
      ['s1', 'cancelled'],
      ['t0', 'filled'],
      ['t1', 'filled'],
    ]);
  });

  it('partial fills: exits for what filled, then the stop resized as the rest fills', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    // The entry crosses at once but only half of it fills; the rest rests at 100.
    world.sim.inject({ kind: 'partial-fill', path: '/fapi/v1/order', ratio: 0.5, count: 1 });
    await world.signal({ ...limitLong, entries: [100] });
    await world.cycle();
    const [half] = await world.positionRows(account.id);
    expect(half).toMatchObject({ status: 'open', quantity: 1, entryQuantity: 1 });
    const first = await world.orderRows(account.id);
    expect(first.find((o) => o.leg === 'e0')).toMatchObject({ status: 'partially-filled', filledQuantity: 1 });
    expect(first.find((o) => o.leg === 's0')).toMatchObject({ status: 'open', quantity: 1 });

    world.sim.setPrice(SYMBOL, 100, 'both'); // matching runs: the rest of the entry fills
    await world.cycle();
    const [full] = await world.positionRows(account.id);
    expect(full).toMatchObject({ status: 'open', quantity: 2, entryQuantity: 2, averageEntryPrice: 100 });
    const legs = await world.orderRows(account.id);
    expect(legs.find((o) => o.leg === 'e0')).toMatchObject({ status: 'filled', filledQuantity: 2 });
    expect(legs.find((o) => o.leg === 's0')?.status).toBe('cancelled');
    expect(legs.find((o) => o.leg === 's1')).toMatchObject({ status: 'open', quantity: 2, triggerPrice: 95 });
  });

  it('an unfilled entry is cancelled when the first target trades first', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await world.signal(limitLong);
    await world.cycle();
    world.sim.setPrice(SYMBOL, 105.5, 'both');
    await world.cycle();
    expect(sorted(await world.orderRows(account.id))).toEqual([['e0', 'cancelled']]);
    expect(await world.positionRows(account.id)).toEqual([]);
  });

  it('an unfilled entry is cancelled after the entry time-to-live', { timeout: 90_000 }, async () => {
    world = await positionsWorld({ entryTtlMs: 3_600_000 });
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await world.signal(limitLong);
    await world.cycle();
    await world.cycle();
    expect(sorted(await world.orderRows(account.id))).toEqual([['e0', 'open']]);
    world.clock.advance(3_600_000 + 1_000);
    await world.cycle();
    expect(sorted(await world.orderRows(account.id))).toEqual([['e0', 'cancelled']]);
  });
});

describe('take-profits resized as further limit entries fill', () => {
  const twoEntries: TradeSignal = { ...limitLong, entries: [99, 97] };
  const liveTargets = async (w: PositionsWorld, accountId: string) =>
    (await w.orderRows(accountId)).filter((o) => o.leg.startsWith('t') && ['open', 'partially-filled'].includes(o.status));

  it('futures: the second fill re-splits the whole position over the targets, old targets cancelled, then both fill', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    const gateway = world.provider.forAccount(account);
    await world.signal(twoEntries);
    await world.cycle();
    expect(sorted(await world.orderRows(account.id))).toEqual([
      ['e0', 'open'],
      ['e1', 'open'],
    ]);

    world.sim.setPrice(SYMBOL, 99, 'both');
    await world.cycle();
    const [first] = await world.positionRows(account.id);
    expect(first).toMatchObject({ status: 'open', quantity: 1, entryQuantity: 1 });
    expect((await liveTargets(world, account.id)).map((o) => [o.leg, o.quantity, o.triggerPrice])).toEqual([
      ['t0', 0.5, 105],
      ['t1', 0.5, 110],
    ]);

    world.sim.setPrice(SYMBOL, 97, 'both');
    await world.cycle();
    const [full] = await world.positionRows(account.id);
    expect(full).toMatchObject({ status: 'open', quantity: 2, entryQuantity: 2, averageEntryPrice: 98 });
    const live = await liveTargets(world, account.id);
    expect(live.map((o) => [o.leg, o.quantity, o.triggerPrice])).toEqual([
      ['t0v1', 1, 105],
      ['t1v1', 1, 110],
    ]);
    expect(live.reduce((sum, o) => sum + o.quantity, 0)).toBe(full!.quantity);
    const legs = await world.orderRows(account.id);
    expect(legs.filter((o) => o.leg === 't0' || o.leg === 't1').map((o) => o.status)).toEqual(['cancelled', 'cancelled']);
    // On the exchange: exactly the new targets (and the resized stop), no duplicates.
    const onExchange = await gateway.openOrders(PERP);
    const ids = (leg: string) => legs.find((o) => o.leg === leg)!.clientOrderId;
    expect(onExchange.map((o) => o.clientOrderId).sort()).toEqual([ids('s1'), ids('t0v1'), ids('t1v1')].sort());
    expect(onExchange.filter((o) => o.type === 'take-profit').map((o) => o.quantity)).toEqual([1, 1]);

    // A quiet cycle changes nothing.
    await world.cycle();
    expect((await liveTargets(world, account.id)).map((o) => o.leg)).toEqual(['t0v1', 't1v1']);

    world.sim.setPrice(SYMBOL, 105, 'both');
    await world.cycle();
    world.sim.setPrice(SYMBOL, 110, 'both');
    await world.cycle();
    const [closed] = await world.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'take-profit', takeProfitsHit: 2, quantity: 0 });
    // Entries as makers (resting limits), exits as takers (triggered).
    const expected = 105 + 110 - (99 + 97) - (99 + 97) * FEES.maker - (105 + 110) * FEES.taker;
    expect(closed!.realizedPnl).toBeCloseTo(expected, 6);
    const hits = (await world.feedRows(account.id))
      .map((row) => row.payload as { kind?: string; target?: number | null })
      .filter((e) => e.kind === 'take-profit-hit')
      .map((e) => e.target);
    expect(hits).toEqual([1, 2]);
    expect(await gateway.openOrders(PERP)).toEqual([]);
    expect(world.sim.positions(world.apiKeyOf(account))).toEqual([]);
  });

  it('futures: old exits whose cancel went unanswered are cancelled the next cycle', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await world.signal(twoEntries);
    await world.cycle();
    world.sim.setPrice(SYMBOL, 99, 'both');
    await world.cycle();
    // Every cancel of this cycle fails: the new stop and targets rest beside the old ones.
    const fault = world.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/algoOrder', method: 'DELETE', count: 100 });
    world.sim.setPrice(SYMBOL, 97, 'both');
    await world.cycle();
    expect(sorted((await world.orderRows(account.id)).filter((o) => o.leg !== 'e0' && o.leg !== 'e1'))).toEqual([
      ['s0', 'open'],
      ['s1', 'open'],
      ['t0', 'open'],
      ['t0v1', 'open'],
      ['t1', 'open'],
      ['t1v1', 'open'],
    ]);

    expect(world.sim.faults.find((f) => f.id === fault)?.fired).toBeGreaterThan(0);
    world.sim.clearFaults();
    await world.cycle();
    const legs = await world.orderRows(account.id);
    expect(sorted(legs.filter((o) => o.leg !== 'e0' && o.leg !== 'e1'))).toEqual([
      ['s0', 'cancelled'],
      ['s1', 'open'],
      ['t0', 'cancelled'],
      ['t0v1', 'open'],
      ['t1', 'cancelled'],
      ['t1v1', 'open'],
    ]);
    const ids = (leg: string) => legs.find((o) => o.leg === leg)!.clientOrderId;
    expect((await world.provider.forAccount(account).openOrders(PERP)).map((o) => o.clientOrderId).sort()).toEqual(
      [ids('s1'), ids('t0v1'), ids('t1v1')].sort(),
    );
  });

  it('spot: old targets cancelled before the new ones lock the coin; the new split is what is held', { timeout: 90_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await world.signal(twoEntries);
    await world.cycle();
    world.sim.setPrice(SYMBOL, 99, 'both');
    await world.cycle();
    // 1 LINK as maker, 0.0002 LINK of fee: 0.9998 held → 0.99 sellable.
    expect((await liveTargets(world, account.id)).map((o) => [o.leg, o.quantity])).toEqual([
      ['t0', 0.5],
      ['t1', 0.49],
    ]);

    world.sim.setPrice(SYMBOL, 97, 'both');
    await world.cycle();
    // 2 LINK less 0.0004 LINK of fees: 1.9996 held → 1.99 sellable.
    const live = await liveTargets(world, account.id);
    expect(live.map((o) => [o.leg, o.quantity, o.price])).toEqual([
      ['t0v1', 1, 105],
      ['t1v1', 0.99, 110],
    ]);
    const link = world.sim.balances(world.apiKeyOf(account)).spot['LINK']!;
    expect(link.locked).toBeCloseTo(1.99, 8);
    expect((await world.provider.forAccount(account).openOrders('LINK/USDT')).map((o) => o.quantity).sort()).toEqual([0.99, 1]);
    expect(world.sim.requestLog.filter((entry) => entry.code === -2010)).toEqual([]);

    world.sim.setPrice(SYMBOL, 110, 'both');
    await world.cycle();
    const [closed] = await world.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'take-profit', takeProfitsHit: 2 });
    const exits = 105 + 0.99 * 110;
    const expected = exits - 1.99 * 98 - (99 + 97) * FEES.maker - exits * FEES.maker;
    expect(closed!.realizedPnl).toBeCloseTo(expected, 6);
  });
});

describe('spot: the engine watches the stop', () => {
  it('price through the stop → take-profits cancelled, the rest sold at market, position closed', { timeout: 90_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    await world.signal({ symbol: 'LINK/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 95, takeProfits: [105], leverage: 1 });
    await world.cycle();
    const [opened] = await world.positionRows(account.id);
    expect(opened).toMatchObject({ status: 'open', quantity: 2 });
    world.sim.setPrice(SYMBOL, 94.5, 'both');
    await world.cycle();
    const [closed] = await world.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'stop-loss' });
    const legs = await world.orderRows(account.id);
    // The target was sized net of the buy's fee in LINK, so it rested (and was cancelled), never refused.
    expect(legs.find((leg) => leg.leg === 't0')).toMatchObject({ status: 'cancelled', quantity: 1.99 });
    expect(legs.find((leg) => leg.leg === 'c0')).toMatchObject({ status: 'filled', side: 'sell', type: 'market' });
    expect(closed!.realizedPnl).toBeLessThan(-10);
    expect(await world.provider.forAccount(account).openOrders('LINK/USDT')).toEqual([]);
  });
});
