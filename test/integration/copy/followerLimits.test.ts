import { and, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { usersRepository } from '../../../src/db/repositories/users';
import { dailyStats, executions, feedOutbox } from '../../../src/db/schema';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { utcDayKey } from '../../../src/domain/risk';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, copyRig, positionOf } from './support';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The follower's copy executions, oldest first: [status, reason]. */
async function outcomesOf(w: TradingWorld, account: AccountRow): Promise<[string, string | null][]> {
  const rows = await w.db.db
    .select({ status: executions.status, reason: executions.reason, at: executions.createdAt })
    .from(executions)
    .where(eq(executions.accountId, account.id));
  return rows.sort((a, b) => a.at.getTime() - b.at.getTime()).map((row) => [row.status, row.reason]);
}

/** Reasons the feed told the channel for this account's skipped copies. */
async function feedReasons(w: TradingWorld, account: AccountRow): Promise<string[]> {
  const rows = await w.db.db.select().from(feedOutbox).where(eq(feedOutbox.accountId, account.id));
  return rows
    .map((row) => row.payload as { outcome?: string; reason?: string | null })
    .filter((payload) => payload.outcome === 'skipped')
    .map((payload) => payload.reason ?? '');
}

describe("copy opens and adds stay within the follower's own limits; exits always pass (issue #13 item 2)", { timeout: 120_000 }, () => {
  it('the copied position stops at the max position: an add is cut to what is left, then refused; the close takes all of it out', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    // 60 USD of margin at 10× is 600 USD of BTC: 0.012 at 50,000.
    const tight = await w.addAccount({ funds: 10_000, maxPositionUsd: 60, leverage: 10 });
    const roomy = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [tight, roomy]);

    await byHand(w, master, 'buy', 0.008);
    await step();
    await byHand(w, master, 'buy', 0.008);
    await step();
    await byHand(w, master, 'buy', 0.003);
    await step();
    expect(await positionOf(w, roomy)).toBeCloseTo(0.019, 9);
    expect(await positionOf(w, tight)).toBeCloseTo(0.012, 9);
    expect(await outcomesOf(w, tight)).toEqual([
      ['placed', null],
      ['placed', null],
      ['skipped', 'max-position-reached'],
    ]);
    expect(await feedReasons(w, tight)).toEqual(['max-position-reached']);

    await byHand(w, master, 'sell', 0.019);
    await step();
    expect([await positionOf(w, master), await positionOf(w, tight), await positionOf(w, roomy)]).toEqual([0, 0, 0]);
  });

  it("opens and adds take the day's trades; past the limit they are refused, and the close still goes", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const twoADay = await w.addAccount({ funds: 10_000, maxDailyTrades: 2 });
    const { step } = await copyRig(w, master, [twoADay]);
    for (let i = 0; i < 3; i += 1) {
      await byHand(w, master, 'buy', 0.005);
      await step();
    }
    expect(await positionOf(w, twoADay)).toBeCloseTo(0.01, 9);
    const [day] = await w.db.db
      .select()
      .from(dailyStats)
      .where(and(eq(dailyStats.accountId, twoADay.id), eq(dailyStats.day, utcDayKey(w.clock.now()))));
    expect(day?.trades).toBe(2);
    await byHand(w, master, 'sell', 0.015);
    await step();
    expect(await positionOf(w, twoADay)).toBe(0);
    expect(await outcomesOf(w, twoADay)).toEqual([
      ['placed', null],
      ['placed', null],
      ['skipped', 'daily-trade-limit'],
      ['placed', null],
    ]);
  });

  it('a fill found after downtime is too old to copy in, but never too old to copy out', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [follower]); // signal max lag: 30 min
    await byHand(w, master, 'buy', 0.01);
    await step();
    expect(await positionOf(w, follower)).toBeCloseTo(0.01, 9);

    // The bot is down for 31 minutes while the master closes and opens again.
    await byHand(w, master, 'sell', 0.01);
    await byHand(w, master, 'buy', 0.004);
    w.clock.advance(31 * 60_000);
    await step();
    expect(await positionOf(w, follower)).toBe(0);
    expect(await outcomesOf(w, follower)).toEqual([
      ['placed', null],
      ['placed', null],
      ['skipped', 'signal-too-old'],
    ]);
    expect(await feedReasons(w, follower)).toEqual(['signal-too-old']);
  });

  it("the member's exposure cap holds across their following accounts, and a wallet that cannot pay is refused", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const ownerId = '200000000000077777';
    await usersRepository(w.db.db).ensure(ownerId);
    await usersRepository(w.db.db).setExposureCap(ownerId, 1_000);
    const first = await w.addAccount({ funds: 10_000, ownerId });
    const second = await w.addAccount({ funds: 10_000, ownerId });
    // 0.015 BTC at 10× needs 75 USD of margin; this wallet holds 50.
    const poor = await w.addAccount({ funds: 50 });
    const { step } = await copyRig(w, master, [first, second, poor]);

    await byHand(w, master, 'buy', 0.015); // 750 USD: one of the member's accounts fits under 1,000
    await step();
    const held = [await positionOf(w, first), await positionOf(w, second)].sort();
    expect(held[0]).toBe(0);
    expect(held[1]).toBeCloseTo(0.015, 9);
    const reasons = [...(await outcomesOf(w, first)), ...(await outcomesOf(w, second))].map(([, reason]) => reason).sort();
    expect(reasons).toEqual(['exposure-cap', null]);
    expect(await positionOf(w, poor)).toBe(0);
    expect(await outcomesOf(w, poor)).toEqual([['skipped', 'insufficient-balance']]);

    await byHand(w, master, 'sell', 0.015);
    await step();
    expect([await positionOf(w, first), await positionOf(w, second), await positionOf(w, poor)]).toEqual([0, 0, 0]);
  });
});
