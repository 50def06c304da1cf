import { afterEach, describe, expect, it } from 'vitest';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, copyRig, positionOf } from './support';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const DAY = 86_400_000;

describe("Binance's trade history windows (issue #13 item 9)", { timeout: 120_000 }, () => {
  it("a master's first trade on a symbol, eight days after he became a master, is copied", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [follower]);
    w.clock.advance(8 * DAY);
    await byHand(w, master, 'buy', 0.01);
    await step();
    expect(await positionOf(w, follower)).toBeCloseTo(0.01, 9);
    // The next fills page on by trade id, whatever the window.
    await byHand(w, master, 'sell', 0.01);
    await step();
    expect(await positionOf(w, follower)).toBe(0);
  });

  it('the reader walks back week by week to the newest trades, and never asks past 6 months', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const account = await w.addAccount({ funds: 100_000 });
    const start = w.clock.now();
    await byHand(w, account, 'buy', 0.01);
    w.clock.advance(20 * DAY);
    await byHand(w, account, 'sell', 0.004);
    w.clock.advance(3 * DAY);
    const gateway = w.gateways.forAccount(account);
    const oldest = await gateway.tradesSince('BTC/USDT:USDT', { sinceMs: start - 60_000 });
    const newest = await gateway.tradesSince('BTC/USDT:USDT', { sinceMs: start - 60_000, from: 'newest' });
    expect(oldest.map((t) => [t.side, t.quantity])).toEqual([['buy', 0.01], ['sell', 0.004]]);
    expect(newest.map((t) => [t.side, t.quantity])).toEqual([['buy', 0.01], ['sell', 0.004]]);
    const calls = w.sim.requestLog.filter((r) => r.path === '/fapi/v1/userTrades');
    expect(calls.every((r) => r.status === 200)).toBe(true);
    // 23 days: four windows each way.
    expect(calls).toHaveLength(8);
    // Seven months later only the last 6 months are asked for (nothing older is kept).
    w.clock.advance(200 * DAY);
    const before = w.sim.requestLog.filter((r) => r.path === '/fapi/v1/userTrades').length;
    expect(await gateway.tradesSince('BTC/USDT:USDT', { sinceMs: start - 60_000 })).toEqual([]);
    expect(w.sim.requestLog.filter((r) => r.path === '/fapi/v1/userTrades').length - before).toBeLessThanOrEqual(26);
  });

  it('a week holding more than one page of trades: the newest are read on by id, so the latest exit is never missed', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const account = await w.addAccount({ funds: 1_000_000 });
    const start = w.clock.now();
    // A thin book: each 0.3 BTC market order is 300 trades.
    w.sim.setMarketSweep(300);
    for (const side of ['buy', 'buy', 'sell', 'sell'] as const) await byHand(w, account, side, side === 'buy' ? 0.3 : 0.29);
    w.sim.setMarketSweep(1);
    await byHand(w, account, 'sell', 0.01);
    expect(w.sim.trades(w.apiKeyOf(account)).futures.length).toBeGreaterThan(1_000);
    const newest = await w.gateways.forAccount(account).tradesSince('BTC/USDT:USDT', { sinceMs: start - 60_000, from: 'newest' });
    expect(newest).toHaveLength(1_000);
    expect(newest.at(-1)).toMatchObject({ side: 'sell', quantity: 0.01 });
  });
});
