import { DEFAULT_MAX_ACCOUNTS_PER_MEMBER } from '../../../src/services/accounts';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../../src/db/client';
import { exchangeAccounts, positions } from '../../../src/db/schema';
import { parseSymbolList, validateSettings } from '../../../src/services/accounts';
import { isUserError } from '../../../src/services/errors';
import { Secret } from '../../../src/vault/secret';
import { freshDatabase } from '../../support/db';
import { servicesOn } from './fakes';

const GUILD = '110000000000000001';
/** A member's scope in the test server. */
const inGuild = (ownerId: string) => ({ ownerId, guildId: GUILD });
const ALICE = '210000000000000001';
const BOB = '210000000000000002';

let db: DatabaseHandle;
let world: Awaited<ReturnType<typeof servicesOn>>;
beforeEach(async () => {
  db = await freshDatabase('pglite');
  world = await servicesOn(db);
});
afterEach(async () => {
  await db.close();
});

const creds = (apiKey: string, secret: string, passphrase?: string) => ({
  apiKey: new Secret(apiKey),
  secret: new Secret(secret),
  ...(passphrase ? { passphrase: new Secret(passphrase) } : {}),
});

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isUserError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

const rows = () => db.db.select().from(exchangeAccounts);

async function addLive(ownerId = ALICE, name = 'main', key = `key${randomUUID().replace(/-/g, '')}`) {
  world.keys.set(key, { secret: 'right-secret', balance: 2500 });
  const result = await world.services.accounts.add({
    ownerId,
    guildId: GUILD,
    name,
    exchangeId: 'binance',
    marketType: 'futures',
    mode: 'live',
    credentials: creds(key, 'right-secret'),
  });
  if (result.kind !== 'added') throw new Error(`not added: ${result.reason}`);
  return { ...result, key };
}

