import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { usersRepository } from '../../../src/db/repositories/users';
import { exchangeAccounts, executions, feedOutbox, orders } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { createPositionSync } from '../../../src/trading/positionSync';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

const marketLong: TradeSignal = {
  symbol: 'BTC/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 48_000,
  takeProfits: [52_000, 54_000],
  leverage: 10,
};

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('engine on the Binance simulator', () => {
  it('executes one market signal on every enabled account with entry, stop and take-profits', async () => {
    world = await tradingWorld({ accounts: 3 });
    const engine = world.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();
    const queued = await world.intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: 'interaction-1',
      authorId: '200000000000099999',
      channelId: null,
      signal: marketLong,
    });
    expect(queued).toMatchObject({ kind: 'queued', accounts: 3, members: 3 });
    await engine.runCycle();
    if (process.env.DEBUG_LOG) console.log(world.logLines.join(''));

    const rows = await world.db.db.select().from(executions);
    expect(rows.map((row) => [row.status, row.reason])).toEqual([
      ['placed', null],
      ['placed', null],
      ['placed', null],
    ]);
    for (const account of world.accounts) {
      const legs = await world.db.db.select().from(orders).where(eq(orders.accountId, account.id));
      expect(legs.map((leg) => [leg.leg, leg.status]).sort()).toEqual([
        ['e0', 'filled'],
        ['s0', 'open'],
        ['t0', 'open'],
        ['t1', 'open'],
      ]);
    }
    const feed = await world.db.db.select().from(feedOutbox);
    expect(feed.filter((row) => row.kind === 'order')).toHaveLength(3);
    const summary = feed.find((row) => row.kind === 'summary');
    expect(summary?.payload).toMatchObject({ type: 'summary', total: 3, filled: 3, final: true });
  });
});

describe('routine balance refresh', () => {
  it('a signal never waits for it: the next cycle executes a signal while a routine balance read is still under way', { timeout: 60_000 }, async () => {
    world = await tradingWorld({ accounts: 2 });
    const w = world;
    const engine = w.engine({ maxSignalLagMs: 30 * 60_000, balanceMaxAgeMs: 60 * 60_000 });
    await engine.start();
    // Balances 40 minutes old: the routine refreshes them (older than half the limit), the fan-out
    // does not need to (not older than 90 % of it).
    const old = new Date(w.clock.now() - 40 * 60_000);
    await w.db.db.update(exchangeAccounts).set({ lastBalanceUsd: 10_000, lastEquityUsd: 10_000, balanceAt: old });
    // Each balance read takes 3 s to answer.
    w.sim.inject({ kind: 'latency', path: '/fapi/v3/account', method: 'GET', ms: 3_000 });
    await engine.runCycle();
    await w.intake.submit({ guildId: GUILD, source: 'command', sourceRef: 'during-refresh', authorId: '200000000000099999', channelId: null, signal: marketLong });
    await engine.runCycle();
    // The signal is executed while the refresh has not answered yet.
    expect((await w.db.db.select().from(executions)).map((row) => row.status)).toEqual(['placed', 'placed']);
    const balanceTimes = async () => (await w.db.db.select().from(exchangeAccounts)).map((row) => row.balanceAt?.getTime());
    expect(await balanceTimes()).toEqual([old.getTime(), old.getTime()]);
    await engine.balancesSettled();
    expect((await balanceTimes()).every((at) => at !== undefined && at > old.getTime())).toBe(true);
    await engine.stop();
  });
});

