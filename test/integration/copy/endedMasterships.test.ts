import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createCopyPositions } from '../../../src/copy';
import { createEndedMastershipSweeper } from '../../../src/copy/endedMasterships';
import { createMasterships } from '../../../src/copy/mastership';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { copyRepository } from '../../../src/db/repositories/copy';
import { copyEndedMasterships, executions, feedOutbox } from '../../../src/db/schema';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, copyRig, mirrorLink, positionOf } from './support';
import { createStore } from '../../../src/db/store';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const rig = (w: TradingWorld) => ({
  masterships: createMasterships({ store: createStore(w.db.db), clock: w.clock, log: w.log }),
  sweeper: createEndedMastershipSweeper({ store: createStore(w.db.db), clock: w.clock, log: w.log }),
});

describe('an ended mastership closes its followers out of everything they hold from it, whatever was on its way (issue #13 item 3)', { timeout: 120_000 }, () => {
  it('a copy open still being sent when the mastership ends is closed once it is known to have filled', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { copy, engine } = await copyRig(w, master, [follower]);
    const { masterships, sweeper } = rig(w);
    await byHand(w, master, 'buy', 0.01);
    await copy.poll();
    // The follower's copy goes out and fills, but its answer is lost: the execution is in flight.
    w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', apiKey: w.apiKeyOf(follower), count: 1 });
    w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/order', method: 'GET', apiKey: w.apiKeyOf(follower), status: 503 });
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBeCloseTo(0.01, 9);
    expect((await w.db.db.select().from(executions).where(eq(executions.accountId, follower.id)))[0]?.status).toBe('in-flight');

    // The mastership ends now: nothing is known filled yet, so the first round waits.
    expect(await masterships.end(master.id, 'revoked')).toMatchObject({ closes: 0 });
    w.sim.clearFaults();
    await engine.runCycle(); // the copy's fill is confirmed
    w.clock.advance(10_000);
    expect(await sweeper.run()).toBe(1);
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBe(0);
    w.clock.advance(60_000);
    await sweeper.run();
    const [ended] = await w.db.db.select().from(copyEndedMasterships);
    expect(ended?.settledAt).not.toBeNull();
  });

  it('a close the exchange refused is tried again by the next round', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { step, engine } = await copyRig(w, master, [follower]);
    const { masterships, sweeper } = rig(w);
    await byHand(w, master, 'buy', 0.01);
    await step();
    expect(await masterships.end(master.id, 'revoked')).toMatchObject({ closes: 1 });
    w.sim.inject({ kind: 'http-5xx', path: '/fapi/*', apiKey: w.apiKeyOf(follower), status: 503, count: 20 });
    await engine.runCycle();
    expect(w.sim.positions(w.apiKeyOf(follower)).map((p) => p.amt)).toEqual([0.01]);
    w.sim.clearFaults();
    w.clock.advance(11_000);
    expect(await sweeper.run()).toBe(1);
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBe(0);
  });

  it("never closes another master's copy on a stale figure (the follower closed the first master's copy by hand)", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const first = await w.addAccount({ funds: 100_000 });
    const second = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, first, [follower]);
    const copies = copyRepository(w.db.db);
    await copies.addMaster(second.id, GUILD);
    await copies.upsertLink(mirrorLink(second, follower));
    const positions = createCopyPositions({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log, externalCheckEveryMs: 0 });
    await step();
    await byHand(w, first, 'buy', 0.01);
    await step();
    await positions.run();
    // The follower closes the first master's copy by hand; the copied position is booked closed.
    await byHand(w, follower, 'sell', 0.01);
    await positions.run();
    await byHand(w, second, 'buy', 0.004);
    await step();
    expect(await positionOf(w, follower)).toBeCloseTo(0.004, 9);
    expect(await rig(w).masterships.end(first.id, 'revoked')).toMatchObject({ closes: 0 });
    await step();
    expect(await positionOf(w, follower)).toBeCloseTo(0.004, 9);
  });

  it('a master ended and made again before the engine ran: the old mastership\'s queued add opens nothing', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { copy, engine } = await copyRig(w, master, [follower]);
    await byHand(w, master, 'buy', 0.01);
    await copy.poll();
    await engine.runCycle();
    await byHand(w, master, 'buy', 0.01);
    expect((await copy.poll()).signals).toBe(1);
    await rig(w).masterships.end(master.id, 'stopped');
    await copyRepository(w.db.db).addMaster(master.id, GUILD);
    // At once, even within the same millisecond: the new mastership starts after the ended one.
    const [ended] = await w.db.db.select().from(copyEndedMasterships);
    expect((await copyRepository(w.db.db).master(master.id))!.createdAt.getTime()).toBeGreaterThan(ended!.mastershipSince);
    await engine.runCycle();
    const outcomes = await w.db.db.select({ status: executions.status, reason: executions.reason }).from(executions).where(eq(executions.accountId, follower.id));
    expect(outcomes.map((o) => o.reason)).toContain('copy-master-ended');
    // The old mastership's round closes what it left (the new one holds nothing yet).
    w.clock.advance(10_000);
    expect(await rig(w).sweeper.run()).toBe(1);
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBe(0);
  });

  it('a master whose key the exchange refuses ends its mastership: followers are closed out', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [follower]);
    await byHand(w, master, 'buy', 0.01);
    await step();
    await accountsRepository(w.db.db).disable(master.id, 'key-revoked');
    await step();
    expect(await copyRepository(w.db.db).master(master.id)).toBeNull();
    expect(await positionOf(w, follower)).toBe(0);
  });

  it('one follower whose copy is stuck on its way never holds up the others; a day on, its owner is told', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const good = await w.addAccount({ funds: 10_000 });
    const stuck = await w.addAccount({ funds: 10_000 });
    const { copy, engine, step } = await copyRig(w, master, [good, stuck]);
    const { masterships, sweeper } = rig(w);
    await byHand(w, master, 'buy', 0.01);
    await step();
    // The add's answer is lost for one follower and its lookups fail from then on.
    await byHand(w, master, 'buy', 0.01);
    await copy.poll();
    w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', apiKey: w.apiKeyOf(stuck), count: 1 });
    w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/order', method: 'GET', apiKey: w.apiKeyOf(stuck), status: 503 });
    await engine.runCycle();
    expect(await masterships.end(master.id, 'revoked')).toMatchObject({ closes: 1 });
    await engine.runCycle();
    expect(await positionOf(w, good)).toBe(0);
    expect(w.sim.positions(w.apiKeyOf(stuck)).map((p) => p.amt)).toEqual([0.02]);
    w.clock.advance(25 * 3_600_000);
    await sweeper.run();
    const [ended] = await w.db.db.select().from(copyEndedMasterships);
    expect(ended?.settledAt).not.toBeNull();
    const told = await w.db.db.select().from(feedOutbox).where(eq(feedOutbox.accountId, stuck.id));
    expect(told.some((row) => row.kind === 'dm' && JSON.stringify(row.payload).includes('could not be closed'))).toBe(true);
  });

  it("a later round never closes the same account's new mastership's copy", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { step, engine } = await copyRig(w, master, [follower]);
    const { masterships, sweeper } = rig(w);
    const positions = createCopyPositions({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log, externalCheckEveryMs: 0 });
    await byHand(w, master, 'buy', 0.01);
    await step();
    await positions.run();
    // The first mastership ends; its close is refused; the follower closes by hand.
    await masterships.end(master.id, 'stopped');
    w.sim.inject({ kind: 'http-5xx', path: '/fapi/*', apiKey: w.apiKeyOf(follower), status: 503, count: 20 });
    await engine.runCycle();
    w.sim.clearFaults();
    await byHand(w, follower, 'sell', 0.01);
    await positions.run();
    // A new mastership, followed again: the master (still long 0.01) buys 0.004, copied.
    const copies = copyRepository(w.db.db);
    await copies.addMaster(master.id, GUILD);
    await copies.upsertLink(mirrorLink(master, follower));
    await step();
    await byHand(w, master, 'buy', 0.004);
    await step();
    expect(await positionOf(w, follower)).toBeCloseTo(0.004, 9);
    w.clock.advance(11_000);
    await sweeper.run();
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBeCloseTo(0.004, 9);
  });
});
