/**
 * A lost stop's replacement waits its grace on the exchange's clock, the one the send stamp is on: a
 * host clock 65 s behind Binance's (a supported skew, clockSkew.test.ts) must not add a minute
 * without a stop. (Found by a review: the grace was counted on the host's clock.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { linkPosition, msUntilProtected, restingStops } from './linkPosition';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe.each([
  ['in step with Binance', 0],
  ['65 s behind Binance (a supported skew, see clockSkew.test.ts)', 65_000],
])('a futures stop whose answer was lost, the host clock %s', (_label, simClockOffsetMs) => {
  it(
    'gets a replacement stop within a few seconds (app default lostExitGraceMs = 2 s)',
    { timeout: 120_000 },
    async () => {
      world = await tradingWorld({ accounts: 0, simClockOffsetMs, clockFactor: 10 });
      const w = world;
      // The entry's stop request fails with a 503 (never processed): its outcome is unknown.
      const lostStop = () =>
        void w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/algoOrder', method: 'POST', count: 1 });
      const { account, sync } = await linkPosition(w, {
        sizingValue: 196,
        takeProfits: [],
        ref: 'skew',
        beforeEntry: lostStop,
      });
      expect(w.sim.positions(w.apiKeyOf(account))).toHaveLength(1);
      expect(restingStops(w, account)).toHaveLength(0);
      // The position sync visits every second (an unprotected account is urgent) for up to 90 s of host time.
      const protectedAfterMs = await msUntilProtected(
        w,
        sync,
        () => restingStops(w, account).length > 0,
        90_000,
      );
      expect(
        protectedAfterMs,
        'ms of host time without any stop after the lost stop (null: none after 90 s)',
      ).toBeLessThan(10_000);
    },
  );
});
