import { afterEach, describe, expect, it } from 'vitest';
import { usersRepository } from '../../src/db/repositories/users';
import { botWorld, type BotWorld } from '../support/bot';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('/account exposure-cap', () => {
  it("sets, shows and turns off the member's own cap, privately, touching no one else's", async () => {
    world = await botWorld();
    const w = world;
    const users = usersRepository(w.db.db);

    const shown = w.slash(w.people.alice, 'account', 'exposure-cap', {});
    expect(w.text(await shown.reply())).toContain('off');
    expect(shown.ephemeral).toBe(true);

    const set = w.slash(w.people.alice, 'account', 'exposure-cap', { usd: 2500 });
    expect(w.text(await set.reply())).toContain('2,500 USD');
    expect(set.ephemeral).toBe(true);
    expect((await users.get(w.people.alice))?.exposureCapUsd).toBe(2500);
    expect((await users.get(w.people.bob))?.exposureCapUsd ?? null).toBeNull();

    await w.slash(w.people.alice, 'account', 'exposure-cap', { usd: 0 }).reply();
    expect((await users.get(w.people.alice))?.exposureCapUsd).toBeNull();
    expect(w.discord.violations).toEqual([]);
  });
});
