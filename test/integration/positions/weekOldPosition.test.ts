import { afterEach, describe, expect, it } from 'vitest';
import { FEES, positionsWorld, SYMBOL, type PositionsWorld } from './support';

/**
 * Positions that end more than a week after they opened: Binance answers trade history seven days at
 * a time, and a triggered stop fills through the order it placed (actualOrderId), not the algo id.
 * Both must still give the close its real price and fees.
 */
let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const EIGHT_DAYS = 8 * 24 * 3_600_000;

describe('a position closed eight days after it opened', () => {
  it('by its stop: booked as a stop at the fill price, with the fees of the order the stop placed', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    await world.signal();
    await world.cycle();
    expect(await world.positionRows(account.id)).toMatchObject([{ status: 'open', quantity: 2 }]);

    world.clock.advance(EIGHT_DAYS);
    world.sim.setPrice(SYMBOL, 94, 'both');
    await world.cycle();
    const [closed] = await world.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'stop-loss' });
    // 2 bought at 100, sold at 94 by the triggered stop; taker fees on both legs.
    const fees = (200 + 188) * FEES.taker;
    expect(closed!.fees).toBeCloseTo(fees, 6);
    expect(closed!.realizedPnl).toBeCloseTo(-12 - fees, 6);
    expect(closed!.closedAt!.getTime() - closed!.openedAt.getTime()).toBeGreaterThanOrEqual(EIGHT_DAYS);
  });

  it("outside the bot: priced from that day's trade, not from the price when the bot noticed", { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const account = await world.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    await world.signal();
    await world.cycle();

    world.clock.advance(EIGHT_DAYS);
    world.sim.setPrice(SYMBOL, 102, 'both');
    world.sim.closePositionExternally(world.apiKeyOf(account), SYMBOL);
    // The market moves on before the bot looks: the close's own trade says 102.
    world.sim.setPrice(SYMBOL, 101, 'both');
    await world.cycle();
    const [closed] = await world.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'external' });
    expect(closed!.realizedPnl).toBeCloseTo(4 - (200 + 204) * FEES.taker, 6);
  });
});