describe('withdrawn signals', () => {
  it('cancels the resting entries of a signal its caller withdrew, and starts nothing new', async () => {
    world = await tradingWorld({ accounts: 2 });
    const engine = world.engine({ maxSignalLagMs: 30 * 60_000 });
    // Resting entries are the position sync's to cancel (and to follow, when one filled meanwhile).
    engine.addCycleStep('positions', createPositionSync({ store: createStore(world.db.db), gateways: world.gateways, clock: world.clock, log: world.log }).run);
    await engine.start();
    const author = '200000000000099998';
    const queued = await world.intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: 'limit-entries',
      authorId: author,
      channelId: null,
      signal: { ...marketLong, entryType: 'limit', entries: [49_000, 49_500] },
    });
    if (queued.kind !== 'queued') throw new Error('not queued');
    await engine.runCycle();
    const resting = await world.db.db.select().from(orders);
    expect(resting.filter((row) => row.leg.startsWith('e')).map((row) => row.status)).toEqual(['open', 'open', 'open', 'open']);

    expect(await world.intake.cancel(queued.signalId, '200000000000000001')).toBeNull(); // not the author
    expect(await world.intake.cancel(queued.signalId, author)).not.toBeNull();
    await engine.runCycle();
    const after = await world.db.db.select().from(orders);
    expect(after.map((row) => row.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    for (const row of after) {
      const apiKeyOrders = world.sim.requestLog.filter(
        (entry) => entry.method === 'DELETE' && entry.params['origClientOrderId'] === row.clientOrderId,
      );
      expect(apiKeyOrders.length).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('bad signals and unlisted symbols', () => {
  it('rejects malformed signals with a reason and sends nothing', async () => {
    world = await tradingWorld({ accounts: 1 });
    const engine = world.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();
    const bad: [string, TradeSignal][] = [
      ['stop on the wrong side', { ...marketLong, entryType: 'limit', entries: [50_000], stopLoss: 51_000 }],
      ['malformed symbol', { ...marketLong, symbol: 'BTC-USDT!' }],
      ['zero', { ...marketLong, stopLoss: 0 }],
      ['negative', { ...marketLong, takeProfits: [-52_000] }],
      ['NaN', { ...marketLong, stopLoss: Number.NaN }],
      ['leverage 500', { ...marketLong, leverage: 500 }],
    ];
    for (const [name, signal] of bad) {
      const result = await world.intake.submit({
        guildId: GUILD,
        source: 'command',
        sourceRef: `bad-${name}`,
        authorId: null,
        channelId: null,
        signal,
      });
      expect(result.kind, name).toBe('rejected');
    }
    world.sim.clearLog();
    await engine.runCycle();
    expect(await world.db.db.select().from(orders)).toEqual([]);
    expect(world.sim.requestLog.filter((entry) => entry.method !== 'GET')).toEqual([]);
  });

  it('skips a well-formed symbol the exchange does not list, with the reason in the summary, sending nothing', async () => {
    world = await tradingWorld({ accounts: 1 });
    const engine = world.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();
    // Resolution is per account (src/domain/symbols.ts, unit-tested per market type and quote); here
    // the simulator lists no NOPE market at all, so the account skips with the reason.
    await world.intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: 'unlisted',
      authorId: null,
      channelId: null,
      signal: { ...marketLong, symbol: 'NOPE/USDT', stopLoss: 0.9, takeProfits: [1.2] },
    });
    await engine.runCycle();
    const rows = await world.db.db.select().from(executions);
    expect(rows.map((row) => [row.status, row.reason])).toEqual([['skipped', 'symbol-not-listed']]);
    expect(await world.db.db.select().from(orders)).toEqual([]);
    const summary = (await world.db.db.select().from(feedOutbox)).find((row) => row.kind === 'summary');
    expect(summary?.payload).toMatchObject({ total: 1, filled: 0, skipped: [{ reason: 'symbol-not-listed' }] });
  });

  it("holds a member's exposure cap across their accounts executing side by side in one batch", async () => {
    world = await tradingWorld({});
    const member = '200000000000077777';
    // 100 USD margin at 10x: 1,000 USD notional each; a 2,500 USD cap leaves room for two of three.
    for (let i = 0; i < 3; i += 1) {
      await world.addAccount({ ownerId: member, sizingMode: 'fixed', sizingValue: 100, leverage: 10 });
    }
    const other = await world.addAccount({ sizingMode: 'fixed', sizingValue: 100, leverage: 10 });
    await usersRepository(world.db.db).setExposureCap(member, 2_500);
    const engine = world.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();
    await world.intake.submit({
      guildId: GUILD,
      source: 'command',
      sourceRef: 'interaction-cap',
      authorId: null,
      channelId: null,
      signal: marketLong,
    });
    await engine.runCycle();

    const rows = await world.db.db.select().from(executions);
    const mine = rows.filter((row) => row.ownerId === member);
    expect(mine.map((row) => row.status).sort()).toEqual(['placed', 'placed', 'skipped']);
    expect(mine.find((row) => row.status === 'skipped')?.reason).toBe('exposure-cap');
    expect(rows.find((row) => row.accountId === other.id)?.status).toBe('placed');
    const entries = await world.db.db.select().from(orders).where(eq(orders.leg, 'e0'));
    expect(entries.filter((order) => order.ownerId === member)).toHaveLength(2);
  });
});