describe('account service: adding', () => {
  it('probes the key, then stores each field encrypted and bound to a fresh id and the owner, with the key hint', async () => {
    const { account, balance, key } = await addLive();
    expect(balance).toEqual({ currency: 'USDT', free: 2500, equity: 2500 });
    expect(account.maskedKey).toBe(`${key.slice(0, 4)}…${key.slice(-4)}`);
    expect(account.enabled).toBe(false);
    expect(account.verified).toBe(true);
    const [row] = await rows();
    expect(row?.id).toBe(account.id);
    expect(row?.apiKeyEnc).toMatch(/^v1:1:/);
    expect(JSON.stringify(row)).not.toContain(key);
    expect(JSON.stringify(row)).not.toContain('right-secret');
    expect(
      world.vault
        .decrypt(row!.secretEnc!, { accountId: account.id, ownerId: ALICE, field: 'secret' })
        .reveal(),
    ).toBe('right-secret');
    // Bound to the row: another owner's context cannot open it.
    expect(() =>
      world.vault.decrypt(row!.secretEnc!, { accountId: account.id, ownerId: BOB, field: 'secret' }),
    ).toThrow();
    expect(world.probes).toHaveLength(1);
    expect(world.lines.join('')).not.toContain(key);
  });

  it('refuses a key that can withdraw, or that the exchange refuses, and stores nothing', async () => {
    world.keys.set('withdrawkey123', {
      secret: 's3cret-value',
      audit: { verdict: 'refused', canWithdraw: true, notes: ['Withdrawals are enabled'] },
    });
    const withdraw = await world.services.accounts.add({
      ownerId: ALICE,
      guildId: GUILD,
      name: 'w',
      exchangeId: 'binance',
      marketType: 'spot',
      mode: 'live',
      credentials: creds('withdrawkey123', 's3cret-value'),
    });
    expect(withdraw).toMatchObject({ kind: 'refused', notes: ['Withdrawals are enabled'] });
    expect(withdraw.kind === 'refused' && withdraw.reason).toContain('can withdraw');

    const wrong = await world.services.accounts.add({
      ownerId: ALICE,
      guildId: GUILD,
      name: 'x',
      exchangeId: 'binance',
      marketType: 'spot',
      mode: 'live',
      credentials: creds('withdrawkey123', 'not-the-secret'),
    });
    expect(wrong.kind === 'refused' && wrong.reason).toContain('refused this key');

    world.keys.set('nofutureskey1', { secret: 's3cret-value', preflight: { futuresEnabled: false } });
    const futures = await world.services.accounts.add({
      ownerId: ALICE,
      guildId: GUILD,
      name: 'f',
      exchangeId: 'binance',
      marketType: 'futures',
      mode: 'live',
      credentials: creds('nofutureskey1', 's3cret-value'),
    });
    expect(futures.kind === 'refused' && futures.reason).toContain('cannot trade futures');

    world.keys.set('downkey123456', { secret: 's3cret-value', fail: 'unknown-outcome' });
    const down = await world.services.accounts.add({
      ownerId: ALICE,
      guildId: GUILD,
      name: 'd',
      exchangeId: 'binance',
      marketType: 'spot',
      mode: 'live',
      credentials: creds('downkey123456', 's3cret-value'),
    });
    expect(down.kind === 'refused' && down.reason).toContain('Could not reach binance');
    expect(await rows()).toEqual([]);
  });

  it('validates exchange, type, mode, name and passphrase before anything else, naming what is allowed', async () => {
    const add = (over: Record<string, unknown>) =>
      world.services.accounts.add({
        ownerId: ALICE,
        guildId: GUILD,
        name: 'main',
        exchangeId: 'binance',
        marketType: 'spot',
        mode: 'paper',
        ...over,
      } as Parameters<typeof world.services.accounts.add>[0]);
    expect((await rejection(add({ exchangeId: 'nope' }))).message).toContain('not an exchange');
    expect((await rejection(add({ marketType: 'options' }))).message).toBe(
      'Type must be one of: spot, futures.',
    );
    expect((await rejection(add({ mode: 'yolo' }))).message).toBe('Mode must be one of: live, demo, paper.');
    expect((await rejection(add({ name: '' }))).message).toContain('1 to 32');
    expect((await rejection(add({ exchangeId: 'kraken', mode: 'live' }))).message).toContain(
      'Use paper mode',
    );
    expect((await rejection(add({ exchangeId: 'kraken', mode: 'demo' }))).message).toContain(
      'Use paper mode',
    );
    expect((await rejection(add({ mode: 'live' }))).message).toContain('API key and its secret');
    world.keys.set('okxkey12345678', { secret: 'okxsecret' });
    expect(
      (
        await rejection(
          add({ exchangeId: 'okx', mode: 'live', credentials: creds('okxkey12345678', 'okxsecret') }),
        )
      ).message,
    ).toContain('passphrase');
    expect(
      world.services.accounts.describeNew({ exchangeId: 'OKX', marketType: 'futures', mode: 'live' }),
    ).toMatchObject({
      exchangeId: 'okx',
      needsKey: true,
      needsPassphrase: true,
    });
    expect(await rows()).toEqual([]);
  });

  it('a member has at most MAX_ACCOUNTS_PER_MEMBER accounts in one server (default 10); the next is refused, nothing stored', async () => {
    const paper = (ownerId: string, guildId: string, name: string) =>
      world.services.accounts.add({
        ownerId,
        guildId,
        name,
        exchangeId: 'binance',
        marketType: 'futures',
        mode: 'paper',
      });
    for (let i = 0; i < DEFAULT_MAX_ACCOUNTS_PER_MEMBER; i += 1) await paper(ALICE, GUILD, `p${i}`);
    const refused = await rejection(paper(ALICE, GUILD, 'one-more'));
    expect(refused).toMatchObject({ code: 'too-many' });
    expect(refused.message).toContain('Remove one with /account remove');
    expect(await rows()).toHaveLength(DEFAULT_MAX_ACCOUNTS_PER_MEMBER);
    // Another member, and the same member in another server, have room of their own.
    await expect(paper(BOB, GUILD, 'bobs')).resolves.toMatchObject({ kind: 'added' });
    await expect(paper(ALICE, '110000000000000999', 'elsewhere')).resolves.toMatchObject({ kind: 'added' });
  });

  it('paper accounts need no key; names are unique per member and server', async () => {
    const paper = await world.services.accounts.add({
      ownerId: ALICE,
      guildId: GUILD,
      name: 'practice',
      exchangeId: 'binance',
      marketType: 'futures',
      mode: 'paper',
    });
    expect(paper).toMatchObject({
      kind: 'added',
      account: { maskedKey: null, verified: true, mode: 'paper' },
      balance: { free: 10_000 },
    });
    const again = await rejection(
      world.services.accounts.add({
        ownerId: ALICE,
        guildId: GUILD,
        name: 'practice',
        exchangeId: 'binance',
        marketType: 'spot',
        mode: 'paper',
      }),
    );
    expect(again).toMatchObject({ code: 'conflict' });
    // Bob may use the same name.
    await world.services.accounts.add({
      ownerId: BOB,
      guildId: GUILD,
      name: 'practice',
      exchangeId: 'binance',
      marketType: 'spot',
      mode: 'paper',
    });
    expect(await rows()).toHaveLength(2);
  });

  it('a live key whose permissions are unknown is stored, but trades only after the owner confirms', async () => {
    world.keys.set('unknownperms1', {
      secret: 'sec-unknown',
      audit: {
        verdict: 'unknown',
        canWithdraw: null,
        notes: ['This exchange does not report key permissions'],
      },
    });
    const added = await world.services.accounts.add({
      ownerId: ALICE,
      guildId: GUILD,
      name: 'u',
      exchangeId: 'binance',
      marketType: 'spot',
      mode: 'live',
      credentials: creds('unknownperms1', 'sec-unknown'),
    });
    expect(added).toMatchObject({
      kind: 'added',
      account: { needsConfirmation: true },
      auditNotes: ['This exchange does not report key permissions'],
    });
    const id = added.kind === 'added' ? added.account.id : '';
    expect((await rejection(world.services.accounts.toggle(inGuild(ALICE), id))).message).toContain(
      'Confirm that withdrawals are disabled',
    );
    expect((await rejection(world.services.accounts.confirmNoWithdrawals(inGuild(BOB), id))).code).toBe(
      'not-found',
    );
    await world.services.accounts.confirmNoWithdrawals(inGuild(ALICE), id);
    expect((await world.services.accounts.toggle(inGuild(ALICE), id)).enabled).toBe(true);
  });
});

