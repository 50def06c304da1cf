import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { guildsRepository } from '../../src/db/repositories/guilds';
import type { InteractionHandle } from '../sim/discord';
import { addThroughModal, botWorld, type BotWorld } from '../support/bot';
import { databaseKinds } from '../support/db';

let world: BotWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const EPHEMERAL = 64;
const isEphemeral = (flags: number | undefined) => ((flags ?? 0) & EPHEMERAL) === EPHEMERAL;

/** Every message an interaction produced is ephemeral, and so was its first message response. */
function expectAllEphemeral(handle: InteractionHandle): void {
  const first = handle.callback;
  expect(first).toBeDefined();
  if (first && (first.type === 4 || first.type === 5)) expect(isEphemeral(first.data?.['flags'] as number | undefined)).toBe(true);
  for (const message of handle.messages()) expect(isEphemeral(message.flags)).toBe(true);
  for (const event of handle.events) {
    if (event.kind === 'followup' || event.kind === 'edit') expect(isEphemeral(event.message.flags)).toBe(true);
  }
}

/** Every row of every table of the public schema, as JSON text. */
async function databaseText(w: BotWorld): Promise<string> {
  const rowsOf = (result: unknown): Record<string, unknown>[] =>
    Array.isArray(result) ? (result as Record<string, unknown>[]) : ((result as { rows: Record<string, unknown>[] }).rows ?? []);
  const tables = rowsOf(
    await w.db.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`),
  ).map((row) => String(row['table_name']));
  expect(tables).toContain('exchange_accounts');
  const parts: string[] = [];
  for (const table of tables) {
    const rows = rowsOf(await w.db.db.execute(sql.raw(`select row_to_json(t)::text as j from "${table}" t`)));
    parts.push(...rows.map((row) => String(row['j'])));
  }
  return parts.join('\n');
}

describe.each(databaseKinds)('safety (%s)', (kind) => {
  it('a second member cannot see, toggle, verify, change or remove the first member\'s accounts', async () => {
    world = await botWorld({ kind });
    const w = world;
    const { alice, bob } = w.people;
    await addThroughModal(w, alice, { name: 'alice-paper', type: 'futures', mode: 'paper' });
    const key = { apiKey: `alicekey${randomUUID().replace(/-/g, '')}`, secret: `alicesecret${randomUUID().replace(/-/g, '')}` };
    w.binance.addAccount({ ...key, futures: { USDT: 5_000 } });
    await addThroughModal(w, alice, { name: 'alice-live', type: 'futures', mode: 'live', ...key });
    const before = await w.services.accounts.list(alice, w.guild.id);
    expect(before).toHaveLength(2);
    const aliceList = w.slash(alice, 'account', 'list', undefined);
    await aliceList.reply();

    // Bob sees only his own (none), in lists and in every autocomplete.
    const list = w.slash(bob, 'account', 'list', undefined);
    const listText = w.text(await list.reply());
    expect(listText).toContain('no accounts');
    expect(listText).not.toContain('alice');
    for (const [name, subcommand] of [['account', 'toggle'], ['account', 'verify'], ['account', 'remove'], ['account', 'settings'], ['orders', undefined], ['pnl', undefined]] as const) {
      const choices = await w.discord
        .autocomplete({ guildId: w.guild.id, userId: bob, name, ...(subcommand ? { subcommand } : {}), options: { account: '' }, focused: 'account' })
        .choices();
      expect(choices).toEqual([]);
    }
    const aliceChoices = await w.discord
      .autocomplete({ guildId: w.guild.id, userId: alice, name: 'account', subcommand: 'toggle', options: { account: 'alice' }, focused: 'account' })
      .choices();
    expect(aliceChoices.map((c) => c.value).sort()).toEqual(before.map((a) => a.id).sort());

    // Every command with one of alice's ids: "not found", ephemeral.
    for (const account of before) {
      const attempts = [
        w.slash(bob, 'account', 'toggle', { account: account.id }),
        w.slash(bob, 'account', 'verify', { account: account.id }),
        w.slash(bob, 'account', 'remove', { account: account.id }),
        w.slash(bob, 'account', 'settings', { account: account.id, leverage: 3 }),
        w.slash(bob, 'account', 'settings', { account: account.id }),
        w.slash(bob, 'orders', undefined, { account: account.id }),
        w.slash(bob, 'pnl', undefined, { account: account.id }),
      ];
      for (const attempt of attempts) {
        const text = w.text(await attempt.reply(10_000));
        expect(text).toContain('not found');
        expect(text).not.toContain('alice');
        expectAllEphemeral(attempt);
      }
    }
    // Alice's buttons are on a message only she can see: Discord gives bob no way to press them.
    expect(() => w.discord.button({ userId: bob, customId: /^account:toggle:/, messageId: aliceList.original()!.id })).toThrow(/not visible/);

    const after = await w.services.accounts.list(alice, w.guild.id);
    expect(after).toEqual(before);
    expect(w.discord.violations).toEqual([]);
  });

  it('canary key and secret never reach a Discord REST body, a log line or a database column other than the ciphertext', async () => {
    world = await botWorld({ kind, logLevel: 'trace' });
    const w = world;
    const { alice, admin, caller } = w.people;
    const canary = { apiKey: `CANARYKEY${randomUUID().replace(/-/g, '')}`, secret: `CANARYSECRET${randomUUID().replace(/-/g, '')}` };
    const refused = { apiKey: `CANARYWDKEY${randomUUID().replace(/-/g, '')}`, secret: `CANARYWDSECRET${randomUUID().replace(/-/g, '')}` };
    w.binance.addAccount({ ...canary, futures: { USDT: 10_000 } });
    w.binance.addAccount({ ...refused, futures: { USDT: 10_000 }, restrictions: { enableWithdrawals: true } });

    await w.slash(admin, 'setup', 'feed-channel', { channel: w.channels.feed }).reply();
    await w.slash(admin, 'setup', 'caller-role', { role: w.callerRoleId }).reply();
    const added = await addThroughModal(w, alice, { name: 'canary', type: 'futures', mode: 'live', ...canary });
    expect(w.text(added.reply)).toContain('Account added');
    const withdraw = await addThroughModal(w, alice, { name: 'withdrawer', type: 'futures', mode: 'live', ...refused });
    expect(w.text(withdraw.reply)).toContain('nothing was stored');
    expect(w.text(withdraw.reply)).toContain('can withdraw');
    // A wrong secret: refused by the exchange, nothing stored.
    const wrong = await addThroughModal(w, alice, { name: 'wrong', type: 'futures', mode: 'live', apiKey: canary.apiKey, secret: `${canary.secret}x` });
    expect(w.text(wrong.reply)).toContain('refused this key');

    const [account] = await w.services.accounts.list(alice, w.guild.id);
    expect((await w.services.accounts.list(alice, w.guild.id)).map((a) => a.name)).toEqual(['canary']);
    await w.slash(alice, 'account', 'verify', { account: account!.id }).reply(15_000);
    await w.slash(alice, 'account', 'toggle', { account: account!.id }).reply();
    await w.slash(alice, 'account', 'list', undefined).reply();
    await w.slash(caller, 'signal', 'post', { symbol: 'BTC', side: 'long', stop: 48_000, take_profits: '52000' }).reply();
    await w.runCycle();
    await w.flushFeed();
    await w.slash(alice, 'orders', undefined, {}).reply();
    await w.slash(alice, 'pnl', undefined, {}).reply(15_000);
    expect(w.discord.channelMessages(w.channels.feed).length).toBeGreaterThan(0);

    const secrets = [canary.apiKey, canary.secret, refused.apiKey, refused.secret, `${canary.secret}x`];
    const restText = w.discord.calls.map((call) => JSON.stringify([call.path, call.query, call.body, call.response])).join('\n');
    const logText = w.logLines.join('');
    const dbText = await databaseText(w);
    expect(logText.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(restText).not.toContain(secret);
      expect(logText).not.toContain(secret);
      expect(dbText).not.toContain(secret);
      // The interaction token never leaks either (it is in the URL of webhook calls only).
    }
    const stored = await w.db.db.execute(sql`select api_key_enc, secret_enc, api_key_hint from exchange_accounts`);
    const storedRows = Array.isArray(stored) ? stored : (stored as { rows: unknown[] }).rows;
    expect(storedRows).toHaveLength(1);
    expect(JSON.stringify(storedRows)).toMatch(/v1:1:/);
    expect(w.vault.decrypt((storedRows[0] as { secret_enc: string }).secret_enc, { accountId: account!.id, ownerId: alice, field: 'secret' }).reveal()).toBe(canary.secret);
    for (const handle of [added.submit, withdraw.submit, wrong.submit]) {
      for (const token of [handle.token]) expect(logText).not.toContain(token);
    }
  });

  it('every response of the key flow is ephemeral from the first', async () => {
    world = await botWorld({ kind });
    const w = world;
    const { alice } = w.people;
    const key = { apiKey: `ephkey${randomUUID().replace(/-/g, '')}`, secret: `ephsecret${randomUUID().replace(/-/g, '')}` };
    w.binance.addAccount({ ...key, futures: { USDT: 1_000 } });

    // Wrong input: answered at once, ephemeral.
    const unknown = w.slash(alice, 'account', 'add', { exchange: 'notanexchange', type: 'futures', mode: 'live' });
    expect(w.text(await unknown.reply())).toContain('not an exchange');
    expectAllEphemeral(unknown);

    // The form, then the answer: deferred ephemeral first, then edited.
    const added = await addThroughModal(w, alice, { name: 'eph', type: 'futures', mode: 'live', ...key });
    expect(added.slash.callback?.type).toBe(9);
    expect(added.submit.callback?.type).toBe(5);
    expectAllEphemeral(added.submit);
    // The same name again: refused, ephemeral.
    const again = await addThroughModal(w, alice, { name: 'eph', type: 'futures', mode: 'live', ...key });
    expect(w.text(again.reply)).toContain('already have an account named');
    expectAllEphemeral(again.submit);
    // A key the exchange refuses.
    const refused = await addThroughModal(w, alice, { name: 'eph2', type: 'futures', mode: 'live', apiKey: `nope${key.apiKey}`, secret: key.secret });
    expectAllEphemeral(refused.submit);

    // Buttons under the answer work on the same ephemeral message.
    const enable = w.discord.button({ userId: alice, customId: /^account:toggle:.*:card$/, messageId: added.reply.id });
    expect(w.text(await enable.reply())).toContain('Enabled');
    for (const message of enable.messages()) expect(isEphemeral(message.flags)).toBe(true);
    const verify = w.discord.button({ userId: alice, customId: /^account:verify:/, messageId: added.reply.id });
    expect(w.text(await verify.reply(15_000))).toContain('key verified');
    expectAllEphemeral(verify);
    const settings = w.discord.button({ userId: alice, customId: /^account:settings:/, messageId: added.reply.id });
    const form = await settings.modal();
    const saved = w.discord.modalSubmit({ userId: alice, customId: String(form['custom_id']), fields: { leverage: '500' } });
    expect(w.text(await saved.reply())).toContain('Leverage must be a whole number between 1 and 125');
    expectAllEphemeral(saved);
    const ok = w.discord.modalSubmit({ userId: alice, customId: String(form['custom_id']), fields: { leverage: '7', sizing: 'percent 5' } });
    expect(w.text(await ok.reply())).toContain('5 % of balance');
    expectAllEphemeral(ok);
    expect(w.discord.violations).toEqual([]);
  });

  it('/setup refuses a non-admin even when the server overrode the command permissions', async () => {
    world = await botWorld({ kind });
    const w = world;
    const { bob, admin } = w.people;
    // Discord itself does not deliver it to bob...
    expect(() => w.slash(bob, 'setup', 'pause', {})).toThrow(/needs permissions/);
    // ...unless the server overrode the command's permissions: the bot checks again.
    for (const sub of ['pause', 'show', 'resume'] as const) {
      const attempt = w.slash(bob, 'setup', sub, {}, { overridden: true });
      expect(w.text(await attempt.reply())).toContain('Only server admins');
      expectAllEphemeral(attempt);
    }
    const feed = w.slash(bob, 'setup', 'feed-channel', { channel: w.channels.general }, { overridden: true });
    expect(w.text(await feed.reply())).toContain('Only server admins');
    expect(await guildsRepository(w.db.db).get(w.guild.id)).toBeNull();

    const paused = w.slash(admin, 'setup', 'pause', {});
    expect(w.text(await paused.reply())).toContain('paused');
    expect((await guildsRepository(w.db.db).get(w.guild.id))?.paused).toBe(true);
    expect(w.discord.violations).toEqual([]);
  });
});
