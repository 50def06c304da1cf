import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { executions } from '../../../src/db/schema';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, copyRig, positionOf } from './support';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a follower\'s copies in the master\'s fill order (issue #13 item 6)', { timeout: 120_000 }, () => {
  it('an add and the close after it, polled together: the follower adds, then closes, and ends flat', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 10_000 });
    const followers = [await w.addAccount({ funds: 10_000 }), await w.addAccount({ funds: 10_000 })];
    const rig = await copyRig(w, master, followers, { concurrency: 8 });
    await byHand(w, master, 'buy', 0.01);
    await rig.step();
    for (const follower of followers) expect(await positionOf(w, follower)).toBeCloseTo(0.01, 9);
    // Between two polls the master adds and then closes everything.
    await byHand(w, master, 'buy', 0.01);
    await byHand(w, master, 'sell', 0.02);
    expect((await rig.copy.poll()).signals).toBe(2);
    await rig.engine.runCycle();
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
