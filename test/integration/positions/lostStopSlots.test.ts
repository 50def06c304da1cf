/**
 * Every stop version whose answer was lost counts toward Binance's 10 conditional orders per symbol
 * until it is proven absent (it may exist). With 8 target legs, two lost stop answers in a row fill
 * the 10: the farthest target gives way so the stop can go at once (found by a review: the position
 * waited 64 s, the lookup window, for a stop).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { orders } from '../../../src/db/schema';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { legsOf, linkPosition, msUntilProtected, restingStops } from './linkPosition';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe.each([
  ['2 targets', [105, 110]],
  ['9 targets', [101, 102, 103, 104, 105, 106, 107, 108, 109]],
])('a futures position with %s whose stop answers are lost twice in a row', (_label, takeProfits) => {
  it(
    'has a resting stop again within a few seconds (app default lostExitGraceMs = 2 s)',
    { timeout: 180_000 },
    async () => {
      world = await tradingWorld({ accounts: 0, clockFactor: 10 });
      const w = world;
      const { account, sync } = await linkPosition(w, { sizingValue: 1_000, takeProfits, ref: 'slots' });
      await sync.run(); // targets placed, a stop rests
      expect(restingStops(w, account)).toHaveLength(1);
      // The stop is cancelled in the app; its replacement's request, and the next one's, fail with a 503
      // (never processed): two lost answers in a row.
      const s0 = (await w.db.db.select().from(orders).where(eq(orders.accountId, account.id))).find(
        (r) => r.leg === 's0',
      )!;
      await w.gateways.forAccount(account).cancelOrder(s0.symbol, s0.clientOrderId);
      w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/algoOrder', method: 'POST', count: 2 });
      const protectedAfterMs = await msUntilProtected(
        w,
        sync,
        () => restingStops(w, account).length > 0,
        90_000,
      );
      const fired = w.sim.faults.reduce((n, f) => n + f.fired, 0);
      expect(fired).toBe(2);
      const legs = await legsOf(w, account);
      expect({ protectedAfterMs, legs }).toMatchObject({ protectedAfterMs: expect.any(Number) });
      expect(protectedAfterMs, `ms without any stop; legs ${JSON.stringify(legs)}`).toBeLessThan(15_000);
    },
  );
});
