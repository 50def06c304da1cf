import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { copyRepository, type NewCopyLink } from '../../../src/db/repositories/copy';
import { executions, feedOutbox, signals } from '../../../src/db/schema';
import { createCopyTrading } from '../../../src/copy';
import type { TradingEngine } from '../../../src/trading/engine';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { copyServiceOf } from './support';
import { createStore } from '../../../src/db/store';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const BTC = 'BTC/USDT:USDT';
let orderSeq = 0;

async function masterTrades(w: TradingWorld, master: AccountRow, side: 'buy' | 'sell', quantity: number, symbol = BTC) {
  orderSeq += 1;
  await w.gateways.forAccount(master).placeOrder({ clientOrderId: `master${orderSeq}x${Date.now()}`, symbol, side, type: 'market', quantity, reduceOnly: false });
}

async function positionOf(w: TradingWorld, account: AccountRow, symbol = BTC): Promise<number> {
  const positions = await w.gateways.forAccount(account).positions();
  return positions.filter((p) => p.symbol === symbol).reduce((sum, p) => sum + (p.side === 'long' ? p.quantity : -p.quantity), 0);
}

function link(master: AccountRow, follower: AccountRow, fields: Partial<NewCopyLink>): NewCopyLink {
  return { id: randomUUID(), guildId: GUILD, masterAccountId: master.id, followerAccountId: follower.id, followerOwnerId: follower.ownerId, mode: 'mirror', value: 1, ...fields };
}

async function step(copy: ReturnType<typeof createCopyTrading>, engine: TradingEngine) {
  const report = await copy.poll();
  await engine.runCycle();
  return report;
}

