import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { asc, eq, sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createCopyPositions, createCopyTrading, type CopyPositions } from '../../../src/copy';
import { accountsRepository, type AccountRow } from '../../../src/db/repositories/accounts';
import { copyRepository } from '../../../src/db/repositories/copy';
import { NO_POSITION, positionsRepository } from '../../../src/db/repositories/positions';
import { readModels } from '../../../src/db/repositories/readModels';
import { tradingRepository } from '../../../src/db/repositories/trading';
import { dailyStats, executions, feedOutbox, orders, positions } from '../../../src/db/schema';
import { utcDayKey } from '../../../src/domain/risk';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import { createPanicService } from '../../../src/services/panic';
import { createPnlService } from '../../../src/services/pnl';
import type { TradingEngine } from '../../../src/trading/engine';
import { createPositionSync, type PositionSync } from '../../../src/trading/positionSync';
import { databaseKinds, type DatabaseKind } from '../../support/db';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const BTC = 'BTC/USDT:USDT';
/** Taker 0.04 %, no slippage: every follower fill's fee is quantity × price × 0.0004. */
const FEES = { maker: 0.0002, taker: 0.0004 };
let seq = 0;

interface CopyWorld {
  w: TradingWorld;
  master: AccountRow;
  follower: AccountRow;
  engine: TradingEngine;
  sync: PositionSync;
  /** A second copy-positions instance, as another process on the same database would run it. */
  other: CopyPositions;
  /** Master trades at `price`, then one poll and one engine cycle (copy positions run as its step). */
  masterTrades(side: 'buy' | 'sell', quantity: number, price: number): Promise<void>;
  rows(): Promise<(typeof positions.$inferSelect)[]>;
  feed(): Promise<(typeof feedOutbox.$inferSelect)[]>;
  day(): Promise<(typeof dailyStats.$inferSelect)[]>;
}

async function copyWorld(kind: DatabaseKind, options: { step?: boolean } = {}): Promise<CopyWorld> {
  const w = await tradingWorld({ kind, accounts: 0, clockFactor: 5, simOptions: { futuresFees: FEES, slippage: 0 } });
  world = w;
  const master = await w.addAccount({ funds: 10_000 });
  const follower = await w.addAccount({ funds: 10_000 });
  const copies = copyRepository(w.db.db);
  await copies.addMaster(master.id, GUILD);
  await copies.upsertLink({ id: randomUUID(), guildId: GUILD, masterAccountId: master.id, followerAccountId: follower.id, followerOwnerId: follower.ownerId, mode: 'mirror', value: 1 });
  const copy = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: w.intake, clock: w.clock, log: w.log });
  const engine = w.engine({ maxSignalLagMs: 30 * 60_000 });
  // Wired as in src/app.ts: positionSync must leave copied positions to the copy module.
  const sync = createPositionSync({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log });
  engine.addCycleStep('positions', sync.run);
  if (options.step !== false) {
    const positionsStep = createCopyPositions({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log, externalCheckEveryMs: 0 });
    engine.addCycleStep('copy-positions', async () => void (await positionsStep.run()));
  }
  await engine.start();
  await copy.poll(); // baseline
  const db = w.db.db;
  return {
    w,
    master,
    follower,
    engine,
    sync,
    other: createCopyPositions({ store: createStore(db), gateways: w.gateways, clock: w.clock, log: w.log, externalCheckEveryMs: 0 }),
    async masterTrades(side, quantity, price) {
      await w.sim.setPrice('BTCUSDT', price, 'futures');
      seq += 1;
      await w.gateways.forAccount(master).placeOrder({ clientOrderId: `master${seq}x${Date.now()}`, symbol: BTC, side, type: 'market', quantity, reduceOnly: false });
      await copy.poll();
      await engine.runCycle();
    },
    rows: () => db.select().from(positions).where(eq(positions.accountId, follower.id)),
    feed: () => db.select().from(feedOutbox).where(eq(feedOutbox.accountId, follower.id)).orderBy(asc(feedOutbox.id)),
    day: () => db.select().from(dailyStats).where(eq(dailyStats.accountId, follower.id)),
  };
}

const kindsOf = (rows: (typeof feedOutbox.$inferSelect)[]) =>
  rows.filter((row) => row.kind !== 'order').map((row) => `${row.kind}:${(row.payload as { kind: string }).kind}`);

