import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../../src/db/client';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { executions, orders, positions, signals } from '../../../src/db/schema';
import { isUserError } from '../../../src/services/errors';
import { renderPnl } from '../../../src/discord/embeds/views';
import { periodStart } from '../../../src/services/pnl';
import { freshDatabase } from '../../support/db';
import { servicesOn } from './fakes';

const GUILD = '110000000000000001';
const OTHER_GUILD = '110000000000000002';
const ALICE = '210000000000000001';
const BOB = '210000000000000002';

let db: DatabaseHandle;
let world: Awaited<ReturnType<typeof servicesOn>>;
beforeEach(async () => {
  db = await freshDatabase('pglite');
  world = await servicesOn(db);
});
afterEach(async () => {
  await db.close();
});

async function account(ownerId: string, name: string, guildId = GUILD, mode: 'live' | 'demo' | 'paper' = 'paper') {
  return accountsRepository(db.db).create({
    id: randomUUID(), ownerId, guildId, name, exchangeId: 'binance', marketType: 'futures', mode, enabled: true, verified: true,
  });
}

/** One signal with one execution per account and an entry + stop order each, `minutesAgo` old. */
async function trade(accountIds: { id: string; ownerId: string }[], minutesAgo: number, status: 'filled' | 'open' | 'rejected' = 'filled') {
  const signalId = randomUUID();
  const at = new Date(world.clock.now() - minutesAgo * 60_000);
  await db.db.insert(signals).values({
    id: signalId, guildId: GUILD, source: 'command', sourceRef: signalId, symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 48_000, takeProfits: [], status: 'done', createdAt: at,
  });
  for (const acc of accountIds) {
    const executionId = randomUUID();
    await db.db.insert(executions).values({ id: executionId, signalId, accountId: acc.id, ownerId: acc.ownerId, status: 'placed' });
    await db.db.insert(orders).values([
      { id: randomUUID(), executionId, signalId, accountId: acc.id, ownerId: acc.ownerId, leg: 'e0', clientOrderId: `e${randomUUID().slice(0, 20)}`, symbol: 'BTC/USDT:USDT', side: 'buy', type: 'market', quantity: 0.1, status, filledQuantity: status === 'filled' ? 0.1 : 0, averagePrice: status === 'filled' ? 50_000 : null, createdAt: at, reason: status === 'rejected' ? 'insufficient-funds' : null },
      { id: randomUUID(), executionId, signalId, accountId: acc.id, ownerId: acc.ownerId, leg: 's0', clientOrderId: `s${randomUUID().slice(0, 20)}`, symbol: 'BTC/USDT:USDT', side: 'sell', type: 'stop-loss', quantity: 0.1, triggerPrice: 48_000, status: 'open', createdAt: new Date(at.getTime() + 1000) },
    ]);
  }
  return signalId;
}

describe('orders read model', () => {
  it('shows only the caller\'s orders of this server, newest first, filtered and paged', async () => {
    const a1 = await account(ALICE, 'a1');
    const a2 = await account(ALICE, 'a2');
    const b1 = await account(BOB, 'b1');
    const elsewhere = await account(ALICE, 'far', OTHER_GUILD);
    await trade([a1, b1], 120);
    await trade([a1, a2, elsewhere], 60);
    await trade([a2], 10, 'rejected');

    const orders = world.services.orders;
    const all = await orders.page({ ownerId: ALICE, guildId: GUILD, limit: 25 });
    expect(all.total).toBe(8);
    expect(all.rows.map((r) => r.accountName)).not.toContain('b1');
    expect(all.rows.map((r) => r.accountName)).not.toContain('far');
    const times = all.rows.map((r) => r.createdAt.getTime());
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(all.rows[0]).toMatchObject({ accountName: 'a2', leg: 's0' });

    expect((await orders.page({ ownerId: ALICE, guildId: GUILD, accountId: a1.id })).total).toBe(4);
    expect((await orders.page({ ownerId: ALICE, guildId: GUILD, status: 'failed' })).rows.map((r) => r.reason)).toEqual(['insufficient-funds']);
    expect((await orders.page({ ownerId: ALICE, guildId: GUILD, status: 'filled' })).total).toBe(3);
    const page = await orders.page({ ownerId: ALICE, guildId: GUILD, limit: 3, page: 2 });
    expect(page).toMatchObject({ page: 2, pages: 3, total: 8 });
    expect(page.rows).toHaveLength(2);
    expect((await orders.page({ ownerId: ALICE, guildId: GUILD, limit: 3, page: 99 })).page).toBe(2);

    for (const bad of [
      orders.page({ ownerId: BOB, guildId: GUILD, accountId: a1.id }),
      orders.page({ ownerId: ALICE, guildId: GUILD, accountId: elsewhere.id }),
      orders.page({ ownerId: ALICE, guildId: GUILD, accountId: 'x' }),
    ]) {
      await expect(bad).rejects.toSatisfy((e: unknown) => isUserError(e) && e.code === 'not-found');
    }
    await expect(orders.page({ ownerId: ALICE, guildId: GUILD, limit: 26 })).rejects.toThrow(/between 1 and 25/);
    await expect(orders.page({ ownerId: ALICE, guildId: GUILD, status: 'weird' })).rejects.toThrow(/open, filled, cancelled, failed/);
    expect((await orders.page({ ownerId: BOB, guildId: GUILD })).total).toBe(2);
  });
});