describe('copy trading on the Binance simulator', { timeout: 120_000 }, () => {
  it('open, add, partial close and close become follower orders with the right quantity per mode; filters and dry-run honoured', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 10_000 });
    const mirror = await w.addAccount({ funds: 10_000 });
    const double = await w.addAccount({ funds: 10_000 });
    const fixed = await w.addAccount({ funds: 10_000 });
    const proportional = await w.addAccount({ funds: 6_100 });
    const blocked = await w.addAccount({ funds: 10_000 });
    const allowEth = await w.addAccount({ funds: 10_000 });
    const dry = await w.addAccount({ funds: 10_000 });
    const bystander = await w.addAccount({ funds: 10_000 });

    // An ETH position the master held before copying started: never copied, its trades never fetched.
    await masterTrades(w, master, 'buy', 0.1, 'ETH/USDT:USDT');

    const copies = copyRepository(w.db.db);
    await copies.addMaster(master.id, GUILD);
    await copies.upsertLink(link(master, mirror, { mode: 'mirror' }));
    await copies.upsertLink(link(master, double, { mode: 'multiplier', value: 2 }));
    await copies.upsertLink(link(master, fixed, { mode: 'fixed', value: 0.005 }));
    await copies.upsertLink(link(master, proportional, { mode: 'proportional' }));
    await copies.upsertLink(link(master, blocked, { symbolBlock: ['BTC'] }));
    await copies.upsertLink(link(master, allowEth, { symbolAllow: ['ETH'] }));
    await copies.upsertLink(link(master, dry, { dryRun: true }));

    const copy = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: w.intake, clock: w.clock, log: w.log });
    const engine = w.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();

    expect(await copy.poll()).toMatchObject({ masters: 1, signals: 0 }); // baseline
    const expectPositions = async (want: [AccountRow, number][]) => {
      for (const [account, qty] of want) expect(await positionOf(w, account)).toBeCloseTo(qty, 9);
    };

    await masterTrades(w, master, 'buy', 0.01); // open
    const first = await step(copy, engine);
    expect(first.fetchedSymbols).toEqual([BTC]);
    expect(first.signals).toBe(1);
    await expectPositions([[mirror, 0.01], [double, 0.02], [fixed, 0.005], [proportional, 0.006], [blocked, 0], [allowEth, 0], [dry, 0], [bystander, 0]]);

    await masterTrades(w, master, 'buy', 0.01); // add
    await step(copy, engine);
    await expectPositions([[mirror, 0.02], [double, 0.04], [fixed, 0.01], [proportional, 0.012]]);

    await masterTrades(w, master, 'sell', 0.01); // partial close: half of the master's position
    await step(copy, engine);
    await expectPositions([[mirror, 0.01], [double, 0.02], [fixed, 0.005], [proportional, 0.006]]);

    await masterTrades(w, master, 'sell', 0.01); // close
    const last = await step(copy, engine);
    expect(last.fetchedSymbols).toEqual([BTC]);
    await expectPositions([[mirror, 0], [double, 0], [fixed, 0], [proportional, 0], [blocked, 0], [allowEth, 0], [dry, 0]]);

    // Dry-run: executions say what would happen, nothing reached the exchange.
    const dryRows = await w.db.db.select().from(executions).where(eq(executions.accountId, dry.id));
    // Opens and adds are recorded as "would place"; the reductions find no position to reduce.
    expect(dryRows.map((row) => [row.status, row.reason]).sort()).toEqual([
      ['dry-run', null],
      ['dry-run', null],
      ['skipped', 'no-position-to-reduce'],
      ['skipped', 'no-position-to-reduce'],
    ]);
    const feed = await w.db.db.select().from(feedOutbox).where(eq(feedOutbox.accountId, dry.id));
    expect(feed.map((row) => (row.payload as { outcome: string }).outcome).filter((o) => o === 'dry-run')).toHaveLength(2);
    expect(await w.gateways.forAccount(dry).openOrders()).toEqual([]);
    // Filtered followers were never sent the opens; their reductions find nothing to reduce.
    for (const account of [blocked, allowEth, bystander]) {
      const rows = await w.db.db.select().from(executions).where(eq(executions.accountId, account.id));
      expect(rows.every((row) => row.status === 'skipped')).toBe(true);
    }
    const counters = (await copies.activeLinksOf(master.id)).find((l) => l.followerAccountId === blocked.id);
    expect(counters?.skipped).toBe(2);
    const rows = await w.db.db.select().from(signals).where(eq(signals.source, 'copy'));
    expect(rows).toHaveLength(4);

    // /copy list's figures: the dry-run follower's reductions were skipped with their reason.
    const service = copyServiceOf(w);
    const [dryView] = await service.list({ guildId: GUILD, userId: dry.ownerId, isAdmin: false });
    expect(dryView).toMatchObject({ copied: 2, failed: 0, successRate: 1, skipReasons: [{ reason: 'no-position-to-reduce', count: 2 }] });
    const [doubleView] = await service.list({ guildId: GUILD, userId: double.ownerId, isAdmin: false });
    expect(doubleView).toMatchObject({ mode: 'multiplier', value: 2, copied: 4, skipped: 0, failed: 0 });
    // The master's ETH trades were never fetched.
    expect(w.sim.requestLog.filter((e) => e.path === '/fapi/v1/userTrades' && String(e.params['symbol']) === 'ETHUSDT')).toEqual([]);
  });

  it('a restart between two master fills neither misses nor repeats one', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 10_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const copies = copyRepository(w.db.db);
    await copies.addMaster(master.id, GUILD);
    await copies.upsertLink(link(master, follower, { mode: 'mirror' }));
    const engine = w.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();

    const before = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: w.intake, clock: w.clock, log: w.log });
    await before.poll();
    await masterTrades(w, master, 'buy', 0.01);
    expect((await step(before, engine)).signals).toBe(1);

    // "Restart": a new poller with nothing in memory; one more fill lands while it is down.
    await masterTrades(w, master, 'buy', 0.02);
    const after = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: w.intake, clock: w.clock, log: w.log });
    expect((await step(after, engine)).signals).toBe(1);
    expect((await step(after, engine)).signals).toBe(0);
    expect((await step(before, engine)).signals).toBe(0);
    expect(await positionOf(w, follower)).toBeCloseTo(0.03, 9);
    expect(await w.db.db.select().from(signals).where(eq(signals.source, 'copy'))).toHaveLength(2);
  });
});
