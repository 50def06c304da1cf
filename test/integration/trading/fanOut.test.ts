import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { executions, feedOutbox, signals } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { defaultEngineSettings, TradingEngine } from '../../../src/trading/engine';
import { databaseKinds } from '../../support/db';
import { failingInserts } from '../../support/faultyDatabase';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

const ACCOUNTS = 3;
const marketShort: TradeSignal = {
  symbol: 'ETH/USDT',
  side: 'short',
  entryType: 'market',
  entries: [],
  stopLoss: 3_300,
  takeProfits: [2_800],
  leverage: 3,
};

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const submit = (w: TradingWorld, sourceRef: string) =>
  w.intake.submit({ guildId: GUILD, source: 'command', sourceRef, authorId: '200000000000099999', channelId: null, signal: marketShort });

async function stateOf(w: TradingWorld, signalId: string) {
  const [signal] = await w.db.db.select().from(signals).where(eq(signals.id, signalId));
  const rows = await w.db.db.select().from(executions).where(eq(executions.signalId, signalId));
  const feed = await w.db.db.select().from(feedOutbox).where(eq(feedOutbox.signalId, signalId));
  return { status: signal?.status, executions: rows, summaries: feed.filter((row) => row.kind === 'summary') };
}

/**
 * Invariant: claiming a signal and creating its executions commit together. A failure in between
 * leaves the signal pending (never 'executing' with no executions and a "filled 0 of 0" summary), and
 * the next cycle executes it in full.
 */
describe.each(databaseKinds)('claim and fan-out in one transaction, on %s', (kind) => {
  it('leaves a signal pending when creating its executions fails, and executes it in full on the next cycle', async () => {
    world = await tradingWorld({ kind, accounts: ACCOUNTS });
    const faulty = failingInserts(world.db.db, executions, 1);
    const engine = new TradingEngine(createStore(faulty.db), world.gateways, world.clock, world.log, {
      ...defaultEngineSettings('fan-out-fault'),
      maxSignalLagMs: 30 * 60_000,
    });
    await engine.start();
    const queued = await submit(world, 'fan-out-fault');
    if (queued.kind !== 'queued') throw new Error('signal not queued');

    await engine.runCycle().catch(() => {});
    expect(faulty.failures()).toBe(1);
    const after = await stateOf(world, queued.signalId);
    expect(after.status).toBe('pending');
    expect(after.executions).toEqual([]);
    expect(world.sim.requestLog.filter((entry) => entry.method === 'POST' && entry.path === '/fapi/v1/order')).toEqual([]);

    // Overdue-summary time passes too: nothing reports "0 of 0" for it meanwhile.
    world.clock.advance(2 * 60_000);
    await engine.runCycle();
    if (process.env.DEBUG_LOG) console.log(world.logLines.join(''));
    const done = await stateOf(world, queued.signalId);
    expect(done.status).toBe('done');
    expect(done.executions.map((row) => row.status)).toEqual(Array(ACCOUNTS).fill('placed'));
    expect(done.summaries.map((row) => row.payload)).toEqual([
      expect.objectContaining({ type: 'summary', total: ACCOUNTS, filled: ACCOUNTS, pending: 0, final: true }),
    ]);
    await engine.stop();
  });

  it("fans out again a signal an older version left 'executing' without executions", async () => {
    world = await tradingWorld({ kind, accounts: ACCOUNTS });
    const queued = await submit(world, 'stuck-executing');
    if (queued.kind !== 'queued') throw new Error('signal not queued');
    // What the old claim-then-fan-out left after a crash in between.
    await world.db.db
      .update(signals)
      .set({ status: 'executing', claimedBy: 'old-version:./data', claimedAt: new Date(world.clock.now()) })
      .where(eq(signals.id, queued.signalId));

    const engine = world.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();
    await engine.runCycle();
    const done = await stateOf(world, queued.signalId);
    expect(done.status).toBe('done');
    expect(done.executions.map((row) => row.status)).toEqual(Array(ACCOUNTS).fill('placed'));
    expect(done.summaries.map((row) => row.payload)).toEqual([
      expect.objectContaining({ type: 'summary', total: ACCOUNTS, filled: ACCOUNTS, final: true }),
    ]);
  });
});
