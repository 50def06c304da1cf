import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { executions, feedOutbox } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { tradingWorld, type TradingWorld } from '../../support/trading';

/**
 * Sizes and limits are USD. Invariant: a market priced in a coin (ETH/BTC) is never sized with a
 * dollar balance: the signal is refused for the account with its reason, and nothing is sent.
 */

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('pairs quoted in a coin', () => {
  it('an ETH/BTC spot signal with fixed 100 USD sizing is refused with its reason; no order reaches the exchange', { timeout: 60_000 }, async () => {
    world = await tradingWorld({ accounts: 0, marketType: 'spot' });
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 100, maxPositionUsd: 1_000 });
    w.sim.setPrice('ETHBTC', 0.06);
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
    await engine.start();
    const signal: TradeSignal = { symbol: 'ETH/BTC', side: 'long', entryType: 'market', entries: [], stopLoss: 0.055, takeProfits: [0.065], leverage: 1 };
    const signalId = await w.submit(signal, 'eth-btc');
    await engine.runCycle();

    const [execution] = await w.db.db.select().from(executions).where(eq(executions.signalId, signalId));
    expect(execution).toMatchObject({ status: 'skipped', reason: 'quote-not-usd' });
    expect(w.sim.orders(w.apiKeyOf(account)).spot).toEqual([]);
    const summary = (await w.db.db.select().from(feedOutbox).where(eq(feedOutbox.signalId, signalId))).find((row) => row.kind === 'summary');
    expect(summary?.payload).toMatchObject({ skipped: [expect.objectContaining({ reason: 'quote-not-usd' })] });
  });
});
