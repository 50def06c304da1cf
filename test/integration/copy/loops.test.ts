import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { copyRepository } from '../../../src/db/repositories/copy';
import { createCopyTrading } from '../../../src/copy';
import { isUserError } from '../../../src/services/errors';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, mirrorLink, positionOf, copyServiceOf } from './support';
import { createStore } from '../../../src/db/store';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('copy loops (issue #13 item 1)', { timeout: 120_000 }, () => {
  it('a follow that would close a loop is refused, naming it; a chain is fine', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const a = await w.addAccount({ funds: 10_000, name: 'alpha' });
    const b = await w.addAccount({ funds: 10_000, name: 'beta' });
    const c = await w.addAccount({ funds: 10_000, name: 'gamma' });
    const copies = copyRepository(w.db.db);
    for (const master of [a, b, c]) await copies.addMaster(master.id, GUILD);
    const service = copyServiceOf(w);
    const follow = (follower: AccountRow, master: AccountRow) =>
      service.follow({ guildId: GUILD, userId: follower.ownerId, isAdmin: false }, { masterAccountId: master.id, accountId: follower.id, mode: 'mirror', value: 1 });
    await follow(a, b); // alpha copies beta
    await follow(b, c); // beta copies gamma: a chain
    const refused = await follow(c, a).catch((error: unknown) => error); // gamma copies alpha: a loop
    expect(isUserError(refused)).toBe(true);
    expect((refused as Error).message).toContain('gamma → alpha → beta → gamma');
    expect((await copies.activeLinksOf(a.id)).map((l) => l.followerAccountId)).toEqual([]);
  });

  it('the bot\'s own copies on a master are never copied: one trade by hand stays one trade on every account, even in a loop written before the check', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const a = await w.addAccount({ funds: 10_000 });
    const b = await w.addAccount({ funds: 10_000 });
    const c = await w.addAccount({ funds: 10_000 });
    const copies = copyRepository(w.db.db);
    for (const master of [a, b]) await copies.addMaster(master.id, GUILD);
    // a copies b, b copies a (as an older version could store), c copies a.
    await copies.upsertLink(mirrorLink(b, a));
    await copies.upsertLink(mirrorLink(a, b));
    await copies.upsertLink(mirrorLink(a, c));
    const engine = w.engine({ maxSignalLagMs: 30 * 60_000 });
    await engine.start();
    const copy = createCopyTrading({ store: createStore(w.db.db), gateways: w.gateways, intake: w.intake, clock: w.clock, log: w.log });
    await copy.poll(); // snapshots
    await byHand(w, b, 'buy', 0.01);
    for (let i = 0; i < 6; i += 1) {
      await copy.poll();
      await engine.runCycle();
    }
    // b's trade reached a once; a's copy of it went nowhere (not back to b, not on to c).
    expect(await positionOf(w, b)).toBeCloseTo(0.01, 9);
    expect(await positionOf(w, a)).toBeCloseTo(0.01, 9);
    expect(await positionOf(w, c)).toBeCloseTo(0, 9);
    // A trade a makes by hand is a's own: c and b copy it, once.
    await byHand(w, a, 'buy', 0.02);
    for (let i = 0; i < 6; i += 1) {
      await copy.poll();
      await engine.runCycle();
    }
    expect(await positionOf(w, a)).toBeCloseTo(0.03, 9);
    expect(await positionOf(w, c)).toBeCloseTo(0.02, 9);
    // b holds a cross position it opened by hand: the copy joins it (Binance refuses a margin-type change then, -4048).
    expect(await positionOf(w, b)).toBeCloseTo(0.03, 9);
  });
});
