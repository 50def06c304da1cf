import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../../src/db/client';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { signalsRepository } from '../../../src/db/repositories/signals';
import { createSignalIntake } from '../../../src/trading/signalIntake';
import { isUserError } from '../../../src/services/errors';
import { normaliseSymbol, readPriceList, signalFromOptions } from '../../../src/services/signals';
import { freshDatabase } from '../../support/db';
import { servicesOn } from './fakes';
import { createStore } from '../../../src/db/store';

const GUILD = '110000000000000001';
const CALLER_ROLE = '410000000000000001';
const ADMIN = '210000000000000009';
const CALLER = '210000000000000008';
const MEMBER = '210000000000000007';

let db: DatabaseHandle;
let world: Awaited<ReturnType<typeof servicesOn>>;
beforeEach(async () => {
  db = await freshDatabase('pglite');
  world = await servicesOn(db);
});
afterEach(async () => {
  await db.close();
});

const post = (over: Partial<Parameters<typeof world.services.signals.post>[0]> = {}) =>
  world.services.signals.post({
    guildId: GUILD,
    channelId: '510000000000000001',
    authorId: CALLER,
    interactionId: randomUUID(),
    memberRoleIds: [CALLER_ROLE],
    isAdmin: false,
    symbol: 'btc',
    side: 'long',
    entry: 'market',
    stop: 48_000,
    takeProfits: '52000, 54k',
    leverage: 5,
    ...over,
  });

const refusal = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (isUserError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('signal service', () => {
  it('only callers (or admins while no caller role is set) may publish', async () => {
    const noRole = await refusal(post());
    expect(noRole.message).toContain('/setup caller-role');
    const admin = { guildId: GUILD, userId: ADMIN, isAdmin: true };
    expect((await post({ authorId: ADMIN, isAdmin: true, memberRoleIds: [] })).accounts).toBe(0);
    await world.services.guilds.setCallerRole(admin, CALLER_ROLE);
    expect((await refusal(post({ authorId: MEMBER, memberRoleIds: [] }))).code).toBe('forbidden');
    expect((await refusal(post({ authorId: ADMIN, isAdmin: true, memberRoleIds: [] }))).code).toBe('forbidden');
    await accountsRepository(db.db).create({
      id: randomUUID(), ownerId: MEMBER, guildId: GUILD, name: 'p', exchangeId: 'binance', marketType: 'futures', mode: 'paper', enabled: true, verified: true,
    });
    const queued = await post();
    expect(queued).toMatchObject({ accounts: 1, members: 1, paused: false, fresh: true, signal: { symbol: 'BTC/USDT', takeProfits: [52_000, 54_000], entryType: 'market' } });
    expect(world.wakes).toHaveLength(2);
    await world.services.guilds.pause(admin);
    expect((await post()).paused).toBe(true);
  });

  it('the same interaction queues once; invalid signals are refused in plain words', async () => {
    await world.services.guilds.setCallerRole({ guildId: GUILD, userId: ADMIN, isAdmin: true }, CALLER_ROLE);
    const interactionId = randomUUID();
    const first = await post({ interactionId });
    const second = await post({ interactionId });
    expect(second).toMatchObject({ signalId: first.signalId, fresh: false });
    expect((await refusal(post({ stop: 60_000 }))).message).toBe('Signal refused: stop on the wrong side of the entry.');
    expect((await refusal(post({ entry: '50000', takeProfits: '49000' }))).message).toContain('take-profit on the wrong side');
    expect((await refusal(post({ entry: 'soon' }))).message).toContain('invalid number (entry: "soon")');
    expect((await refusal(post({ leverage: 500 }))).message).toContain('leverage out of range');
    expect((await refusal(post({ side: 'up' }))).message).toBe('Side must be long or short.');
  });

  it('cancel: only the author, only this server, only while pending; autocomplete lists the author\'s own', async () => {
    await world.services.guilds.setCallerRole({ guildId: GUILD, userId: ADMIN, isAdmin: true }, CALLER_ROLE);
    const mine = await post();
    const theirs = await post({ authorId: MEMBER });
    const choices = await world.services.signals.cancellable(GUILD, CALLER, '');
    expect(choices.map((c) => c.value)).toEqual([mine.signalId]);
    expect(choices[0]?.name).toContain('BTC/USDT long');
    expect((await refusal(world.services.signals.cancel({ guildId: GUILD, authorId: CALLER, signalId: theirs.signalId }))).code).toBe('not-found');
    expect((await refusal(world.services.signals.cancel({ guildId: '110000000000000002', authorId: CALLER, signalId: mine.signalId }))).code).toBe('not-found');
    expect(await world.services.signals.cancel({ guildId: GUILD, authorId: CALLER, signalId: mine.signalId })).toEqual({ signalId: mine.signalId, symbol: 'BTC/USDT' });
    expect((await signalsRepository(db.db).byId(mine.signalId))?.status).toBe('cancelled');
    expect((await refusal(world.services.signals.cancel({ guildId: GUILD, authorId: CALLER, signalId: mine.signalId }))).message).toContain('already finished');
  });

  it('a master cannot withdraw the copy signals of his trades: not offered, refused (issue #13 item 4)', async () => {
    const intake = createSignalIntake(createStore(db.db), { now: () => Date.now(), sleep: async () => {} }, () => {});
    const queued = await intake.submit({
      guildId: GUILD,
      source: 'copy',
      sourceRef: `master:${randomUUID()}`,
      authorId: CALLER,
      channelId: null,
      signal: { symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], stopLoss: 25_000, takeProfits: [], leverage: null },
      copy: { masterAccountId: randomUUID(), tradeId: '1', action: 'close', masterQuantity: 0.01, price: 50_000, followers: [] },
    });
    if (queued.kind !== 'queued') throw new Error(JSON.stringify(queued));
    expect(await world.services.signals.cancellable(GUILD, CALLER, '')).toEqual([]);
    const refused = await refusal(world.services.signals.cancel({ guildId: GUILD, authorId: CALLER, signalId: queued.signalId }));
    expect(refused.message).toContain('cannot be withdrawn');
    expect((await signalsRepository(db.db).byId(queued.signalId))?.status).toBe('pending');
    // Nor through the intake directly.
    expect(await intake.cancel(queued.signalId, CALLER)).toBeNull();
  });
});

