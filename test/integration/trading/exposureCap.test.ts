import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { usersRepository } from '../../../src/db/repositories/users';
import { executions, signals } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { databaseKinds } from '../../support/db';
import { tradingWorld, type TradingWorld } from '../../support/trading';

/**
 * The member's exposure cap (notional per coin across their accounts) counts what may still fill:
 * resting limit entries and entries in flight, not only filled positions. Invariant: the notional of
 * a member's open positions plus their working entries in one coin never passes the cap because of
 * a new entry.
 */

const limitLong = (entry: number): TradeSignal => ({
  symbol: 'BTC/USDT',
  side: 'long',
  entryType: 'limit',
  entries: [entry],
  stopLoss: entry * 0.95,
  takeProfits: [entry * 1.1],
  leverage: 1,
});

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});


describe.each(databaseKinds)('exposure cap with resting entries on %s', (kind) => {
  it('cap 2,500 and four resting limit entries of 980 each, one cycle apart: two rest, two are refused', { timeout: 90_000 }, async () => {
    world = await tradingWorld({ kind, accounts: 0, marketType: 'spot' });
    const w = world;
    // Spot holds several positions in one coin, so only the cap stands between the entries.
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 980, maxPositionUsd: 1_000, funds: 10_000 });
    w.accounts.push(account);
    await usersRepository(w.db.db).ensure(account.ownerId);
    await usersRepository(w.db.db).setExposureCap(account.ownerId, 2_500);
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
    await engine.start();
    // 49,000 is below the market (50,000): every entry rests unfilled.
    for (const ref of ['a', 'b', 'c', 'd']) {
      await w.submit(limitLong(49_000), ref);
      await engine.runCycle();
      w.clock.advance(1_000);
    }
    const rows = await w.db.db
      .select({ ref: signals.sourceRef, status: executions.status, reason: executions.reason, notional: executions.notional })
      .from(executions)
      .innerJoin(signals, eq(signals.id, executions.signalId))
      .orderBy(signals.createdAt);
    expect(rows.map((row) => row.status)).toEqual(['placed', 'placed', 'skipped', 'skipped']);
    expect(rows.slice(2).map((row) => row.reason)).toEqual(['exposure-cap', 'exposure-cap']);
    const resting = rows.filter((row) => row.status === 'placed').reduce((sum, row) => sum + (row.notional ?? 0), 0);
    expect(resting).toBeLessThanOrEqual(2_500);
  });
});
