import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { guildsRepository } from '../../../src/db/repositories/guilds';
import { executions, signals } from '../../../src/db/schema';
import { createStrategy } from '../../../src/strategy';
import { flatSeries, HOUR, scriptedSeries, SIGNAL_CANDLE } from '../../support/strategySeries';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

const OTHER_GUILD = '100000000000000002';
const SCALE = 340;

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('built-in strategy on the Binance simulator', { timeout: 120_000 }, () => {
  it('queues the expected signal at the expected candle, fetching candles once per symbol for every server and account', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const T0 = Date.UTC(2026, 0, 6);
    const series = scriptedSeries(T0, SCALE);
    w.sim.setKlines('BTCUSDT', series, 'spot');
    w.sim.setKlines('ETHUSDT', flatSeries(T0, series.length, 3_000), 'spot');

    // Two servers watch the same symbols; three opted-in accounts in one, two in the other, one not opted in.
    const guilds = guildsRepository(w.db.db);
    for (const guildId of [GUILD, OTHER_GUILD]) {
      await guilds.update(guildId, { strategyEnabled: true, strategyWatchlist: ['BTC/USDT', 'ETH/USDT'], strategyTimeframe: '1h' });
    }
    const optedIn = [
      ...(await Promise.all([1, 2, 3].map(() => w.addAccount({ strategyOptIn: true })))),
      ...(await Promise.all([1, 2].map(() => w.addAccount({ strategyOptIn: true, guildId: OTHER_GUILD })))),
    ];
    const notOptedIn = await w.addAccount({ strategyOptIn: false });

    const strategy = createStrategy({
      store: createStore(w.db.db),
      intake: w.intake,
      candles: (symbol, timeframe, limit) => w.gateways.publicCandles('binance', 'spot', symbol, timeframe, limit),
      clock: w.clock,
      log: w.log,
    });

    const klineRequests = () => w.sim.requestLog.filter((entry) => entry.path === '/api/v3/klines');
    const queuedAt: number[] = [];
    for (let k = 60; k < series.length - 1; k += 1) {
      // A minute into candle k + 1: candle k has just closed.
      w.clock.set(T0 + (k + 1) * HOUR + 60_000);
      const before = klineRequests().length;
      const report = await strategy.tick();
      expect(report.fetched).toBe(2);
      expect(klineRequests().length - before).toBe(2);
      // A second tick within the same candle does nothing and fetches nothing.
      expect(await strategy.tick()).toMatchObject({ guilds: 0, fetched: 0, queued: [] });
      if (report.queued.length > 0) {
        queuedAt.push(k);
        expect(report.queued).toEqual([
          { guildId: GUILD, symbol: 'BTC/USDT', side: 'long', candleTime: T0 + SIGNAL_CANDLE * HOUR },
          { guildId: OTHER_GUILD, symbol: 'BTC/USDT', side: 'long', candleTime: T0 + SIGNAL_CANDLE * HOUR },
        ]);
        break;
      }
    }
    expect(queuedAt).toEqual([SIGNAL_CANDLE]);

    const rows = await w.db.db.select().from(signals).where(eq(signals.source, 'strategy'));
    expect(rows.map((row) => row.sourceRef).sort()).toEqual(
      [`${GUILD}:BTC/USDT:${T0 + SIGNAL_CANDLE * HOUR}`, `${OTHER_GUILD}:BTC/USDT:${T0 + SIGNAL_CANDLE * HOUR}`].sort(),
    );
    const close = series[SIGNAL_CANDLE]!.close;
    for (const row of rows) {
      expect(row.entryType).toBe('market');
      expect(row.stopLoss).toBeLessThan(close);
      expect(row.takeProfits).toHaveLength(2);
      expect(row.takeProfits[0]!).toBeGreaterThan(close);
    }

    // The engine trades it on opted-in accounts only.
    w.sim.setPrice('BTCUSDT', close, 'both');
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
    await engine.start();
    await engine.runCycle();
    const done = await w.db.db.select().from(executions);
    expect(done.map((row) => row.accountId).sort()).toEqual(optedIn.map((a) => a.id).sort());
    expect(done.every((row) => row.status === 'placed')).toBe(true);
    expect(done.some((row) => row.accountId === notOptedIn.id)).toBe(false);
  });
});
