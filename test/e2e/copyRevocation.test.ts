import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createCopyTrading, type CopyTrading } from '../../src/copy';
import { accountsRepository, type AccountRow } from '../../src/db/repositories/accounts';
import { copyRepository } from '../../src/db/repositories/copy';
import { createSignalIntake } from '../../src/trading/signalIntake';
import { addThroughModal, botWorld, type BotWorld } from '../support/bot';
import { createStore } from '../../src/db/store';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/**
 * Bob, a listed member, makes his futures account a master; alice follows it (mirror) and has copied
 * his 0.01 BTC long. Answers bob's account, alice's simulator key and the copy poller.
 */
async function bobLeadsAlice(
  w: BotWorld,
): Promise<{ lead: AccountRow; aliceKey: string; copy: CopyTrading }> {
  const { admin, alice, bob } = w.people;
  const key = (who: string) => ({
    apiKey: `${who}${randomUUID().replace(/-/g, '')}`,
    secret: `s${randomUUID().replace(/-/g, '')}`,
  });
  const bobKey = key('bob');
  const aliceKey = key('alice');
  w.binance.addAccount({ ...bobKey, futures: { USDT: 10_000 } });
  w.binance.addAccount({ ...aliceKey, futures: { USDT: 10_000 } });
  await addThroughModal(w, bob, { name: 'bob-lead', type: 'futures', mode: 'live', ...bobKey });
  await addThroughModal(w, alice, { name: 'alice-follow', type: 'futures', mode: 'live', ...aliceKey });
  const [bobs] = await w.services.accounts.list(bob, w.guild.id);
  const [alices] = await w.services.accounts.list(alice, w.guild.id);
  await w.slash(bob, 'account', 'toggle', { account: bobs!.id }).reply();
  await w.slash(alice, 'account', 'toggle', { account: alices!.id }).reply();
  await w.slash(admin, 'setup', 'copy-masters', { allow: 'listed', member: bob }).reply();
  expect(w.text(await w.slash(bob, 'copy', 'master', { account: bobs!.id }).reply())).toContain(
    'is a copy-trading master',
  );
  expect(
    w.text(await w.slash(alice, 'copy', 'follow', { master: bobs!.id, mode: 'mirror' }).reply()),
  ).toContain('Following');

  const copy = createCopyTrading({
    store: createStore(w.db.db),
    gateways: w.gateways,
    intake: createSignalIntake(createStore(w.db.db), w.clock, () => {}),
    clock: w.clock,
    log: w.log,
  });
  await copy.poll();
  const lead = (await accountsRepository(w.db.db).byId(bobs!.id))!;
  await w.gateways
    .forAccount(lead)
    .placeOrder({
      clientOrderId: 'bobopen1',
      symbol: 'BTC/USDT:USDT',
      side: 'buy',
      type: 'market',
      quantity: 0.01,
      reduceOnly: false,
    });
  await copy.poll();
  await w.runCycle();
  expect(w.binance.positions(aliceKey.apiKey).map((p) => [p.symbol, p.amt])).toEqual([['BTCUSDT', 0.01]]);
  return { lead, aliceKey: aliceKey.apiKey, copy };
}

async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe(
  'a master whose owner is banned or leaves stops steering followers (issue #13 item 3)',
  { timeout: 120_000 },
  () => {
    it('banned: the gateway event ends the mastership at once; the follower is closed out and told', async () => {
      world = await botWorld();
      const w = world;
      const { lead, aliceKey, copy } = await bobLeadsAlice(w);
      w.discord.removeMember(w.guild.id, w.people.bob, { ban: true });
      await until(async () => (await copyRepository(w.db.db).master(lead.id)) === null);
      await w.runCycle();
      expect(w.binance.positions(aliceKey)).toEqual([]);
      // Bob's later trades reach nobody.
      await w.gateways
        .forAccount(lead)
        .placeOrder({
          clientOrderId: 'bobadd1',
          symbol: 'BTC/USDT:USDT',
          side: 'buy',
          type: 'market',
          quantity: 0.01,
          reduceOnly: false,
        });
      expect((await copy.poll()).masters).toBe(0);
      await w.flushFeed();
      const told = w.discord
        .dmMessages(w.people.alice)
        .map((message) => w.text(message))
        .join('\n');
      expect(told).toContain('no longer copies its master');
      expect(told).toContain('banned');
      expect(w.discord.violations).toEqual([]);
    });

    it('left: the membership check ends it (Discord\'s "Unknown Member" only; members still present keep theirs)', async () => {
      world = await botWorld();
      const w = world;
      const { lead, aliceKey } = await bobLeadsAlice(w);
      expect(await w.bot.checkMasters()).toBe(0);
      expect(await copyRepository(w.db.db).master(lead.id)).not.toBeNull();
      w.discord.removeMember(w.guild.id, w.people.bob);
      // A check Discord does not answer is no answer: nothing ends until "Unknown Member" is said.
      // (discord.js tries a 5xx three more times: four failures make one failed look-up.)
      w.discord.failRoute('GET', '/guilds/{guild_id}/members/{user_id}', 503, 4);
      expect(await w.bot.checkMasters()).toBe(0);
      expect(await copyRepository(w.db.db).master(lead.id)).not.toBeNull();
      expect(await w.bot.checkMasters()).toBe(1);
      await w.runCycle();
      expect(w.binance.positions(aliceKey)).toEqual([]);
      await w.flushFeed();
      expect(
        w.discord
          .dmMessages(w.people.alice)
          .map((message) => w.text(message))
          .join('\n'),
      ).toContain('left the server');
    });

    it('/copy revoke is for admins; /setup copy-masters allow:off says how many masters it ended', async () => {
      world = await botWorld();
      const w = world;
      const { lead, aliceKey } = await bobLeadsAlice(w);
      const refused = w.slash(w.people.alice, 'copy', 'revoke', { master: lead.id });
      expect(w.text(await refused.reply())).toContain('Only server admins');
      const off = w.slash(w.people.admin, 'setup', 'copy-masters', { allow: 'off' });
      expect(w.text(await off.reply())).toContain('1 master no longer allowed');
      await w.runCycle();
      expect(w.binance.positions(aliceKey)).toEqual([]);
    });

    it("removing the master's account ends its mastership first: the follower is not left holding its copy", async () => {
      world = await botWorld();
      const w = world;
      const { lead, aliceKey } = await bobLeadsAlice(w);
      await w.services.accounts.remove({ ownerId: w.people.bob, guildId: lead.guildId }, lead.id);
      await w.runCycle();
      expect(w.binance.positions(aliceKey)).toEqual([]);
    });
  },
);
