/**
 * /copy follow names one of the caller's accounts: only an account of the server the command runs in
 * (issue #19 item 2; the lookup took the caller's account of any server).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { copyRepository } from '../../../src/db/repositories/copy';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { copyServiceOf } from './support';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('/copy follow', { timeout: 60_000 }, () => {
  it("refuses the caller's account of another server as not found, and takes it in its own server", async () => {
    world = await tradingWorld({ accounts: 0, clockFactor: 5 });
    const w = world;
    const OTHER = '110000000000000999';
    // A master in the other server, and the caller's follower account in this one.
    const masterThere = await w.addAccount({ funds: 10_000, name: 'lead-there', guildId: OTHER });
    const masterHere = await w.addAccount({ funds: 10_000, name: 'lead-here' });
    const follower = await w.addAccount({ funds: 10_000, name: 'mine' });
    const copies = copyRepository(w.db.db);
    await copies.addMaster(masterThere.id, OTHER);
    await copies.addMaster(masterHere.id, GUILD);
    const service = copyServiceOf(w);
    const input = (master: { id: string }) => ({
      masterAccountId: master.id,
      accountId: follower.id,
      mode: 'mirror' as const,
      value: 1,
    });
    const there = { guildId: OTHER, userId: follower.ownerId, isAdmin: false };
    await expect(service.follow(there, input(masterThere))).rejects.toMatchObject({ code: 'not-found' });
    expect(await copies.activeLinksOf(masterThere.id)).toEqual([]);
    await service.follow({ guildId: GUILD, userId: follower.ownerId, isAdmin: false }, input(masterHere));
    expect((await copies.activeLinksOf(masterHere.id)).map((link) => link.followerAccountId)).toEqual([
      follower.id,
    ]);
  });
});
