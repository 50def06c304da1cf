import { afterEach, describe, expect, it } from 'vitest';
import type { TradeSignal } from '../../../src/domain/signal';
import { FEES, positionsWorld, SYMBOL, type PositionsWorld } from './support';

let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const spotLong: TradeSignal = {
  symbol: 'LINK/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 95,
  takeProfits: [105, 110],
  leverage: 1,
};
const PAIR = 'LINK/USDT';

/** The member's LINK on the simulator, free and locked in resting sells. */
const linkHeld = (w: PositionsWorld, apiKey: string) => {
  const link = w.sim.balances(apiKey).spot['LINK'];
  return (link?.free ?? 0) + (link?.locked ?? 0);
};

describe('spot take-profits sized net of the fee charged in the coin', () => {
  it('a market long with its buy fee in LINK: targets within the held balance, both fill, closed with its PnL', { timeout: 90_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    const apiKey = world.apiKeyOf(account);
    await world.signal(spotLong);
    await world.cycle();

    // 2 LINK bought as taker: 0.0008 LINK of fee leaves 1.9992, of which 1.99 is sellable at step 0.01.
    const [opened] = await world.positionRows(account.id);
    expect(opened).toMatchObject({ status: 'open', quantity: 2 });
    const held = linkHeld(world, apiKey);
    expect(held).toBeCloseTo(2 - 2 * FEES.taker, 8);
    const legs = await world.orderRows(account.id);
    const targets = legs.filter((o) => o.leg.startsWith('t'));
    expect(targets.map((o) => [o.leg, o.status, o.quantity])).toEqual([
      ['t0', 'open', 1],
      ['t1', 'open', 0.99],
    ]);
    expect(targets.reduce((sum, o) => sum + o.quantity, 0)).toBeLessThanOrEqual(held);
    const resting = await world.provider.forAccount(account).openOrders(PAIR);
    expect(resting.map((o) => o.quantity).sort()).toEqual([0.99, 1]);

    world.sim.setPrice(SYMBOL, 105, 'both');
    await world.cycle();
    world.sim.setPrice(SYMBOL, 110, 'both');
    await world.cycle();

    // What is left (0.0092 LINK) is dust no order can sell: the last target closes the position.
    const [closed] = await world.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'take-profit', takeProfitsHit: 2 });
    const final = await world.orderRows(account.id);
    expect(final.map((o) => [o.leg, o.status])).toEqual([
      ['e0', 'filled'],
      ['t0', 'filled'],
      ['t1', 'filled'],
    ]);
    expect(world.sim.requestLog.filter((entry) => entry.code === -2010)).toEqual([]);
    expect(await world.provider.forAccount(account).openOrders(PAIR)).toEqual([]);
    expect(linkHeld(world, apiKey)).toBeCloseTo(2 - 2 * FEES.taker - 1.99, 8);
    // Entry fee in LINK valued at the fill (0.0008 × 100); the resting targets fill as makers.
    const exits = 1 * 105 + 0.99 * 110;
    const expected = exits - 1.99 * 100 - 0.0008 * 100 - exits * FEES.maker;
    expect(closed!.realizedPnl).toBeCloseTo(expected, 6);
  });

  it('a limit entry filled later: the sync sizes its targets from what the maker fill left', { timeout: 90_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    const apiKey = world.apiKeyOf(account);
    await world.signal({ ...spotLong, entryType: 'limit', entries: [98] });
    await world.cycle();
    expect((await world.orderRows(account.id)).map((o) => [o.leg, o.status])).toEqual([['e0', 'open']]);

    world.sim.setPrice(SYMBOL, 98, 'both');
    await world.cycle();
    // 2 LINK as maker: 0.0004 LINK of fee, 1.9996 held, 1.99 sellable.
    const held = linkHeld(world, apiKey);
    expect(held).toBeCloseTo(2 - 2 * FEES.maker, 8);
    const targets = (await world.orderRows(account.id)).filter((o) => o.leg.startsWith('t'));
    expect(targets.map((o) => [o.leg, o.status, o.quantity])).toEqual([
      ['t0', 'open', 1],
      ['t1', 'open', 0.99],
    ]);

    world.sim.setPrice(SYMBOL, 110, 'both');
    await world.cycle();
    const [closed] = await world.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'take-profit', takeProfitsHit: 2 });
    expect((await world.orderRows(account.id)).every((o) => o.status === 'filled')).toBe(true);
    expect(world.sim.requestLog.filter((entry) => entry.code === -2010)).toEqual([]);
    const exits = 1 * 105 + 0.99 * 110;
    const expected = exits - 1.99 * 98 - 2 * FEES.maker * 98 - exits * FEES.maker;
    expect(closed!.realizedPnl).toBeCloseTo(expected, 6);
  });
});
