/**
 * A take-profit that gave way to a missing stop (room-for-stop) stays away while no stop rests: it
 * must not take the freed slot back while the stop's retry waits its second, and the stop goes into
 * it (found by a review: the target came back and was cancelled again, version after version).
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

describe('a futures position with 9 targets, two lost stop answers, then a passing refusal of the stop', () => {
  it(
    "the target that gave way does not come back into the stop's slot while no stop rests (no ping-pong)",
    { timeout: 180_000 },
    async () => {
      world = await tradingWorld({ accounts: 0, clockFactor: 10 });
      const w = world;
      const takeProfits = [101, 102, 103, 104, 105, 106, 107, 108, 109];
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
      // The third stop version is refused for a passing reason (-4045, as the exchange may answer while lost versions are unaccounted): retried after 1 s.
      w.sim.inject({
        kind: 'error',
        path: '/fapi/v1/algoOrder',
        method: 'POST',
        status: 400,
        code: -4045,
        msg: 'Reach max stop order limit.',
        count: 1,
      });
      const protectedAfterMs = await msUntilProtected(
        w,
        sync,
        () => restingStops(w, account).length > 0,
        90_000,
      );
      const fired = w.sim.faults.reduce((n, f) => n + f.fired, 0);
      expect(fired).toBe(3);
      // Legs of the farthest target: it gave way once; no new version was placed and cancelled again before the stop rested.
      const legs = await legsOf(w, account);
      const t7 = legs.filter((l) => l.startsWith('t7'));
      expect(t7, JSON.stringify(legs)).toEqual(['t7:cancelled']);
      expect({ protectedAfterMs, legs }).toMatchObject({ protectedAfterMs: expect.any(Number) });
      // Issue #11's bound on a position without a stop. Simulated time runs 10× the wall clock, so a
      // loaded CI machine stretches it (15 s was seen to fail once at 18 s with every step correct).
      expect(protectedAfterMs, `ms without any stop; legs ${JSON.stringify(legs)}`).toBeLessThan(30_000);
    },
  );
});