describe('account service: owner scope', () => {
  it('another member gets "not found" from every method; malformed ids too', async () => {
    const { account } = await addLive();
    const a = world.services.accounts;
    for (const call of [
      () => a.get(inGuild(BOB), account.id),
      () => a.toggle(inGuild(BOB), account.id),
      () => a.updateSettings(inGuild(BOB), account.id, { leverage: 3 }),
      () => a.verify(inGuild(BOB), account.id),
      () => a.remove(inGuild(BOB), account.id),
      () => a.confirmNoWithdrawals(inGuild(BOB), account.id),
      () => a.get(inGuild(ALICE), 'not-a-uuid'),
      () => a.toggle(inGuild(ALICE), randomUUID()),
    ]) {
      expect(await rejection(call())).toMatchObject({ code: 'not-found' });
    }
    expect(await a.suggest(BOB, GUILD, '')).toEqual([]);
    expect(await a.list(BOB, GUILD)).toEqual([]);
    expect((await a.suggest(ALICE, GUILD, 'MA')).map((c) => c.value)).toEqual([account.id]);
    expect(await a.list(ALICE, '110000000000000999')).toEqual([]);
    const [row] = await rows();
    expect(row).toMatchObject({ enabled: false, leverage: 10 });
  });

  it('the owner in another server gets "not found" too: accounts are managed where they were added', async () => {
    const { account } = await addLive();
    const a = world.services.accounts;
    const elsewhere = { ownerId: ALICE, guildId: '110000000000000999' };
    for (const call of [
      () => a.get(elsewhere, account.id),
      () => a.toggle(elsewhere, account.id),
      () => a.updateSettings(elsewhere, account.id, { leverage: 3 }),
      () => a.verify(elsewhere, account.id),
      () => a.remove(elsewhere, account.id),
      () => a.confirmNoWithdrawals(elsewhere, account.id),
    ]) {
      expect(await rejection(call())).toMatchObject({ code: 'not-found' });
    }
    const [row] = await rows();
    expect(row).toMatchObject({ enabled: false, leverage: 10 });
    expect((await a.get(inGuild(ALICE), account.id)).id).toBe(account.id);
  });
});