describe('signal options (pure)', () => {
  it('reads symbols, entries and targets as callers type them', () => {
    expect(normaliseSymbol('BTC/USDT')).toBe('BTC/USDT');
    expect(normaliseSymbol('ethusdt')).toBe('ETH/USDT');
    expect(normaliseSymbol('#sol')).toBe('SOL/USDT');
    expect(normaliseSymbol('$PEPE')).toBe('PEPE/USDT');
    expect(readPriceList('64000-64500', 'entry')).toEqual([64_000, 64_500]);
    expect(readPriceList('1.5k, 2k 2.5K', 'tp')).toEqual([1_500, 2_000, 2_500]);
    expect(readPriceList('', 'tp')).toEqual([]);
    expect(() => readPriceList('-5', 'tp')).toThrow(/invalid number/);
    // The channel's limit: 15 prices a list.
    const sixteen = Array.from({ length: 16 }, (_, i) => 100 + i).join(' ');
    expect(() => readPriceList(sixteen, 'take-profits')).toThrow(/more than 15 entries or 15 take-profits/);
    expect(readPriceList(Array.from({ length: 15 }, (_, i) => 100 + i).join(' '), 'tp')).toHaveLength(15);
    expect(signalFromOptions({ symbol: 'btc', side: 'SHORT', entry: '', stop: 1, takeProfits: '', leverage: null })).toMatchObject({
      side: 'short', entryType: 'market', entries: [], takeProfits: [],
    });
    expect(signalFromOptions({ symbol: 'btc', side: 'long', entry: '100, 99', stop: 90, takeProfits: '110', leverage: 3 })).toMatchObject({
      entryType: 'limit', entries: [100, 99],
    });
  });
});

describe('guild settings service', () => {
  it('refuses non-admins whatever Discord let through; admins change and see the settings', async () => {
    const member = { guildId: GUILD, userId: MEMBER, isAdmin: false };
    const admin = { guildId: GUILD, userId: ADMIN, isAdmin: true };
    for (const call of [
      () => world.services.guilds.pause(member),
      () => world.services.guilds.resume(member),
      () => world.services.guilds.show(member),
      () => world.services.guilds.setFeedChannel(member, '1'),
      () => world.services.guilds.setSignalChannel(member, '1'),
      () => world.services.guilds.setCallerRole(member, '1'),
    ]) {
      expect((await refusal(call())).code).toBe('forbidden');
    }
    expect(await world.services.guilds.get(GUILD)).toBeNull();
    await world.services.guilds.setFeedChannel(admin, '510000000000000001');
    await world.services.guilds.pause(admin);
    expect(await world.services.guilds.show(admin)).toMatchObject({ feedChannelId: '510000000000000001', paused: true, accounts: 0 });
    expect((await world.services.guilds.resume(admin)).paused).toBe(false);
  });
});
