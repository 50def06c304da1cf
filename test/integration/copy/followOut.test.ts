import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { guildsRepository } from '../../../src/db/repositories/guilds';
import { executions } from '../../../src/db/schema';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, copyRig, positionOf, copyServiceOf } from './support';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('followers always follow out (issue #13 item 5)', { timeout: 120_000 }, () => {
  it('switched off, paused for the day, or on a paused server: the master\'s close still closes each follower; a new open does not', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 10_000 });
    const off = await w.addAccount({ funds: 10_000 });
    const paused = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [off, paused]);
    await byHand(w, master, 'buy', 0.01);
    await step();
    expect([await positionOf(w, off), await positionOf(w, paused)]).toEqual([0.01, 0.01]);

    const accounts = accountsRepository(w.db.db);
    await accounts.update(off.id, { enabled: false });
    await accounts.update(paused.id, { pausedUntil: new Date(w.clock.now() + 86_400_000) });
    await guildsRepository(w.db.db).update(GUILD, { paused: true });

    // A new open is not followed by any of them...
    await byHand(w, master, 'buy', 0.01);
    await step();
    expect([await positionOf(w, off), await positionOf(w, paused)]).toEqual([0.01, 0.01]);
    // ...but the master's close is, by all of them.
    await byHand(w, master, 'sell', 0.02);
    await step();
    await step();
    expect(await positionOf(w, master)).toBe(0);
    expect([await positionOf(w, off), await positionOf(w, paused)]).toEqual([0, 0]);
    const outcomes = await w.db.db.select({ accountId: executions.accountId, status: executions.status, reason: executions.reason }).from(executions).where(eq(executions.accountId, paused.id));
    expect(outcomes.map((o) => [o.status, o.reason]).sort()).toEqual([
      ['placed', null],
      ['placed', null],
      ['skipped', 'server-paused'],
    ]);
  });

  it('the master\'s close takes out only what was copied, never the follower\'s own trades on the coin (issue #13 item 8)', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 10_000 });
    const mixed = await w.addAccount({ funds: 10_000 });
    const off = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [mixed, off]);
    // Switched off: the master's open is not copied; the member then buys 0.05 by hand.
    await accountsRepository(w.db.db).update(off.id, { enabled: false });
    await byHand(w, mixed, 'buy', 0.05);
    await byHand(w, off, 'buy', 0.05);
    await byHand(w, master, 'buy', 0.02);
    await step();
    expect([await positionOf(w, mixed), await positionOf(w, off)]).toEqual([0.07, 0.05]);
    // Half out, then all out: the copied 0.02 goes, in two steps; the members' own 0.05 stays.
    await byHand(w, master, 'sell', 0.01);
    await step();
    expect([await positionOf(w, mixed), await positionOf(w, off)]).toEqual([0.06, 0.05]);
    await byHand(w, master, 'sell', 0.01);
    await step();
    await step();
    expect([await positionOf(w, mixed), await positionOf(w, off)]).toEqual([0.05, 0.05]);
  });

  it('a follower who confirms each copy is asked about opens, never about the way out', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 10_000 });
    const careful = await w.addAccount({ funds: 10_000 });
    const { copy, engine } = await copyRig(w, master, [careful], { confirmWindowMs: 30 * 60_000, link: { confirm: true } });
    const service = copyServiceOf(w);
    await byHand(w, master, 'buy', 0.01);
    await copy.poll();
    const [asked] = await service.pendingConfirmations();
    expect(asked).toMatchObject({ action: 'open' });
    expect(await service.answerConfirmation(asked!.id, careful.ownerId, true)).toMatchObject({ kind: 'queued' });
    await engine.runCycle();
    expect(await positionOf(w, careful)).toBeCloseTo(0.01, 9);
    await byHand(w, master, 'sell', 0.01);
    await copy.poll();
    expect(await service.pendingConfirmations()).toEqual([]);
    await engine.runCycle();
    expect(await positionOf(w, careful)).toBe(0);
  });

  it("a copy still waiting for the follower's answer expires when the master leaves the position: a late Copy opens nothing", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 10_000 });
    const careful = await w.addAccount({ funds: 10_000 });
    const { copy, engine } = await copyRig(w, master, [careful], { confirmWindowMs: 30 * 60_000, link: { confirm: true } });
    const service = copyServiceOf(w);
    await byHand(w, master, 'buy', 0.01);
    await copy.poll();
    const [asked] = await service.pendingConfirmations();
    await byHand(w, master, 'sell', 0.01);
    await copy.poll();
    expect(await service.answerConfirmation(asked!.id, careful.ownerId, true)).toEqual({ kind: 'gone' });
    await engine.runCycle();
    expect(await positionOf(w, careful)).toBe(0);
  });
});
