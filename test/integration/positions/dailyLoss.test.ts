import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { executions } from '../../../src/db/schema';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { nextUtcDay } from '../../../src/domain/risk';
import { issueSignal, positionsWorld, SYMBOL, type PositionsWorld } from './support';

let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('daily loss limit', () => {
  it('a loss past the limit pauses the account (feed + one DM); the next UTC day it trades again', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    // 1 000 USDT of equity, limit 1 %: a 10 USDT loss (2 units from 100 to 95, plus fees) reaches it.
    const account = await world.addAccount({
      funds: 1_000,
      sizingMode: 'fixed',
      sizingValue: 200,
      leverage: 1,
      maxDailyLossPct: 1,
      stopOnLoss: true,
      maxPositionUsd: 1_000,
    });
    await world.signal();
    await world.cycle();
    world.sim.setPrice(SYMBOL, 95, 'both');
    await world.cycle();
    const [position] = await world.positionRows(account.id);
    expect(position).toMatchObject({ status: 'closed', closeReason: 'stop-loss' });
    expect(position!.realizedPnl).toBeLessThan(-10);

    const paused = await accountsRepository(world.db.db).byId(account.id);
    expect(paused!.pausedUntil?.getTime()).toBe(nextUtcDay(world.clock.now()));
    const feed = await world.feedRows(account.id);
    expect(feed.filter((row) => row.kind === 'event').map((row) => (row.payload as { kind: string }).kind)).toContain('account-paused');
    expect(feed.filter((row) => row.kind === 'dm')).toHaveLength(1);
    expect(feed.find((row) => row.kind === 'dm')!.payload).toMatchObject({ kind: 'account-paused', reason: 'paused-daily-loss' });

    // Same day: the next signal is skipped for this account.
    world.sim.setPrice(SYMBOL, 100, 'both');
    await world.signal(issueSignal, 'same-day');
    await world.cycle();
    await world.cycle();
    const sameDay = await world.db.db.select().from(executions).where(eq(executions.accountId, account.id));
    expect(sameDay.map((row) => row.reason).sort()).toEqual([null, 'paused-daily-loss']);
    expect((await world.feedRows(account.id)).filter((row) => row.kind === 'dm')).toHaveLength(1);

    // The next UTC day: trades again, by itself.
    world.clock.advance(nextUtcDay(world.clock.now()) - world.clock.now() + 60_000);
    await world.signal(issueSignal, 'next-day');
    await world.cycle();
    const nextDay = await world.db.db.select().from(executions).where(eq(executions.accountId, account.id));
    expect(nextDay.filter((row) => row.status === 'placed')).toHaveLength(2);
    const open = (await world.positionRows(account.id)).filter((row) => row.status === 'open');
    expect(open).toHaveLength(1);
  });
});
