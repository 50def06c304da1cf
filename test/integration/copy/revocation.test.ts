import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createEndedMastershipSweeper } from '../../../src/copy/endedMasterships';
import { createMasterships } from '../../../src/copy/mastership';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { copyRepository } from '../../../src/db/repositories/copy';
import { guildsRepository } from '../../../src/db/repositories/guilds';
import { readModels } from '../../../src/db/repositories/readModels';
import { copyLinks, executions, feedOutbox } from '../../../src/db/schema';
import { createGuildSettingsService } from '../../../src/services/guildSettings';
import { isUserError } from '../../../src/services/errors';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { byHand, copyRig, copyServiceOf, mirrorLink, positionOf } from './support';
import { createStore } from '../../../src/db/store';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Direct messages queued for an account's owner: [notice kind, detail]. */
async function noticesOf(w: TradingWorld, accountId: string): Promise<[string, string][]> {
  const rows = await w.db.db.select().from(feedOutbox).where(eq(feedOutbox.accountId, accountId));
  return rows
    .filter((row) => row.kind === 'dm')
    .map((row) => row.payload as { type: string; kind: string; detail: string })
    .filter((payload) => payload.type === 'notice')
    .map((payload) => [payload.kind, payload.detail]);
}

describe('a mastership that ends stops steering its followers (issue #13 item 3)', { timeout: 120_000 }, () => {
  it("/copy master off: the followers' copied positions are closed, their own trades stay, later master fills are not copied", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const other = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [follower, other]);
    await byHand(w, follower, 'buy', 0.005); // the member's own, not copied
    await byHand(w, master, 'buy', 0.01);
    await step();
    expect([await positionOf(w, follower), await positionOf(w, other)]).toEqual([0.015, 0.01]);

    const service = copyServiceOf(w);
    const ended = await service.removeMaster({ guildId: GUILD, userId: master.ownerId, isAdmin: false }, master.id);
    expect(ended).toMatchObject({ reason: 'stopped', followers: 2, closes: 1 });
    await step();
    expect([await positionOf(w, follower), await positionOf(w, other)]).toEqual([0.005, 0]);
    // The master is still long: nothing steers the followers any more.
    expect(await positionOf(w, master)).toBeCloseTo(0.01, 9);
    await byHand(w, master, 'buy', 0.01);
    await step();
    expect([await positionOf(w, follower), await positionOf(w, other)]).toEqual([0.005, 0]);
    const links = await w.db.db.select().from(copyLinks).where(eq(copyLinks.masterAccountId, master.id));
    expect(links.map((link) => link.active)).toEqual([false, false]);
    expect((await noticesOf(w, master.id)).map(([kind]) => kind)).toEqual(['master-ended']);
    expect(await noticesOf(w, follower.id)).toEqual([['copy-ended', expect.stringContaining('being closed at market')]]);

    // Made a master again later, the fills in between are not replayed; following must be asked again.
    await copyRepository(w.db.db).addMaster(master.id, GUILD);
    await byHand(w, master, 'buy', 0.01);
    await step();
    await step();
    expect([await positionOf(w, follower), await positionOf(w, other)]).toEqual([0.005, 0]);
  });

  it('/setup copy-masters allow:off ends the masterships of members, not those an admin made', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const byMember = await w.addAccount({ funds: 100_000 });
    const byAdmin = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const guilds = guildsRepository(w.db.db);
    await guilds.update(GUILD, { copyMasters: 'listed', copyMasterMembers: [byMember.ownerId] });
    const service = copyServiceOf(w);
    await service.makeMaster({ guildId: GUILD, userId: byMember.ownerId, isAdmin: false }, byMember.id);
    await service.makeMaster({ guildId: GUILD, userId: byAdmin.ownerId, isAdmin: true }, byAdmin.id);
    const { step } = await copyRig(w, byMember, [follower]);
    await byHand(w, byMember, 'buy', 0.01);
    await step();
    expect(await positionOf(w, follower)).toBeCloseTo(0.01, 9);

    const settings = createGuildSettingsService({ guilds, reads: readModels(w.db.db), log: w.log, masterships: createMasterships({ store: createStore(w.db.db), clock: w.clock, log: w.log }) });
    const admin = { guildId: GUILD, userId: '200000000000000001', isAdmin: true };
    // Still listed: nothing ends.
    expect((await settings.setCopyMasters(admin, 'listed')).copyMasters.ended).toBe(0);
    expect((await settings.setCopyMasters(admin, 'off')).copyMasters.ended).toBe(1);
    const masters = (await copyRepository(w.db.db).listMasters(GUILD)).map((m) => m.accountId);
    expect(masters).toEqual([byAdmin.id]);
    await step();
    expect(await positionOf(w, follower)).toBe(0);
  });

  it('an admin revokes any master; a member cannot', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, master, [follower]);
    await byHand(w, master, 'buy', 0.01);
    await step();
    const service = copyServiceOf(w);
    const member = { guildId: GUILD, userId: follower.ownerId, isAdmin: false };
    const refused = await service.revokeMaster(member, master.id).catch((error: unknown) => error);
    expect(isUserError(refused) && refused.code).toBe('forbidden');
    // An admin of another server cannot reach it either.
    const elsewhere = await service.revokeMaster({ guildId: 'another-guild', userId: '1', isAdmin: true }, master.id).catch((error: unknown) => error);
    expect(isUserError(elsewhere) && elsewhere.code).toBe('not-found');
    expect(await service.revokeMaster({ guildId: GUILD, userId: '1', isAdmin: true }, master.id)).toMatchObject({ reason: 'revoked', closes: 1 });
    await step();
    expect(await positionOf(w, follower)).toBe(0);
    expect(await noticesOf(w, follower.id)).toEqual([['copy-ended', expect.stringContaining('an admin revoked it')]]);
  });

  it('a copy open queued before the end opens nothing after it; the close still takes the follower out', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const master = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { copy, engine } = await copyRig(w, master, [follower]);
    await byHand(w, master, 'buy', 0.01);
    await copy.poll();
    await engine.runCycle();
    // The master adds; the poll queues the add, then the mastership ends before the engine runs it.
    await byHand(w, master, 'buy', 0.01);
    expect((await copy.poll()).signals).toBe(1);
    const masterships = createMasterships({ store: createStore(w.db.db), clock: w.clock, log: w.log });
    expect(await masterships.endOfMember(GUILD, master.ownerId, 'left')).toHaveLength(1);
    // The add is still queued: the first round waits for it, the engine skips it, the next round closes.
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBeCloseTo(0.01, 9);
    w.clock.advance(10_000);
    expect(await createEndedMastershipSweeper({ store: createStore(w.db.db), clock: w.clock, log: w.log }).run()).toBe(1);
    await engine.runCycle();
    expect(await positionOf(w, follower)).toBe(0);
    const outcomes = await w.db.db.select({ status: executions.status, reason: executions.reason }).from(executions).where(eq(executions.accountId, follower.id));
    expect(outcomes.map((o) => [o.status, o.reason]).sort()).toEqual([
      ['placed', null],
      ['placed', null],
      ['skipped', 'copy-master-ended'],
    ]);
    // Ending twice does nothing more.
    expect(await masterships.end(master.id, 'left')).toBeNull();
  });

  it('a follower following two masters on one coin has only the ended master\'s copies closed', async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const first = await w.addAccount({ funds: 100_000 });
    const second = await w.addAccount({ funds: 100_000 });
    const follower = await w.addAccount({ funds: 10_000 });
    const { step } = await copyRig(w, first, [follower]);
    await copyRepository(w.db.db).addMaster(second.id, GUILD);
    await copyRepository(w.db.db).upsertLink(mirrorLink(second, follower));
    await step(); // the second master's first snapshot
    await byHand(w, first, 'buy', 0.01);
    await byHand(w, second, 'buy', 0.004);
    await step();
    expect(await positionOf(w, follower)).toBeCloseTo(0.014, 9);
    await createMasterships({ store: createStore(w.db.db), clock: w.clock, log: w.log }).end(first.id, 'revoked');
    await step();
    expect(await positionOf(w, follower)).toBeCloseTo(0.004, 9);
    await byHand(w, second, 'sell', 0.004);
    await step();
    expect(await positionOf(w, follower)).toBe(0);
    expect((await accountsRepository(w.db.db).byId(follower.id))?.enabled).toBe(true);
  });
});
