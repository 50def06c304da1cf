import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { dailyStats, executions, signals } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { databaseKinds } from '../../support/db';
import { tradingWorld, type TradingWorld } from '../../support/trading';

/**
 * Max daily trades is a limit on entries sent, not on outcomes written. Invariant: however many
 * signals reach one account in one cycle (or in two processes at once), at most `maxDailyTrades`
 * entries of the UTC day reach the exchange; a slot whose entry was never placed is given back.
 */

const signalOn = (symbol: string, price: number): TradeSignal => ({
  symbol,
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: price * 0.9,
  takeProfits: [price * 1.1],
  leverage: 2,
});

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});



async function outcomes(w: TradingWorld) {
  return w.db.db
    .select({ symbol: signals.symbol, status: executions.status, reason: executions.reason })
    .from(executions)
    .innerJoin(signals, eq(signals.id, executions.signalId));
}

describe.each(databaseKinds)('max daily trades on %s', (kind) => {
  it('limit 1 and three signals in one cycle: one entry reaches the exchange, two are refused with the reason', { timeout: 60_000 }, async () => {
    world = await tradingWorld({ kind, accounts: 0 });
    const w = world;
    w.accounts.push(await w.addAccount({ maxDailyTrades: 1 }));
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
    await engine.start();
    await w.submit(signalOn('BTC/USDT', 50_000), 'btc');
    await w.submit(signalOn('ETH/USDT', 3_000), 'eth');
    await w.submit(signalOn('BNB/USDT', 600), 'bnb');
    await engine.runCycle();

    const rows = await outcomes(w);
    expect(rows.filter((row) => row.status === 'placed')).toHaveLength(1);
    expect(rows.filter((row) => row.status === 'skipped' && row.reason === 'daily-trade-limit')).toHaveLength(2);
    // Entries are the plain futures orders (exits rest as algo orders): one symbol's only.
    expect(w.sim.orders(w.apiKeyOf(w.accounts[0]!)).futures.map((order) => order.symbol)).toHaveLength(1);
    const [day] = await w.db.db.select().from(dailyStats).where(eq(dailyStats.accountId, w.accounts[0]!.id));
    expect(day?.trades).toBe(1);
  });

  it('a slot whose entry the exchange refused is given back: the next signal of the day trades', { timeout: 60_000 }, async () => {
    world = await tradingWorld({ kind, accounts: 0 });
    const w = world;
    w.accounts.push(await w.addAccount({ maxDailyTrades: 1, rules: { quantitativeRulesViolated: true } }));
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
    await engine.start();
    await w.submit(signalOn('BTC/USDT', 50_000), 'refused');
    await engine.runCycle();
    expect((await outcomes(w)).map((row) => row.status)).not.toContain('placed');
    const [afterRefusal] = await w.db.db.select().from(dailyStats).where(eq(dailyStats.accountId, w.accounts[0]!.id));
    expect(afterRefusal?.trades ?? 0).toBe(0);

    w.sim.setAccountRules(w.apiKeyOf(w.accounts[0]!), { quantitativeRulesViolated: false });
    await w.submit(signalOn('ETH/USDT', 3_000), 'accepted');
    await engine.runCycle();
    const rows = await outcomes(w);
    expect(rows.find((row) => row.symbol === 'ETH/USDT')?.status).toBe('placed');
    const [afterTrade] = await w.db.db.select().from(dailyStats).where(eq(dailyStats.accountId, w.accounts[0]!.id));
    expect(afterTrade?.trades).toBe(1);
  });
});