describe('account service: settings, verify, remove', () => {
  it('changes settings within range and names the allowed range otherwise', async () => {
    const { account } = await addLive();
    const a = world.services.accounts;
    const cases: [Parameters<typeof a.updateSettings>[2], string][] = [
      [{ maxPositionUsd: 5 }, 'Max position must be between 10 and 100000 USD'],
      [{ leverage: 126 }, 'Leverage must be a whole number between 1 and 125x'],
      [{ leverage: 2.5 }, 'Leverage must be a whole number between 1 and 125x'],
      [{ maxDailyTrades: 0 }, 'Max daily trades must be a whole number between 1 and 50'],
      [{ riskPerTradePct: 11 }, 'Risk per trade must be between 0.1 and 10 %'],
      [{ maxDailyLossPct: 0.5 }, 'Max daily loss must be between 1 and 20 %'],
      [
        { sizingMode: 'percent', sizingValue: 150 },
        'Sizing value for percent sizing must be between 0.1 and 100 %',
      ],
      [{ sizingMode: 'martingale' }, 'Sizing mode must be one of: fixed, percent, risk, kelly.'],
      [{ symbolAllow: 'BTC, E-TH' }, 'Allow list: "E-TH" is not a coin'],
    ];
    for (const [input, message] of cases)
      expect((await rejection(a.updateSettings(inGuild(ALICE), account.id, input))).message).toContain(
        message,
      );
    await a.updateSettings(inGuild(ALICE), account.id, { sizingValue: 500 });
    expect(
      (await rejection(a.updateSettings(inGuild(ALICE), account.id, { sizingMode: 'percent' }))).message,
    ).toContain('Give a sizing value with percent sizing: between 0.1 and 100 %');
    const updated = await a.updateSettings(inGuild(ALICE), account.id, {
      sizingMode: 'percent',
      sizingValue: 5,
      leverage: 20,
      maxDailyTrades: 3,
      riskPerTradePct: 1.5,
      maxDailyLossPct: 4,
      maxPositionUsd: 2000,
      stopOnLoss: false,
      symbolAllow: 'btc, eth/usdt, $SOL',
      symbolBlock: ['doge'],
      shareAmounts: true,
    });
    expect(updated.settings).toEqual({
      sizingMode: 'percent',
      sizingValue: 5,
      maxPositionUsd: 2000,
      leverage: 20,
      maxDailyTrades: 3,
      riskPerTradePct: 1.5,
      maxDailyLossPct: 4,
      stopOnLoss: false,
      symbolAllow: ['BTC', 'ETH', 'SOL'],
      symbolBlock: ['DOGE'],
      shareAmounts: true,
    });
    expect(
      (await a.updateSettings(inGuild(ALICE), account.id, { symbolAllow: 'none' })).settings.symbolAllow,
    ).toEqual([]);
  });

  it('verify records balance and audit; a revoked key disables the account', async () => {
    const { account, key } = await addLive();
    const a = world.services.accounts;
    await a.toggle(inGuild(ALICE), account.id);
    world.keys.set(key, {
      secret: 'right-secret',
      balance: 3000,
      audit: { notes: ['Restrict the key to your IP'] },
    });
    const ok = await a.verify(inGuild(ALICE), account.id);
    expect(ok).toMatchObject({
      kind: 'verified',
      balance: { free: 3000 },
      auditNotes: ['Restrict the key to your IP'],
    });
    world.keys.delete(key);
    const revoked = await a.verify(inGuild(ALICE), account.id);
    expect(revoked).toMatchObject({
      kind: 'failed',
      account: { enabled: false, verified: false, disabledReason: 'key-revoked' },
    });
    expect((await rejection(a.toggle(inGuild(ALICE), account.id))).message).toContain('not verified');
    expect(world.invalidated).toContain(account.id);
  });

  it("a key's trading expiry is kept from its audit and shown; a new date starts the reminders over, the same date keeps them", async () => {
    const { account, key } = await addLive();
    const a = world.services.accounts;
    const expiresAt = Date.UTC(2026, 3, 5, 8, 0, 0);
    world.keys.set(key, { secret: 'right-secret', audit: { ipRestricted: false, tradingExpiresAt: expiresAt } });
    await a.verify(inGuild(ALICE), account.id);
    expect((await a.list(ALICE, GUILD))[0]!.tradingExpiresAt?.getTime()).toBe(expiresAt);
    await db.db.update(exchangeAccounts).set({ expiryNotices: 1 });
    await a.verify(inGuild(ALICE), account.id);
    expect((await rows())[0]!.expiryNotices).toBe(1);
    world.keys.set(key, { secret: 'right-secret', audit: { ipRestricted: false, tradingExpiresAt: expiresAt + 90 * 86_400_000 } });
    await a.verify(inGuild(ALICE), account.id);
    expect((await rows())[0]).toMatchObject({ expiryNotices: 0, tradingExpiresAt: new Date(expiresAt + 90 * 86_400_000) });
    // Restricted to trusted IPs: no date any more.
    world.keys.set(key, { secret: 'right-secret', audit: { ipRestricted: true, tradingExpiresAt: null } });
    world.clock.set(world.clock.now() + 60_000); // past the four key checks a minute
    await a.verify(inGuild(ALICE), account.id);
    expect((await a.list(ALICE, GUILD))[0]!.tradingExpiresAt).toBeNull();
  });

  it('key checks are throttled per member: past four a minute, a plain wait and no exchange read', async () => {
    const { account, key } = await addLive();
    const a = world.services.accounts;
    for (let i = 0; i < 3; i += 1)
      expect(await a.verify(inGuild(ALICE), account.id)).toMatchObject({ kind: 'verified' });
    // The add above was the first check of the minute: the fifth one waits.
    world.keys.delete(key);
    const refused = await rejection(a.verify(inGuild(ALICE), account.id));
    expect(refused.code).toBe('too-many');
    expect(refused.message).toMatch(/try again in 60 s/);
    // Nothing was read: the key removed above would have disabled the account.
    expect((await a.list(ALICE, GUILD))[0]).toMatchObject({ enabled: false, verified: true });
    // Another member is not held back by Alice's checks.
    await addLive(BOB, 'bobs');
    world.clock.set(world.clock.now() + 60_000);
    expect(await a.verify(inGuild(ALICE), account.id)).toMatchObject({
      kind: 'failed',
      account: { disabledReason: 'key-revoked' },
    });
  });

  it('remove is refused while the bot holds open positions (pointing to /panic), then deletes the ciphertexts', async () => {
    const { account } = await addLive();
    await db.db.insert(positions).values({
      id: randomUUID(),
      accountId: account.id,
      ownerId: ALICE,
      signalId: randomUUID(),
      symbol: 'BTC/USDT:USDT',
      side: 'long',
      quantity: 0.1,
    });
    const refused = await rejection(world.services.accounts.remove(inGuild(ALICE), account.id));
    expect(refused.message).toContain('/panic');
    expect(refused.message).toContain('1 open position');
    await db.db.update(positions).set({ status: 'closed' }).where(eq(positions.accountId, account.id));
    expect(await world.services.accounts.remove(inGuild(ALICE), account.id)).toEqual({ name: 'main' });
    expect(await rows()).toEqual([]);
    expect(world.invalidated).toContain(account.id);
  });
});

