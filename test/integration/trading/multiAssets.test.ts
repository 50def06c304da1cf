/**
 * A Binance futures account in Multi-Assets mode allows cross margin only: setting a symbol to
 * isolated answers -4168. An account stored as isolated (the default, or verified before it switched)
 * must still trade, in cross margin, instead of failing every signal.
 */
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { executions, orders } from '../../../src/db/schema';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('Multi-Assets mode', () => {
  it('executes a signal in cross margin on a multi-assets account stored as isolated', async () => {
    world = await tradingWorld({ accounts: 0 });
    const account = await world.addAccount({ marginMode: 'isolated', rules: { multiAssetsMargin: true } });
    const engine = world.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();
    const queued = await world.intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: 'multi-assets',
      authorId: '200000000000099999',
      channelId: null,
      signal: {
        symbol: 'BTC/USDT',
        side: 'long',
        entryType: 'market',
        entries: [],
        stopLoss: 48_000,
        takeProfits: [52_000],
        leverage: 10,
      },
    });
    expect(queued.kind).toBe('queued');
    await engine.runCycle();

    const [execution] = await world.db.db.select().from(executions).where(eq(executions.accountId, account.id));
    expect(execution).toMatchObject({ status: 'placed', reason: null });
    const legs = await world.db.db.select().from(orders).where(eq(orders.accountId, account.id));
    expect(legs.map((leg) => [leg.leg, leg.status]).sort()).toEqual([
      ['e0', 'filled'],
      ['s0', 'open'],
      ['t0', 'open'],
    ]);
    // Binance refused isolated once; the position is cross margin, as Multi-Assets mode requires.
    expect(world.sim.requestLog.filter((entry) => entry.code === -4168)).toHaveLength(1);
    const simAccount = world.sim.engine.accounts.values().next().value!;
    expect(world.sim.engine.marginTypeOf(simAccount, 'BTCUSDT')).toBe('CROSSED');
    expect(world.sim.positions(simAccount.apiKey)).toMatchObject([{ symbol: 'BTCUSDT', amt: expect.any(Number) }]);
  });
});