describe('pnl read model', () => {
  it('adds realised PnL of closed positions in the period and unrealised PnL of open ones at the current price', async () => {
    const a1 = await account(ALICE, 'a1');
    const a2 = await account(ALICE, 'a2');
    const b1 = await account(BOB, 'b1');
    const now = world.clock.now();
    const position = (acc: { id: string; ownerId: string }, fields: Partial<typeof positions.$inferInsert>) =>
      db.db.insert(positions).values({ id: randomUUID(), accountId: acc.id, ownerId: acc.ownerId, signalId: randomUUID(), symbol: 'BTC/USDT:USDT', side: 'long', ...fields });
    await position(a1, { status: 'closed', realizedPnl: 120, fees: 2, closedAt: new Date(now - 3_600_000) });
    await position(a1, { status: 'closed', realizedPnl: -40, fees: 1, closedAt: new Date(now - 3 * 86_400_000) });
    await position(a2, { status: 'open', quantity: 0.2, averageEntryPrice: 50_000 });
    await position(a2, { status: 'open', side: 'short', symbol: 'ETH/USDT:USDT', quantity: 1, averageEntryPrice: 3_000 });
    await position(b1, { status: 'closed', realizedPnl: 999, closedAt: new Date(now - 60_000) });

    const day = await world.services.pnl.report({ ownerId: ALICE, guildId: GUILD, period: 'day' });
    expect(day.accounts.map((a) => [a.name, a.realised, a.unrealised, a.openPositions, a.closedTrades])).toEqual([
      ['a1', 120, 0, 0, 1],
      ['a2', 0, null, 2, 0],
    ]);
    // BTC at 51,000 (+200 on 0.2); ETH has no price: left out and said so.
    expect(day.pricesMissing).toBe(true);
    world.prices.set('ETH/USDT:USDT', 2_900);
    const week = await world.services.pnl.report({ ownerId: ALICE, guildId: GUILD, period: 'week' });
    expect(week.totals).toEqual([{ mode: 'paper', realised: 80, unrealised: 300, fees: 3, accounts: 2 }]);
    expect(week.pricesMissing).toBe(false);
    const one = await world.services.pnl.report({ ownerId: ALICE, guildId: GUILD, period: 'all', accountId: a1.id });
    expect(one.accounts.map((a) => a.name)).toEqual(['a1']);
    await expect(world.services.pnl.report({ ownerId: ALICE, guildId: GUILD, accountId: b1.id })).rejects.toThrow(/not found/);
    await expect(world.services.pnl.report({ ownerId: ALICE, guildId: GUILD, period: 'year' })).rejects.toThrow(/day, week, month, all/);
  });

  it('live, demo and paper totals stay apart: paper gains are never added to live money (issue #12 item 9)', async () => {
    const live = await account(ALICE, 'main', GUILD, 'live');
    const paper = await account(ALICE, 'practice', GUILD, 'paper');
    const demo = await account(ALICE, 'testnet', GUILD, 'demo');
    const now = world.clock.now();
    const closed = (acc: { id: string; ownerId: string }, realizedPnl: number, fees: number) =>
      db.db.insert(positions).values({
        id: randomUUID(), accountId: acc.id, ownerId: acc.ownerId, signalId: randomUUID(), symbol: 'BTC/USDT:USDT', side: 'long',
        status: 'closed', realizedPnl, fees, closedAt: new Date(now - 60_000),
      });
    await closed(live, -25, 1);
    await closed(paper, 900, 4);
    await closed(demo, 40, 2);
    const report = await world.services.pnl.report({ ownerId: ALICE, guildId: GUILD, period: 'day' });
    expect(report.totals).toEqual([
      { mode: 'live', realised: -25, unrealised: 0, fees: 1, accounts: 1 },
      { mode: 'demo', realised: 40, unrealised: 0, fees: 2, accounts: 1 },
      { mode: 'paper', realised: 900, unrealised: 0, fees: 4, accounts: 1 },
    ]);
    const text = JSON.stringify(renderPnl(report));
    expect(text).toContain('Live total: -25.00 USDT');
    expect(text).toContain('Paper total (simulated): +900.00 USDT');
    expect(text).not.toMatch(/915|875/);
    // Every /pnl says what its figures include.
    expect(text).toContain('fees (valued at fill time) and futures funding included');
  });

  it('an open position counts what it has realised so far (booked when its exits fill) beside its unrealised part (issue #12 item 6)', async () => {
    const live = await account(ALICE, 'tp-open');
    // As the book leaves it after TP1 of two: 0.1 of 0.2 sold 2,000 above the entry, less fees (195.92), and −1.5 of funding.
    await db.db.insert(positions).values({
      id: randomUUID(), accountId: live.id, ownerId: ALICE, signalId: randomUUID(), symbol: 'BTC/USDT:USDT', side: 'long', status: 'open', quantity: 0.1, entryQuantity: 0.2, averageEntryPrice: 50_000,
      realizedPnl: 194.42, funding: -1.5,
    });
    world.prices.set('BTC/USDT:USDT', 51_000);
    const report = await world.services.pnl.report({ ownerId: ALICE, guildId: GUILD, period: 'day', accountId: live.id });
    expect(report.accounts[0]?.realised).toBeCloseTo(194.42, 8);
    // The 0.1 still held, at 51,000: +100.
    expect(report.accounts[0]?.unrealised).toBeCloseTo(100, 8);
  });

  it('unrealised PnL of a futures position is at the mark price and counts the contract size (issue #12 item 6)', async () => {
    const acc = await account(ALICE, 'mark');
    await db.db.insert(positions).values({
      id: randomUUID(), accountId: acc.id, ownerId: ALICE, signalId: randomUUID(), symbol: 'BTC/USDT:USDT', side: 'long', status: 'open', quantity: 3, averageEntryPrice: 50_000,
    });
    world.prices.set('BTC/USDT:USDT', 51_000); // last
    world.market.marks.set('BTC/USDT:USDT', 50_500); // mark
    world.market.contractSizes.set('BTC/USDT:USDT', 0.01); // 3 contracts of 0.01 BTC
    const report = await world.services.pnl.report({ ownerId: ALICE, guildId: GUILD, period: 'day', accountId: acc.id });
    // (50,500 − 50,000) × 3 × 0.01 = 15; at the last price without the contract size it read 3,000.
    expect(report.accounts[0]?.unrealised).toBeCloseTo(15, 8);
  });

  it('periods start at the UTC day, 7 and 30 days back, or never', () => {
    const now = Date.UTC(2026, 2, 10, 15, 30);
    expect(periodStart('day', now)?.toISOString()).toBe('2026-03-10T00:00:00.000Z');
    expect(periodStart('week', now)?.toISOString()).toBe('2026-03-03T15:30:00.000Z');
    expect(periodStart('month', now)?.toISOString()).toBe('2026-02-08T15:30:00.000Z');
    expect(periodStart('all', now)).toBeNull();
  });
});
