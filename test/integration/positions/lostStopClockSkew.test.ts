/**
 * A lost stop's replacement waits its grace on the exchange's clock, the one the send stamp is on: a
 * host clock 65 s behind Binance's (a supported skew, clockSkew.test.ts) must not add a minute
 * without a stop. (Found by a review: the grace was counted on the host's clock.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import type { TradeSignal } from '../../../src/domain/signal';
import { createPositionSync } from '../../../src/trading/positionSync';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const LINK: TradeSignal = {
  symbol: 'LINK/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 95,
  takeProfits: [],
  leverage: 1,
};

const restingStops = (w: TradingWorld, account: AccountRow) =>
  w.sim
    .orders(w.apiKeyOf(account))
    .algo.filter((o) => o.orderType === 'STOP_MARKET' && o.algoStatus === 'NEW');

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
      w.sim.setPrice('LINKUSDT', 100, 'both');
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      // The app's position sync settings (lostExitGraceMs 2 s).
      const sync = createPositionSync({ db: w.db.db, gateways: w.gateways, clock: w.clock, log: w.log });
      const engine = w.engine({ maxSignalLagMs: 60 * 60_000, balanceMaxAgeMs: 60 * 60_000 });
      await engine.start();
      // The entry's stop request fails with a 503 (never processed): its outcome is unknown.
      w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/algoOrder', method: 'POST', count: 1 });
      await w.intake.submit({
        guildId: GUILD,
        source: 'command',
        sourceRef: 'skew',
        authorId: '200000000000099999',
        channelId: null,
        signal: LINK,
      });
      await engine.runCycle();
      expect(w.sim.positions(w.apiKeyOf(account))).toHaveLength(1);
      expect(restingStops(w, account)).toHaveLength(0);
      const lostAt = w.clock.now();
      // The position sync visits every second (an unprotected account is urgent) for up to 90 s of host time.
      let protectedAfterMs: number | null = null;
      while (w.clock.now() - lostAt < 90_000) {
        await w.clock.sleep(1_000);
        await sync.run();
        if (restingStops(w, account).length > 0) {
          protectedAfterMs = w.clock.now() - lostAt;
          break;
        }
      }
      expect(
        protectedAfterMs,
        'ms of host time without any stop after the lost stop (null: none after 90 s)',
      ).toBeLessThan(10_000);
    },
  );
});
