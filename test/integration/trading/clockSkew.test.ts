/**
 * The bot's host clock is off from Binance's. Binance refuses a signed request stamped 1 s or more
 * ahead of its clock, or older than recvWindow (-1021), so without a correction every signed call
 * fails. The gateway measures the offset to the exchange's clock and signs with the exchange's time;
 * the engine keeps its own clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { executions, orders } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

const signal: TradeSignal = {
  symbol: 'BTC/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 48_000,
  takeProfits: [52_000, 54_000],
  leverage: 5,
};

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function runSignal(w: TradingWorld): Promise<void> {
  const engine = w.engine({ maxSignalLagMs: 30 * 60_000 });
  await engine.start();
  const queued = await w.intake.submit({
    guildId: GUILD,
    source: 'command',
    sourceRef: 'clock-skew',
    authorId: '200000000000099999',
    channelId: null,
    signal,
  });
  expect(queued.kind).toBe('queued');
  await engine.runCycle();
}

describe('host clock off from the exchange', () => {
  it.each([
    // The host 2.5 s ahead: every timestamp would be "1000ms ahead of the server's time".
    ['2.5 s ahead of Binance', -2_500],
    // The host 65 s behind, more than the 60 s recvWindow: every request "outside of the recvWindow".
    ['65 s behind Binance (more than recvWindow)', 65_000],
  ])('executes signals with entries, stops and take-profits when the host is %s', async (_label, simClockOffsetMs) => {
    // Real time (factor 1): the measured offset is then off by a real network leg, milliseconds.
    world = await tradingWorld({ accounts: 2, simClockOffsetMs, clockFactor: 1 });
    await runSignal(world);

    const rows = await world.db.db.select().from(executions);
    expect(rows.map((row) => [row.status, row.reason])).toEqual([
      ['placed', null],
      ['placed', null],
    ]);
    const legs = await world.db.db.select().from(orders);
    expect(legs.map((leg) => `${leg.leg}:${leg.status}`).sort()).toEqual(
      ['e0:filled', 'e0:filled', 's0:open', 's0:open', 't0:open', 't0:open', 't1:open', 't1:open'],
    );
    // Nothing was refused for its timestamp: the offset was measured before the first signed request.
    expect(world.sim.requestLog.filter((entry) => entry.code === -1021)).toEqual([]);
    // The gateway tells the exchange's time (the simulator's clock), not the host's; never ahead of it.
    const gateway = world.gateways.forAccount(world.accounts[0]!);
    const estimate = gateway.exchangeNow();
    const exchange = world.sim.now();
    expect(estimate).toBeLessThanOrEqual(exchange);
    expect(exchange - estimate).toBeLessThan(1_000);
  });
});
