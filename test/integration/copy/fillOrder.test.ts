import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { copyRepository } from '../../../src/db/repositories/copy';
import { executions } from '../../../src/db/schema';
import { createCopyTrading } from '../../../src/copy';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const BTC = 'BTC/USDT:USDT';
let seq = 0;

async function byHand(w: TradingWorld, account: AccountRow, side: 'buy' | 'sell', quantity: number) {
  seq += 1;
  await w.gateways.forAccount(account).placeOrder({ clientOrderId: `hand${seq}x${Date.now()}`, symbol: BTC, side, type: 'market', quantity, reduceOnly: side === 'sell' });
}

async function positionOf(w: TradingWorld, account: AccountRow): Promise<number> {
  const positions = await w.gateways.forAccount(account).positions();
  return positions.filter((p) => p.symbol === BTC).reduce((sum, p) => sum + (p.side === 'long' ? p.quantity : -p.quantity), 0);
}

describe('a follower\'s copies in the master\'s fill order (issue #13 item 6)', { timeout: 120_000 }, () => {
  it('an add and the close after it, polled together: the follower adds, then closes, and ends flat', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 10_000 });
    const followers = [await w.addAccount({ funds: 10_000 }), await w.addAccount({ funds: 10_000 })];
    const copies = copyRepository(w.db.db);
    await copies.addMaster(master.id, GUILD);
    for (const follower of followers) {
      await copies.upsertLink({ id: randomUUID(), guildId: GUILD, masterAccountId: master.id, followerAccountId: follower.id, followerOwnerId: follower.ownerId, mode: 'mirror', value: 1 });
    }
    const engine = w.engine({ maxSignalLagMs: 30 * 60_000, concurrency: 8 });
    await engine.start();
    const copy = createCopyTrading({ db: w.db.db, gateways: w.gateways, intake: w.intake, clock: w.clock, log: w.log });
    await copy.poll();
    await byHand(w, master, 'buy', 0.01);
    await copy.poll();
    await engine.runCycle();
    for (const follower of followers) expect(await positionOf(w, follower)).toBeCloseTo(0.01, 9);
    // Between two polls the master adds and then closes everything.
    await byHand(w, master, 'buy', 0.01);
    await byHand(w, master, 'sell', 0.02);
    expect((await copy.poll()).signals).toBe(2);
    await engine.runCycle();
    for (const follower of followers) {
      expect(await positionOf(w, follower)).toBe(0);
      const outcomes = await w.db.db.select({ status: executions.status, reason: executions.reason }).from(executions).where(eq(executions.accountId, follower.id));
      expect(outcomes.map((o) => [o.status, o.reason])).toEqual([
        ['placed', null],
        ['placed', null],
        ['placed', null],
      ]);
    }
  });
});
