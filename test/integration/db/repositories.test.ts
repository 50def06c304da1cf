import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, DatabaseHandle } from '../../../src/db/client';
import { accountsRepository, type NewAccount } from '../../../src/db/repositories/accounts';
import { guildsRepository } from '../../../src/db/repositories/guilds';
import { outboxRepository } from '../../../src/db/repositories/outbox';
import { signalsRepository } from '../../../src/db/repositories/signals';
import { tradingRepository } from '../../../src/db/repositories/trading';
import { usersRepository } from '../../../src/db/repositories/users';
import type { FeedEvent } from '../../../src/domain/feedEvents';
import type { TradeSignal, ValidatedSignal } from '../../../src/domain/signal';
import { validateSignal } from '../../../src/domain/signalValidation';
import { databaseKinds, freshDatabase } from '../../support/db';

const GUILD = '100000000000000001';
const ALICE = '200000000000000001';
const BOB = '200000000000000002';

const account = (ownerId: string, name: string, overrides: Partial<NewAccount> = {}): NewAccount => ({
  id: randomUUID(),
  ownerId,
  guildId: GUILD,
  name,
  exchangeId: 'binance',
  marketType: 'futures',
  mode: 'paper',
  ...overrides,
});

const signal = (sourceRef: string) => ({
  id: randomUUID(),
  guildId: GUILD,
  source: 'command' as const,
  sourceRef,
  authorId: ALICE,
  channelId: null,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  // Only validated signals are queued (the intake's one validation).
  signal: validated({
    symbol: 'BTC/USDT',
    side: 'long',
    entryType: 'market',
    entries: [],
    stopLoss: 60000,
    takeProfits: [70000],
    leverage: null,
  }),
});

function validated(input: TradeSignal): ValidatedSignal {
  const result = validateSignal(input);
  if (!result.ok) throw new Error(result.reason);
  return result.signal;
}

