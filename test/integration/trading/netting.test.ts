import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { executions, feedOutbox, signals } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { createPositionSync } from '../../../src/trading/positionSync';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

/**
 * One-way futures accounts hold one net position per symbol. Invariant: the bot never sends an order
 * that nets against a position (or working entry) of its own the other way; the signal is refused
 * for that account with the reason in the summary, and what is open stays as it was.
 */

const long: TradeSignal = { symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 48_000, takeProfits: [53_000], leverage: 2 };
const short: TradeSignal = { symbol: 'BTC/USDT', side: 'short', entryType: 'market', entries: [], stopLoss: 52_000, takeProfits: [47_000], leverage: 2 };

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});



async function engineWithSync(w: TradingWorld) {
  const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
  engine.addCycleStep('positions', createPositionSync({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log }).run);
  await engine.start();
  return engine;
}

describe('opposite signals on one account', () => {
  it('one-way: a short against an open long is refused with its reason; the long stays whole and protected', { timeout: 60_000 }, async () => {
    world = await tradingWorld({ accounts: 1 });
    const w = world;
    const engine = await engineWithSync(w);
    await w.submit(long, 'long-1');
    await engine.runCycle();
    const before = w.sim.positions(w.apiKeyOf(w.accounts[0]!)).filter((p) => p.amt !== 0);
    expect(before).toHaveLength(1);

    const shortId = await w.submit(short, 'short-1');
    await engine.runCycle();
    const [execution] = await w.db.db.select().from(executions).where(eq(executions.signalId, shortId));
    expect(execution).toMatchObject({ status: 'skipped', reason: 'opposite-position-open' });
    expect(w.sim.positions(w.apiKeyOf(w.accounts[0]!)).filter((p) => p.amt !== 0)).toEqual(before);
    // Only the long's orders reached the exchange.
    expect(w.sim.orders(w.apiKeyOf(w.accounts[0]!)).futures).toHaveLength(1);
    const summary = (await w.db.db.select().from(feedOutbox).where(eq(feedOutbox.signalId, shortId))).find((row) => row.kind === 'summary');
    expect(summary?.payload).toMatchObject({ skipped: [expect.objectContaining({ reason: 'opposite-position-open' })] });
  });

  it('a second long on the same symbol is refused: its stop would also reduce the first one', { timeout: 60_000 }, async () => {
    world = await tradingWorld({ accounts: 1 });
    const w = world;
    const engine = await engineWithSync(w);
    await w.submit(long, 'long-a');
    await engine.runCycle();
    const secondId = await w.submit({ ...long, stopLoss: 47_000 }, 'long-b');
    await engine.runCycle();
    const [second] = await w.db.db.select().from(executions).where(eq(executions.signalId, secondId));
    expect(second).toMatchObject({ status: 'skipped', reason: 'position-open-on-symbol' });
    // The exchange position is the first signal's alone, and so is every exit resting on it.
    const held = w.sim.positions(w.apiKeyOf(w.accounts[0]!)).reduce((sum, p) => sum + p.amt, 0);
    const stops = w.sim.orders(w.apiKeyOf(w.accounts[0]!)).algo.filter((a) => a.orderType === 'STOP_MARKET' && a.algoStatus === 'NEW');
    expect(stops).toHaveLength(1);
    expect(stops[0]!.quantity).toBe(held);
  });

  it('one-way: of two opposite signals in one cycle only the first trades', { timeout: 60_000 }, async () => {
    world = await tradingWorld({ accounts: 1 });
    const w = world;
    const engine = await engineWithSync(w);
    await w.submit(long, 'long-2');
    w.clock.advance(1_000);
    await w.submit(short, 'short-2');
    await engine.runCycle();
    const outcomes = await w.db.db
      .select({ side: signals.side, status: executions.status, reason: executions.reason })
      .from(executions)
      .innerJoin(signals, eq(signals.id, executions.signalId));
    expect(outcomes.filter((row) => row.status === 'placed')).toHaveLength(1);
    expect(outcomes.filter((row) => row.reason === 'opposite-position-open')).toHaveLength(1);
    expect(w.sim.orders(w.apiKeyOf(w.accounts[0]!)).futures).toHaveLength(1);
  });

  it('hedge mode keeps both sides apart: both trade', { timeout: 60_000 }, async () => {
    world = await tradingWorld({ accounts: 0 });
    const w = world;
    w.accounts.push(await w.addAccount({ hedgeMode: true, positionMode: 'hedge' }));
    const engine = await engineWithSync(w);
    await w.submit(long, 'long-3');
    await engine.runCycle();
    await w.submit(short, 'short-3');
    await engine.runCycle();
    const rows = await w.db.db.select().from(executions);
    expect(rows.map((row) => row.status)).toEqual(['placed', 'placed']);
    expect(w.sim.positions(w.apiKeyOf(w.accounts[0]!)).filter((p) => p.amt !== 0)).toHaveLength(2);
  });
});