describe('settings validation (pure)', () => {
  it('parses symbol lists and keeps unchanged fields out of the patch', () => {
    expect(parseSymbolList(' btc ,ETH; #sol  BTC ', 'Allow list')).toEqual(['BTC', 'ETH', 'SOL']);
    expect(parseSymbolList('-', 'Allow list')).toEqual([]);
    expect(() =>
      parseSymbolList(Array.from({ length: 51 }, (_, i) => `C${i}`).join(','), 'Block list'),
    ).toThrow(/at most 50/);
    const current = {
      sizingMode: 'fixed' as const,
      sizingValue: 100,
      maxPositionUsd: 1000,
      leverage: 10,
      maxDailyTrades: 5,
      riskPerTradePct: 2,
      maxDailyLossPct: 5,
      stopOnLoss: true,
      symbolAllow: [],
      symbolBlock: [],
      shareAmounts: false,
    };
    expect(validateSettings({ leverage: 1 }, current)).toEqual({ leverage: 1 });
    expect(validateSettings({ sizingMode: 'risk' }, current)).toEqual({ sizingMode: 'risk' });
    expect(validateSettings({ sizingMode: 'FIXED', sizingValue: 100000 }, current)).toEqual({
      sizingMode: 'fixed',
      sizingValue: 100000,
    });
  });
});