describe.each(databaseKinds)('repositories on %s', (kind) => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await freshDatabase(kind);
  });
  afterAll(() => handle.close());

  it('creates accounts with the documented defaults, disabled until the owner turns them on', async () => {
    const accounts = accountsRepository(handle.db);
    const row = await accounts.create(account(ALICE, 'main'));
    expect(row).toMatchObject({
      enabled: false,
      verified: false,
      maxPositionUsd: 1000,
      leverage: 10,
      maxDailyTrades: 5,
      riskPerTradePct: 2,
      maxDailyLossPct: 5,
      stopOnLoss: true,
      sizingMode: 'fixed',
      sizingValue: 100,
      shareAmounts: false,
      symbolAllow: [],
      symbolBlock: [],
    });
    expect(await usersRepository(handle.db).get(ALICE)).toMatchObject({ exposureCapUsd: null });
  });

  it('scopes every personal query by owner and server: another member, or the owner elsewhere, finds nothing', async () => {
    const accounts = accountsRepository(handle.db);
    const mine = await accounts.create(account(ALICE, 'scoped'));
    const alice = { ownerId: ALICE, guildId: mine.guildId };
    const bob = { ownerId: BOB, guildId: mine.guildId };
    const aliceElsewhere = { ownerId: ALICE, guildId: '110000000000000999' };
    expect(await accounts.findOwned(alice, mine.id)).not.toBeNull();
    expect(await accounts.findOwned(bob, mine.id)).toBeNull();
    expect(await accounts.findOwned(aliceElsewhere, mine.id)).toBeNull();
    expect(await accounts.findOwned(bob, 'not-a-uuid')).toBeNull();
    expect(await accounts.updateOwned(bob, mine.id, { enabled: true })).toBeNull();
    expect(await accounts.updateOwned(aliceElsewhere, mine.id, { enabled: true })).toBeNull();
    expect(await accounts.deleteOwned(bob, mine.id)).toBe(false);
    expect(await accounts.deleteOwned(aliceElsewhere, mine.id)).toBe(false);
    expect((await accounts.listOwned(BOB)).map((row) => row.id)).not.toContain(mine.id);
    expect((await accounts.findOwned(alice, mine.id))?.enabled).toBe(false);
  });

  it('keeps names unique per guild and owner, not across owners', async () => {
    const accounts = accountsRepository(handle.db);
    await accounts.create(account(ALICE, 'dup'));
    await expect(accounts.create(account(ALICE, 'dup'))).rejects.toThrow();
    await expect(accounts.create(account(BOB, 'dup'))).resolves.toMatchObject({ name: 'dup' });
  });

  it('refuses settings outside their ranges at the database too', async () => {
    const accounts = accountsRepository(handle.db);
    await expect(accounts.create(account(ALICE, 'lev', { leverage: 126 }))).rejects.toThrow();
    await expect(accounts.create(account(ALICE, 'pos', { maxPositionUsd: 5 }))).rejects.toThrow();
    await expect(accounts.create(account(ALICE, 'loss', { maxDailyLossPct: 25 }))).rejects.toThrow();
  });

  it('lists only enabled, unpaused accounts of the guild for trading', async () => {
    const accounts = accountsRepository(handle.db);
    const now = new Date('2026-03-01T12:00:00Z');
    const on = await accounts.create(account(BOB, 'on', { enabled: true }));
    const paused = await accounts.create(
      account(BOB, 'paused', { enabled: true, pausedUntil: new Date('2026-03-02T00:00:00Z') }),
    );
    const elsewhere = await accounts.create(
      account(BOB, 'other-guild', { enabled: true, guildId: '1'.repeat(18) }),
    );
    const ids = (await accounts.listTradingInGuild(GUILD, now)).map((row) => row.id);
    expect(ids).toContain(on.id);
    expect(ids).not.toContain(paused.id);
    expect(ids).not.toContain(elsewhere.id);
  });

  it('queues a signal once per source reference and lets one claimer take it', async () => {
    const repo = signalsRepository(handle.db);
    const first = await repo.enqueue(signal('msg-1'));
    const again = await repo.enqueue({ ...signal('msg-1'), id: randomUUID() });
    expect(first.inserted).toBe(true);
    expect(again).toEqual({ inserted: false, id: first.id });
    const now = new Date();
    const target = await accountsRepository(handle.db).create(account(ALICE, 'claim-target'));
    // Two claimers, each claiming and fanning out (one execution) in one transaction until nothing is left.
    const claimAll = async (who: string) => {
      const ids: string[] = [];
      for (;;) {
        const row = await handle.db.transaction(async (tx) => {
          const claimed = await signalsRepository(tx as unknown as Database).claimNext(who, now);
          if (claimed) {
            await tradingRepository(tx as unknown as Database).createExecutions([
              {
                id: randomUUID(),
                signalId: claimed.id,
                accountId: target.id,
                ownerId: ALICE,
                status: 'skipped',
                reason: 'test',
              },
            ]);
          }
          return claimed;
        });
        if (!row) return ids;
        ids.push(row.id);
      }
    };
    const [a, b] = await Promise.all([claimAll('a'), claimAll('b')]);
    expect([...a, ...b].filter((id) => id === first.id)).toHaveLength(1);
    expect((await repo.byId(first.id))?.status).toBe('executing');

    // 'executing' without a single execution (an older version's claim whose fan-out never landed) is claimed again.
    const stuck = await repo.enqueue(signal('msg-stuck'));
    await handle.db.transaction((tx) =>
      signalsRepository(tx as unknown as Database).claimNext('old-version', now),
    );
    expect((await repo.byId(stuck.id))?.status).toBe('executing');
    const repaired = await handle.db.transaction((tx) =>
      signalsRepository(tx as unknown as Database).claimNext('c', now),
    );
    expect(repaired?.id).toBe(stuck.id);
    expect(repaired?.claimedBy).toBe('c');
  });

  it('keeps guild settings and the member exposure cap', async () => {
    const guilds = guildsRepository(handle.db);
    await guilds.update(GUILD, { feedChannelId: '300000000000000001' });
    const row = await guilds.update(GUILD, { paused: true });
    expect(row).toMatchObject({ feedChannelId: '300000000000000001', paused: true, signalChannelId: null });
    await usersRepository(handle.db).setExposureCap(ALICE, 2500);
    expect((await usersRepository(handle.db).get(ALICE))?.exposureCapUsd).toBe(2500);
  });

  it('delivers outbox rows oldest first and forgets posted ones', async () => {
    const outbox = outboxRepository(handle.db);
    await outbox.enqueue([
      // Not events: the queue's order is what is checked.
      { guildId: GUILD, kind: 'event', payload: { n: 1 } as unknown as FeedEvent },
      { guildId: GUILD, kind: 'event', payload: { n: 2 } as unknown as FeedEvent },
    ]);
    const due = await outbox.due(10, new Date(Date.now() + 1000));
    expect(due.map((row) => row.payload)).toEqual([{ n: 1 }, { n: 2 }]);
    await outbox.markPosted([due[0]!.id], '300000000000000001', '400000000000000001', new Date());
    await outbox.markRetry([due[1]!.id], 'boom', new Date(Date.now() + 60_000));
    expect(await outbox.due(10, new Date())).toHaveLength(0);
    expect(await outbox.backlog()).toBe(1);
  });

  it('member exposure counts resting and in-flight entries of one mode, never reduce-only orders nor other modes', async () => {
    const accounts = accountsRepository(handle.db);
    const trading = tradingRepository(handle.db);
    const CAROL = '200000000000000003';
    const live = await accounts.create(account(CAROL, 'exp-live', { mode: 'live' }));
    const paper = await accounts.create(account(CAROL, 'exp-paper', { mode: 'paper' }));
    const queued = await signalsRepository(handle.db).enqueue(signal('exposure-1'));
    const exec = (accountId: string) => ({
      id: randomUUID(),
      signalId: queued.id,
      accountId,
      ownerId: CAROL,
      status: 'in-flight' as const,
      reason: null,
    });
    const [liveExec, paperExec] = [exec(live.id), exec(paper.id)];
    await trading.createExecutions([liveExec, paperExec]);
    await trading.touchExecutionsMany([
      { id: liveExec.id, patch: { symbol: 'BTC/USDT:USDT', quantity: 0.02, notional: 1_000 } },
      { id: paperExec.id, patch: { symbol: 'BTC/USDT:USDT', quantity: 0.2, notional: 10_000 } },
    ]);
    // Planned, no entry written yet: its notional counts.
    expect(await trading.memberExposure(CAROL, 'live', 'BTC')).toBe(1_000);
    const order = (
      e: typeof liveExec,
      leg: string,
      fields: { quantity: number; price: number | null; reduceOnly?: boolean; filledQuantity?: number },
    ) => ({
      id: randomUUID(),
      executionId: e.id,
      signalId: queued.id,
      accountId: e.accountId,
      ownerId: CAROL,
      leg,
      clientOrderId: `x${randomUUID().slice(0, 8)}${leg}`,
      symbol: 'BTC/USDT:USDT',
      side: 'buy' as const,
      type: 'limit' as const,
      status: 'open' as const,
      triggerPrice: null,
      ...fields,
    });
    // A resting limit entry, 0.005 of 0.02 filled (its position holds the rest); a reduce-only copy close.
    await trading.insertOrders([
      order(liveExec, 'e0', { quantity: 0.02, price: 49_000, filledQuantity: 0.005 }),
      order(liveExec, 'e1', { quantity: 0.01, price: 48_000, reduceOnly: true }),
      order(paperExec, 'e0', { quantity: 0.2, price: 49_000 }),
    ]);
    expect(await trading.memberExposure(CAROL, 'live', 'BTC')).toBeCloseTo(0.015 * 49_000, 6);
    expect(await trading.memberExposure(CAROL, 'paper', 'BTC')).toBeCloseTo(0.2 * 49_000, 6);
    expect(await trading.memberExposure(CAROL, 'live', 'ETH')).toBe(0);
  });

  it("writes many executions' plans in one statement and leaves a bare touch's plan as it was", async () => {
    const accounts = accountsRepository(handle.db);
    const trading = tradingRepository(handle.db);
    const one = await accounts.create(account(ALICE, 'plans-1'));
    const two = await accounts.create(account(ALICE, 'plans-2'));
    const queued = await signalsRepository(handle.db).enqueue(signal('plans-1'));
    const [first, second] = [randomUUID(), randomUUID()];
    await trading.createExecutions(
      [
        [first, one.id],
        [second, two.id],
      ].map(([id, accountId]) => ({
        id: id!,
        signalId: queued.id,
        accountId: accountId!,
        ownerId: ALICE,
        status: 'pending' as const,
        reason: null,
      })),
    );
    const plan = {
      symbol: 'BTC/USDT:USDT',
      leverage: 20,
      leverageCapped: true,
      quantity: 0.008,
      notional: 400,
      margin: 20,
      notes: ["it's capped", 'a, b'],
    };
    await trading.touchExecutionsMany([{ id: first, patch: plan }]);
    await trading.touchExecutionsMany([
      { id: first, patch: {} },
      { id: second, patch: { ...plan, notes: [] } },
    ]);
    const rows = new Map((await trading.executionsOfSignal(queued.id)).map((row) => [row.id, row]));
    expect(rows.get(first)).toMatchObject(plan);
    expect(rows.get(second)).toMatchObject({ ...plan, notes: [] });
  });

  it('patches many orders in one statement per column set, nulls and numbers included', async () => {
    const accounts = accountsRepository(handle.db);
    const trading = tradingRepository(handle.db);
    const owner = await accounts.create(account(ALICE, 'patches'));
    const queued = await signalsRepository(handle.db).enqueue(signal('patches-1'));
    const executionId = randomUUID();
    await trading.createExecutions([
      {
        id: executionId,
        signalId: queued.id,
        accountId: owner.id,
        ownerId: ALICE,
        status: 'pending',
        reason: null,
      },
    ]);
    const order = (leg: string) => ({
      id: randomUUID(),
      executionId,
      signalId: queued.id,
      accountId: owner.id,
      ownerId: ALICE,
      leg,
      clientOrderId: `c${leg}${randomUUID().slice(0, 8)}`,
      symbol: 'BTC/USDT:USDT',
      side: 'buy' as const,
      type: 'market' as const,
      reduceOnly: false,
      quantity: 0.008,
      price: null,
      triggerPrice: null,
      status: 'intent' as const,
      attempts: 1,
      sentAt: 1_700_000_000_123,
    });
    const [entry, stop, target] = await trading.insertOrdersReturning([
      order('e0'),
      order('s0'),
      order('t0'),
    ]);
    // Columns left out take their defaults; a row already there is not written (nor returned) again.
    expect(entry).toMatchObject({
      leg: 'e0',
      status: 'intent',
      filledQuantity: 0,
      fees: [],
      sentAt: 1_700_000_000_123,
    });
    expect(entry!.createdAt).toBeInstanceOf(Date);
    expect(
      await trading.insertOrdersReturning([{ ...order('e0'), clientOrderId: entry!.clientOrderId }]),
    ).toEqual([]);
    await trading.updateOrdersMany([
      {
        id: entry!.id,
        patch: {
          status: 'filled',
          exchangeOrderId: '9007199254740993',
          filledQuantity: 0.008,
          averagePrice: 50_000.1,
          fees: [
            { currency: 'USDT', amount: 0.16000032, quoteValue: 0.16000032 },
            { currency: 'BNB', amount: 0.00005, quoteValue: null },
          ],
        },
      },
      { id: stop!.id, patch: { status: 'open', exchangeOrderId: '12' } },
      {
        id: target!.id,
        patch: { status: 'rejected', reason: "it's refused", sentAt: 1_700_000_999_999, triggerPrice: null },
      },
    ]);
    const rows = new Map((await trading.ordersOfExecution(executionId)).map((row) => [row.leg, row]));
    expect(rows.get('e0')).toMatchObject({
      status: 'filled',
      exchangeOrderId: '9007199254740993',
      filledQuantity: 0.008,
      averagePrice: 50_000.1,
      fees: [
        { currency: 'USDT', amount: 0.16000032, quoteValue: 0.16000032 },
        { currency: 'BNB', amount: 0.00005, quoteValue: null },
      ],
    });
    expect(rows.get('s0')).toMatchObject({ status: 'open', exchangeOrderId: '12', filledQuantity: 0 });
    expect(rows.get('t0')).toMatchObject({
      status: 'rejected',
      reason: "it's refused",
      sentAt: 1_700_000_999_999,
      triggerPrice: null,
    });
  });
});