describe.each(databaseKinds)('copied positions on %s', { timeout: 120_000 }, (kind) => {
  it('open, add, partial reduce and close are followed in the positions table with realised PnL to the cent, in /pnl and the day', async () => {
    const c = await copyWorld(kind);

    await c.masterTrades('buy', 0.01, 50_000); // open: 0.01 @ 50 000, fee 0.20
    let [row] = await c.rows();
    expect(await c.rows()).toHaveLength(1);
    expect(row).toMatchObject({ status: 'open', side: 'long', symbol: BTC, quantity: 0.01, entryQuantity: 0.01, averageEntryPrice: 50_000, realizedPnl: 0, fees: 0.2, stopLoss: null });

    await c.masterTrades('buy', 0.01, 52_000); // add: 0.01 @ 52 000, fee 0.208
    [row] = await c.rows();
    expect(await c.rows()).toHaveLength(1);
    expect(row).toMatchObject({ status: 'open', quantity: 0.02, entryQuantity: 0.02, averageEntryPrice: 51_000, fees: 0.408 });
    // positionSync syncing the follower (as when it also holds a signal position) leaves the copy alone.
    await c.sync.syncAccount(c.follower.id);
    expect(await c.rows()).toEqual([row]);
    expect(await c.w.gateways.forAccount(c.follower).openOrders()).toEqual([]);

    await c.masterTrades('sell', 0.01, 55_000); // half out: 0.01 @ 55 000, fee 0.22
    [row] = await c.rows();
    // (55 000 − 51 000) × 0.01 − 0.22 exit fee − half the entry fees (0.204) = 39.576
    expect(row).toMatchObject({ status: 'open', quantity: 0.01, exitQuantity: 0.01, averageExitPrice: 55_000, realizedPnl: 39.576, fees: 0.628 });
    // Realised in the day when the reduce fills, not when the position closes (issue #12 item 6).
    expect((await c.day()).map((d) => d.realizedPnl)).toEqual([39.576]);

    await c.masterTrades('sell', 0.01, 54_000); // close: 0.01 @ 54 000, fee 0.216
    [row] = await c.rows();
    // Exit value 1 090 − entry value 1 020 − fees 0.844 = 69.156
    expect(row).toMatchObject({ status: 'closed', closeReason: 'copy', quantity: 0, exitQuantity: 0.02, averageExitPrice: 54_500, realizedPnl: 69.156, fees: 0.844 });
    expect(row!.closedAt).not.toBeNull();
    // Every copy order was booked into that one position.
    const booked = await c.w.db.db.select().from(orders).where(eq(orders.accountId, c.follower.id));
    expect(booked).toHaveLength(4);
    expect(booked.every((order) => order.positionId === row!.id)).toBe(true);

    const today = utcDayKey(c.w.clock.now());
    expect(await c.day()).toMatchObject([{ day: today, trades: 4, realizedPnl: 69.156 }]);
    expect(kindsOf(await c.feed())).toEqual(['event:position-closed']);
    expect((await c.feed()).find((r) => r.kind === 'event')!.payload).toMatchObject({ type: 'position', kind: 'position-closed', symbol: BTC, side: 'long', returnPct: expect.any(Number) });

    // /pnl's read model and service count it.
    const pnl = createPnlService({ reads: readModels(c.w.db.db), accounts: accountsRepository(c.w.db.db), gateways: c.w.gateways, clock: c.w.clock, log: c.w.log });
    const report = await pnl.report({ ownerId: c.follower.ownerId, guildId: GUILD, period: 'day' });
    expect(report.accounts).toMatchObject([{ accountId: c.follower.id, realised: 69.156, fees: 0.844, closedTrades: 1, wins: 1, openPositions: 0 }]);
    // The Kelly input sees the trade too.
    expect(await tradingRepository(c.w.db.db).closedTradePnls(c.follower.id, 10)).toEqual([69.156]);

    // Repeated cycles and a second process book nothing twice.
    await c.engine.runCycle();
    expect(await c.other.run()).toEqual({ booked: 0, closed: 0, external: 0 });
    await c.engine.runCycle();
    expect(await c.day()).toMatchObject([{ trades: 4, realizedPnl: 69.156 }]);
    expect(kindsOf(await c.feed())).toEqual(['event:position-closed']);
    expect(await c.rows()).toHaveLength(1);
  });

  it('two processes booking the same fills at once count each once', async () => {
    const c = await copyWorld(kind, { step: false });
    const first = createCopyPositions({ store: createStore(c.w.db.db), gateways: c.w.gateways, clock: c.w.clock, log: c.w.log, externalCheckEveryMs: 0 });
    const both = async () => {
      const reports = await Promise.all([first.run(), c.other.run()]);
      return { booked: reports[0]!.booked + reports[1]!.booked, closed: reports[0]!.closed + reports[1]!.closed };
    };
    await c.masterTrades('buy', 0.01, 50_000);
    expect(await both()).toEqual({ booked: 1, closed: 0 });
    await c.masterTrades('sell', 0.01, 51_000);
    expect(await both()).toEqual({ booked: 1, closed: 1 });
    expect(await both()).toEqual({ booked: 0, closed: 0 });
    const rows = await c.rows();
    // (51 000 − 50 000) × 0.01 − 0.2 − 0.204 = 9.596
    expect(rows).toMatchObject([{ status: 'closed', closeReason: 'copy', realizedPnl: 9.596 }]);
    expect(await c.day()).toMatchObject([{ realizedPnl: 9.596 }]);
    expect(kindsOf(await c.feed())).toEqual(['event:position-closed']);
  });

  it('a follower closing a copied position by hand is detected once as external; the master close that follows books nothing', async () => {
    const c = await copyWorld(kind);
    await c.masterTrades('buy', 0.01, 50_000);
    expect(await c.rows()).toMatchObject([{ status: 'open', quantity: 0.01 }]);

    // The follower sells by hand at 49 000 (not a bot order).
    await c.w.sim.setPrice('BTCUSDT', 49_000, 'futures');
    await c.w.gateways.forAccount(c.follower).placeOrder({ clientOrderId: `manual${Date.now()}`, symbol: BTC, side: 'sell', type: 'market', quantity: 0.01, reduceOnly: true });
    await c.engine.runCycle();
    const [row] = await c.rows();
    // (49 000 − 50 000) × 0.01 − 0.2 − 0.196 = −10.396
    expect(row).toMatchObject({ status: 'closed', closeReason: 'external', realizedPnl: -10.396, fees: 0.396, averageExitPrice: 49_000 });
    expect(await c.day()).toMatchObject([{ realizedPnl: -10.396 }]);
    const told = ['event:closed-externally', 'dm:closed-externally'];
    expect(kindsOf(await c.feed())).toEqual(told);
    expect((await c.feed()).find((r) => r.kind === 'dm')).toMatchObject({ recipientId: c.follower.ownerId });

    await c.engine.runCycle();
    await c.other.run();
    await c.masterTrades('sell', 0.01, 50_500); // the master closes: the follower has nothing left to follow
    await c.engine.runCycle();
    expect(kindsOf(await c.feed())).toEqual(told);
    expect(await c.rows()).toHaveLength(1);
    expect(await c.day()).toMatchObject([{ realizedPnl: -10.396 }]);
    // positionSync's view (openPositionsOf) leaves copied positions to the copy module (panic closes them there).
    expect(await positionsRepository(c.w.db.db).openPositionsOf(c.follower.id)).toEqual([]);
  });

  it('a copied position closed by hand eight days after it opened is booked at its real exit price (Binance answers trades 7 days at a time; issue #13 item 9)', async () => {
    const c = await copyWorld(kind);
    await c.masterTrades('buy', 0.01, 50_000);
    c.w.clock.advance(8 * 86_400_000);
    await c.w.sim.setPrice('BTCUSDT', 49_000, 'futures');
    await c.w.gateways.forAccount(c.follower).placeOrder({ clientOrderId: `manual${Date.now()}`, symbol: BTC, side: 'sell', type: 'market', quantity: 0.01, reduceOnly: true });
    // The price moves on before the bot looks: the exit was at 49,000, not at the price it sees.
    await c.w.sim.setPrice('BTCUSDT', 52_000, 'futures');
    await c.engine.runCycle();
    expect(await c.rows()).toMatchObject([{ status: 'closed', closeReason: 'external', realizedPnl: -10.396, averageExitPrice: 49_000 }]);
  });

  it('/panic closes the caller\'s copied position at market with its PnL, once, leaves another member\'s alone; the master\'s close then finds nothing', async () => {
    const c = await copyWorld(kind);
    const db = c.w.db.db;
    // A second member follows the same master.
    const bystander = await c.w.addAccount({ funds: 10_000 });
    await copyRepository(db).upsertLink({ id: randomUUID(), guildId: GUILD, masterAccountId: c.master.id, followerAccountId: bystander.id, followerOwnerId: bystander.ownerId, mode: 'mirror', value: 1 });
    await c.masterTrades('buy', 0.01, 50_000); // both followers: 0.01 @ 50 000, fee 0.20
    expect(await c.rows()).toMatchObject([{ status: 'open', quantity: 0.01 }]);
    const theirRows = () => db.select().from(positions).where(eq(positions.accountId, bystander.id));
    expect(await theirRows()).toMatchObject([{ status: 'open', quantity: 0.01 }]);

    const copies = createCopyPositions({ store: createStore(db), gateways: c.w.gateways, clock: c.w.clock, log: c.w.log, externalCheckEveryMs: 0 });
    const repo = positionsRepository(db);
    const panic = createPanicService({ accounts: accountsRepository(db), positions: repo, sync: c.sync, copies, log: c.w.log });
    expect(await panic.preview(c.follower.ownerId, GUILD, c.follower.id)).toMatchObject([{ accountId: c.follower.id, openPositions: 1 }]);

    await c.w.sim.setPrice('BTCUSDT', 52_000, 'futures');
    const results = await panic.run(c.follower.ownerId, GUILD, c.follower.id);
    expect(results).toMatchObject([{ accountId: c.follower.id, closedPositions: 1, problems: [] }]);

    // (52 000 − 50 000) × 0.01 − 0.2 entry fee − 0.208 exit fee = 19.592
    const [row] = await c.rows();
    expect(await c.rows()).toHaveLength(1);
    expect(row).toMatchObject({ status: 'closed', closeReason: 'panic', quantity: 0, exitQuantity: 0.01, averageExitPrice: 52_000, realizedPnl: 19.592, fees: 0.408 });
    expect(await repo.openCopyPositionsOf(c.follower.id)).toEqual([]);
    expect(await repo.liveOrdersOf(c.follower.id)).toEqual([]);
    const gateway = c.w.gateways.forAccount(c.follower);
    expect((await gateway.positions()).filter((p) => p.quantity !== 0)).toEqual([]);
    expect(await gateway.openOrders(BTC)).toEqual([]);
    expect(await c.day()).toMatchObject([{ realizedPnl: 19.592 }]);
    expect(kindsOf(await c.feed())).toEqual(['event:position-closed']);
    // The close is one reduce-only market order, booked into the position.
    const closeOrders = (await db.select().from(orders).where(eq(orders.accountId, c.follower.id))).filter((o) => o.leg.startsWith('c'));
    expect(closeOrders).toMatchObject([{ side: 'sell', type: 'market', reduceOnly: true, status: 'filled', filledQuantity: 0.01, positionId: row!.id }]);

    // Another member's copied position: untouched, in the book and on the exchange.
    expect(await theirRows()).toMatchObject([{ status: 'open', quantity: 0.01 }]);
    expect((await c.w.gateways.forAccount(bystander).positions()).filter((p) => p.quantity !== 0)).toMatchObject([{ side: 'long', quantity: 0.01 }]);

    // Once: a second panic, cycles and another process change nothing.
    expect(await panic.run(c.follower.ownerId, GUILD, c.follower.id)).toMatchObject([{ closedPositions: 0, cancelledOrders: 0, problems: [] }]);
    await c.engine.runCycle();
    expect(await c.other.run()).toEqual({ booked: 0, closed: 0, external: 0 });
    expect(await c.day()).toMatchObject([{ realizedPnl: 19.592 }]);
    expect(kindsOf(await c.feed())).toEqual(['event:position-closed']);

    // The master closes: the follower has nothing to follow out of (skipped, nothing sent, nothing reopened).
    await c.masterTrades('sell', 0.01, 52_500);
    await c.engine.runCycle();
    const followerExecutions = await db.select().from(executions).where(eq(executions.accountId, c.follower.id)).orderBy(asc(executions.createdAt));
    expect(followerExecutions.map((e) => [e.status, e.reason])).toEqual([
      ['placed', null],
      ['skipped', 'no-position-to-reduce'],
    ]);
    expect(await db.select().from(orders).where(eq(orders.accountId, c.follower.id))).toHaveLength(2);
    expect(await c.rows()).toMatchObject([{ status: 'closed', closeReason: 'panic', realizedPnl: 19.592 }]);
    expect((await gateway.positions()).filter((p) => p.quantity !== 0)).toEqual([]);
    expect(await c.day()).toMatchObject([{ realizedPnl: 19.592 }]);
    // The bystander followed the master out as usual: (52 500 − 50 000) × 0.01 − 0.2 − 0.21 = 24.59
    expect(await theirRows()).toMatchObject([{ status: 'closed', closeReason: 'copy', realizedPnl: 24.59 }]);
  });

  it('a /panic close the exchange reports late is booked by the next cycle, still as panic, once', async () => {
    const c = await copyWorld(kind);
    const db = c.w.db.db;
    await c.masterTrades('buy', 0.01, 50_000);
    // The panicking process sees its close answered "open" and cannot look it up: it reports it unfilled.
    const late = (gateway: ExchangeGateway): ExchangeGateway =>
      new Proxy(gateway, {
        get(target, key, receiver) {
          if (key === 'placeOrder') return async (intent: Parameters<ExchangeGateway['placeOrder']>[0]) => ({ ...(await target.placeOrder(intent)), status: 'open', filledQuantity: 0, averagePrice: null, fees: [] });
          if (key === 'fetchOrder') return async () => null;
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
    const copies = createCopyPositions({ store: createStore(db), gateways: { forAccount: (account) => late(c.w.gateways.forAccount(account)) }, clock: c.w.clock, log: c.w.log, externalCheckEveryMs: 0 });
    await c.w.sim.setPrice('BTCUSDT', 49_000, 'futures');
    const result = await copies.panicAccount(c.follower);
    expect(result).toMatchObject({ closedPositions: 0, problems: [expect.stringContaining('has not filled yet')] });
    expect(await c.rows()).toMatchObject([{ status: 'open', quantity: 0.01 }]);

    // The cycle looks the close up, books it and closes the position as panic: (49 000 − 50 000) × 0.01 − 0.2 − 0.196 = −10.396
    await c.engine.runCycle();
    expect(await c.rows()).toMatchObject([{ status: 'closed', closeReason: 'panic', realizedPnl: -10.396, fees: 0.396 }]);
    expect((await c.w.gateways.forAccount(c.follower).positions()).filter((p) => p.quantity !== 0)).toEqual([]);
    await c.engine.runCycle();
    expect(await copies.panicAccount(c.follower)).toEqual({ cancelledOrders: 0, closedPositions: 0, problems: [] });
    expect(await c.day()).toMatchObject([{ realizedPnl: -10.396 }]);
    expect(kindsOf(await c.feed())).toEqual(['event:position-closed']);
  });

  it('the upgrade migration marks earlier copy fills as booked: no history is replayed into the day', async () => {
    const c = await copyWorld(kind, { step: false });
    await c.masterTrades('buy', 0.01, 50_000); // copied before copied positions were followed
    await c.w.db.db.execute(sql.raw(readFileSync(new URL('../../../drizzle/0002_copy_positions_baseline.sql', import.meta.url), 'utf8')));
    const before = await c.w.db.db.select().from(orders).where(eq(orders.accountId, c.follower.id));
    expect(before.map((order) => order.positionId)).toEqual([NO_POSITION]);
    expect(await c.other.run()).toEqual({ booked: 0, closed: 0, external: 0 });
    // The master's close reduces a position the book does not follow: nothing is booked.
    await c.masterTrades('sell', 0.01, 51_000);
    expect(await c.other.run()).toEqual({ booked: 0, closed: 0, external: 0 });
    expect(await c.rows()).toEqual([]);
    expect((await c.day()).map((d) => d.realizedPnl)).toEqual([0]);
    const after = await c.w.db.db.select().from(orders).where(eq(orders.accountId, c.follower.id));
    expect(after.map((order) => order.positionId)).toEqual([NO_POSITION, NO_POSITION]);
  });
});
