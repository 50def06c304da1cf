import { afterEach, describe, expect, it } from 'vitest';
import { positionsWorld, SYMBOL, type PositionsWorld } from './support';

/**
 * Take-profits that trigger and fill at once while Binance does not show the orders they placed yet
 * (a fresh order's lookup answers "does not exist" for a while): the exchange is flat, the legs' fills
 * are unknown. A lookup that cannot see the fill is no answer: the position is not judged closed
 * outside the bot (no false "closed outside" message to the owner); once the orders show, it is
 * booked as closed by its take-profits.
 */
let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('triggered exits whose orders the exchange does not show yet', () => {
  it('are not taken for a close outside the bot; the position is booked by its take-profits', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    await w.signal();
    await w.cycle();
    expect(await w.positionRows(account.id)).toMatchObject([{ status: 'open', quantity: 2 }]);

    // Both targets (105, 110) trigger at once; the orders they place are denied for 60 s.
    w.sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 60_000 });
    w.sim.setPrice(SYMBOL, 111, 'both');
    await w.cycle();
    expect(w.sim.positions(w.apiKeyOf(account)).filter((p) => p.amt !== 0)).toEqual([]);
    const [meanwhile] = await w.positionRows(account.id);
    expect(meanwhile!.closeReason).not.toBe('external');

    w.sim.clearFaults();
    await w.cycle();
    const [closed] = await w.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'take-profit' });
    const notices = (await w.feedRows(account.id)).map((row) => (row.payload as { kind?: string }).kind);
    expect(notices).not.toContain('closed-externally');
  });
});
