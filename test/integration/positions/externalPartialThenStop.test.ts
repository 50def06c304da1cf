import { afterEach, describe, expect, it } from 'vitest';
import { binanceClient } from '../../sim/binance/testkit';
import { FEES, positionsWorld, SYMBOL, type PositionsWorld } from './support';

/**
 * The member sells half of the position by hand, then the stop (a Binance algo order) closes the rest.
 * The stop's trades name the order it placed when it triggered (actualOrderId), not the algo id the
 * bot knows: the close outside the bot must be priced from the member's sale, never from the stop's
 * own fill counted a second time.
 */
let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a position sold partly by hand, then stopped out', () => {
  it("books the hand sale at its price and the stop's fill once", { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    await w.signal();
    await w.cycle();
    expect(await w.positionRows(account.id)).toMatchObject([{ status: 'open', quantity: 2 }]);

    // The member's app, on the same key: sells 1 at 102 (signed on the simulator's clock).
    const secret = w.vault.decrypt(account.secretEnc!, { accountId: account.id, ownerId: account.ownerId, field: 'secret' }).reveal();
    const app = binanceClient(w.sim.fetchImplementation, w.apiKeyOf(account), secret, 'swap');
    const onSimClock = async <T>(request: () => Promise<T>): Promise<T> => {
      app.options['timeDifference'] = Date.now() - w.clock.now();
      return request();
    };
    await onSimClock(() => app.loadMarkets());
    w.sim.setPrice(SYMBOL, 102, 'both');
    await onSimClock(() => app.createOrder('LINK/USDT:USDT', 'market', 'sell', 1, undefined, { reduceOnly: true }));
    // Then the stop (95) closes what is left, before the bot looks.
    w.sim.setPrice(SYMBOL, 94, 'both');
    expect(w.sim.positions(w.apiKeyOf(account)).filter((p) => p.amt !== 0)).toEqual([]);

    await w.cycle();
    const [closed] = await w.positionRows(account.id);
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'external' });
    // Bought 2 at 100; sold 1 at 102 by hand and 1 at 94 by the stop; taker fees on every fill.
    const fees = (200 + 102 + 94) * FEES.taker;
    expect(closed!.realizedPnl).toBeCloseTo(2 - 6 - fees, 6);
  });
});
