import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { tradingRepository } from '../../../src/db/repositories/trading';
import type { TradeSignal } from '../../../src/domain/signal';
import { currentLane } from '../../../src/exchange/requestLane';
import { createPositionSync, type FollowLoop, type PositionSyncDeps } from '../../../src/trading/positionSync';
import { issueSignal, positionsWorld, SYMBOL, type PositionsWorld } from './support';
import { createStore } from '../../../src/db/store';

/**
 * User-data streams as a hint to the position sync, through ccxt.pro and the simulator's stream: a
 * fill the stream reports gets its stop long before the next planned pass would have found it, and a
 * stream that lost events (a dropped connection, events that never arrived) loses nothing: the
 * reconnect asks for a visit, and polling stays the net.
 */

let world: PositionsWorld | undefined;
let loop: FollowLoop | undefined;
afterEach(async () => {
  await loop?.stop();
  loop = undefined;
  await world?.close();
  world = undefined;
});

const limitLong: TradeSignal = { ...issueSignal, entryType: 'limit', entries: [98] };

const restingStops = (w: PositionsWorld, account: AccountRow) =>
  w.sim.orders(w.apiKeyOf(account)).algo.filter((order) => order.orderType === 'STOP_MARKET' && order.algoStatus === 'NEW');

/**
 * A resting limit entry on one account, and the continuous follow loop with streams, planning every
 * `planEveryMs`; `lease` gives the loop a lease it holds while the test says so (several processes).
 */
async function restingEntry(
  planEveryMs: number,
  options: {
    marketType?: 'futures' | 'spot';
    connectionLifeMs?: number;
    lease?: { held: () => boolean };
    /** Each gateway call of the loop, with the limiter lane it was made in. */
    lanes?: { method: string; lane: string }[];
    /** Set up before the loop starts (its first plan opens the stream). */
    beforeStart?: (w: PositionsWorld) => void;
    /** The test clock's speed (positionsWorld's default: 10×). */
    clockFactor?: number;
  } = {},
) {
  const { marketType = 'futures', connectionLifeMs, lease, lanes, beforeStart, clockFactor } = options;
  world = await positionsWorld({ marketType, ...(connectionLifeMs ? { connectionLifeMs } : {}), ...(clockFactor ? { clockFactor } : {}) });
  const w = world;
  const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
  await w.signal(limitLong, 'stream-limit');
  await w.cycle();
  expect((await w.orderRows(account.id)).map((row) => [row.leg, row.status])).toEqual([['e0', 'open']]);
  const gateways = lanes ? laneRecording(w.provider, lanes) : w.provider;
  const sync = createPositionSync({
    store: createStore(w.db.db),
    gateways,
    clock: w.clock,
    log: w.log,
    streams: w.gateways,
    settings: { planEveryMs, streamConnectEveryMs: 10 },
    ...(lease ? leaseHeldWhile(w, lease.held) : {}),
  });
  beforeStart?.(w);
  loop = sync.start();
  // The stream is open once the simulator counts it (the first plan starts it); a spot one once its
  // WebSocket API connection has also subscribed (events before that reach no one).
  await expect.poll(() => w.sim.userStream.stats.connections, { timeout: 20_000 }).toBe(1);
  if (marketType === 'spot') await expect.poll(() => w.sim.userStream.stats.spotSubscriptions, { timeout: 20_000 }).toBe(1);
  // A connect costs the listenKey only: no positions snapshot (ccxt.pro's default; an account with only
  // a resting entry costs its visits no positions read either).
  expect(w.sim.requestLog.filter((r) => r.path.includes('positionRisk'))).toEqual([]);
  // Futures: one listenKey. Spot: none (a signed subscription on the WebSocket API connection).
  expect(w.sim.requestLog.filter((r) => r.path === '/fapi/v1/listenKey').map((r) => r.method)).toEqual(
    marketType === 'futures' ? ['POST'] : [],
  );
  return { w, account };
}

/** The provider's gateways, each call recorded with the lane it waits in (requestLane.ts). */
function laneRecording(provider: PositionsWorld['provider'], lanes: { method: string; lane: string }[]): PositionsWorld['provider'] {
  return {
    ...provider,
    forAccount(account) {
      const inner = provider.forAccount(account);
      return new Proxy(inner, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            lanes.push({ method: String(prop), lane: currentLane() });
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    },
  };
}

/** A lease this process holds while `held()` says so: claims and the send fence follow it. */
function leaseHeldWhile(w: PositionsWorld, held: () => boolean): Pick<PositionSyncDeps, 'claimAccounts' | 'lease'> {
  const trading = tradingRepository(w.db.db);
  return {
    claimAccounts: async (ids) => (held() ? ids : []),
    lease: {
      holds: async () => held(),
      stamp: async (_account, orderId, sentAt, previous) => held() && trading.stampSent(orderId, sentAt, previous, null),
    },
  };
}

describe('user-data streams', () => {
  it('a fill the stream reports is protected at once, with no planned pass in between', { timeout: 90_000 }, async () => {
    // Plans an hour apart on the test clock: only the stream can bring the visit.
    const { w, account } = await restingEntry(3_600_000);
    const listingsBefore = w.sim.requestLog.filter((r) => r.path === '/fapi/v1/openOrders').length;
    w.sim.setPrice(SYMBOL, 98, 'both');
    await expect.poll(() => restingStops(w, account).length, { timeout: 20_000, interval: 50 }).toBe(1);
    expect(restingStops(w, account)[0]!.quantity).toBe(2);
    // The visit read the account's orders again (the stream is a hint, REST the truth).
    expect(w.sim.requestLog.filter((r) => r.path === '/fapi/v1/openOrders').length).toBeGreaterThan(listingsBefore);
    const entry = (await w.orderRows(account.id)).find((row) => row.leg === 'e0')!;
    expect(entry.status).toBe('filled');
  });

  it("the visit a stream's fill asks for reads in the signal lane, ahead of the background's checks", { timeout: 90_000 }, async () => {
    // At a thousand accounts the background lane holds minutes of routine reads: a fill that needs its
    // stop moved must not wait behind them (bench:steady's fill to book).
    const lanes: { method: string; lane: string }[] = [];
    const { w, account } = await restingEntry(3_600_000, { lanes });
    lanes.length = 0;
    w.sim.setPrice(SYMBOL, 98, 'both');
    await expect.poll(() => restingStops(w, account).length, { timeout: 20_000, interval: 50 }).toBe(1);
    const reads = lanes.filter((call) => ['fetchOrder', 'openOrders', 'positions'].includes(call.method));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((call) => call.lane !== 'signal')).toEqual([]);
  });

  it("the plan's price of a lone symbol is read in the signal lane (an unread price makes every position on it urgent)", { timeout: 90_000 }, async () => {
    const lanes: { method: string; lane: string }[] = [];
    await restingEntry(3_600_000, { lanes });
    // The first plan ran before any visit: its quote is the first.
    const first = lanes.find((call) => call.method === 'quote' || call.method === 'lastPrices');
    expect(first).toEqual({ method: 'quote', lane: 'signal' });
  });

  it("a second stream-reported visit within 10 s reads in the background lane: a member's busy account cannot keep the signal lane", { timeout: 120_000 }, async () => {
    // Real time here: the 10 s window is the test's to keep apart from a loaded machine's delays.
    const lanes: { method: string; lane: string }[] = [];
    const { w, account } = await restingEntry(3_600_000, { lanes, clockFactor: 1 });
    lanes.length = 0;
    w.sim.setPrice(SYMBOL, 98, 'both');
    await expect.poll(() => restingStops(w, account).length, { timeout: 20_000, interval: 50 }).toBe(1);
    const firstAt = w.clock.now();
    const restingTargets = () => w.sim.orders(w.apiKeyOf(account)).algo.filter((o) => o.orderType === 'TAKE_PROFIT_MARKET' && o.algoStatus === 'NEW');
    await expect.poll(() => restingTargets().length, { timeout: 5_000, interval: 20 }).toBe(2);
    const reads = (calls: typeof lanes) => calls.filter((call) => ['fetchOrder', 'openOrders', 'positions'].includes(call.method));
    expect(reads(lanes).filter((call) => call.lane !== 'signal')).toEqual([]);
    // The first take-profit fills moments later: its visit waits its turn with the background's reads.
    const second = lanes.length;
    w.sim.setPrice(SYMBOL, 105, 'both');
    await expect.poll(() => reads(lanes.slice(second)).length, { timeout: 20_000, interval: 50 }).toBeGreaterThan(0);
    expect(w.clock.now() - firstAt).toBeLessThan(10_000);
    expect(reads(lanes.slice(second)).map((call) => call.lane)).not.toContain('signal');
  });

  it("a fallback quote after a failed all-symbol read stays in the background lane (each plan would queue it again)", { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    w.sim.setPrice('ETHUSDT', 3_000, 'both');
    await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await w.signal(limitLong, 'fallback-link');
    await w.signal({ ...limitLong, symbol: 'ETH/USDT', entries: [2_900], stopLoss: 2_800, takeProfits: [3_100] }, 'fallback-eth');
    await w.cycle();
    const calls: { method: string; lane: string }[] = [];
    const recording = laneRecording(w.provider, calls);
    // The all-symbol read fails: the plan falls back to one quote per symbol.
    const gateways: PositionsWorld['provider'] = {
      ...recording,
      forAccount(account) {
        const gateway = recording.forAccount(account);
        return new Proxy(gateway, {
          get: (target, prop, receiver) =>
            prop === 'lastPrices' ? async () => Promise.reject(new Error('ticker/price failed')) : (Reflect.get(target, prop, receiver) as unknown),
        });
      },
    };
    loop = createPositionSync({ store: createStore(w.db.db), gateways, clock: w.clock, log: w.log, settings: { planEveryMs: 3_600_000 } }).start();
    await expect.poll(() => calls.filter((call) => call.method === 'quote').length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    // The first plan's two quotes (no visit was queued before its prices) are the fallbacks.
    expect(calls.filter((call) => call.method === 'quote').slice(0, 2)).toEqual([
      { method: 'quote', lane: 'background' },
      { method: 'quote', lane: 'background' },
    ]);
  });

  it('a fill while the connection was down is found by the visit its reconnect asks for', { timeout: 90_000 }, async () => {
    const { w, account } = await restingEntry(3_600_000);
    expect(w.sim.streamFault('disconnect')).toBe(1);
    // The entry fills while no stream is open: its events reach no one.
    w.sim.setPrice(SYMBOL, 98, 'both');
    await expect.poll(() => restingStops(w, account).length, { timeout: 30_000, interval: 50 }).toBe(1);
    expect(w.sim.userStream.stats.connectsTotal).toBe(2);
  });

  it('an expired listenKey (Binance leaves the socket open and silent) is a loss: the reconnect gets a new key and its visit finds the fill', { timeout: 90_000 }, async () => {
    const { w, account } = await restingEntry(3_600_000);
    expect(w.sim.streamFault('expire')).toBe(1);
    w.sim.setPrice(SYMBOL, 98, 'both');
    await expect.poll(() => restingStops(w, account).length, { timeout: 30_000, interval: 50 }).toBe(1);
    expect(w.sim.requestLog.filter((r) => r.path === '/fapi/v1/listenKey').map((r) => r.method)).toEqual(['POST', 'POST']);
    expect(w.sim.userStream.stats.connectsTotal).toBe(2);
  });

  it('the end of a connection\'s life (Binance closes each after 24 hours) is a loss: the reconnect\'s visit finds what filled', { timeout: 90_000 }, async () => {
    // A life of 30 s on the test clock (3 s here) stands for the 24 hours.
    const { w, account } = await restingEntry(3_600_000, { connectionLifeMs: 30_000 });
    await expect.poll(() => w.sim.userStream.stats.connectsTotal, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    // The entry fills while the connection may be between two lives: a visit finds it either way.
    w.sim.setPrice(SYMBOL, 98, 'both');
    await expect.poll(() => restingStops(w, account).length, { timeout: 30_000, interval: 50 }).toBe(1);
    await expect.poll(() => w.sim.userStream.stats.connections, { timeout: 10_000 }).toBe(1);
  });

  it('spot: a fill reported over the WebSocket API subscription gets its exits at once', { timeout: 90_000 }, async () => {
    const { w, account } = await restingEntry(3_600_000, { marketType: 'spot' });
    w.sim.setPrice(SYMBOL, 98, 'both');
    await expect
      .poll(async () => (await w.orderRows(account.id)).find((row) => row.leg === 'e0')?.status, { timeout: 40_000, interval: 50 })
      .toBe('filled');
    const spot = w.sim.orders(w.apiKeyOf(account)).spot;
    await expect.poll(() => w.sim.orders(w.apiKeyOf(account)).spot.filter((o) => o.side === 'SELL' && o.status === 'NEW').length, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(spot.filter((o) => o.side === 'BUY' && o.status === 'FILLED')).toHaveLength(1);
  });

  it("spot: a fill reported in the same read as the subscription's answer (before ccxt waits for orders) is not lost", { timeout: 90_000 }, async () => {
    // ccxt resolves only a watchOrders call already waiting: this event finds none, and ccxt keeps it
    // until some later event. The stream reports it as missed, and the account is visited at once.
    const { w, account } = await restingEntry(3_600_000, {
      marketType: 'spot',
      beforeStart: (w) => w.sim.afterSpotSubscribe(() => w.sim.setPrice(SYMBOL, 98, 'both')),
    });
    await expect
      .poll(async () => (await w.orderRows(account.id)).find((row) => row.leg === 'e0')?.status, { timeout: 40_000, interval: 50 })
      .toBe('filled');
    await expect.poll(() => w.sim.orders(w.apiKeyOf(account)).spot.filter((o) => o.side === 'SELL' && o.status === 'NEW').length, { timeout: 20_000 }).toBeGreaterThan(0);
  });

  it('an account whose lease comes back while its stream still lingers here is reconciled at once, not after 5 minutes', { timeout: 120_000 }, async () => {
    let held = true;
    const { w, account } = await restingEntry(20_000, { lease: { held: () => held } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The lease moves to another process: this one's stream lingers, still open.
    held = false;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // The entry fills on a wick: this process hears it but holds no lease, so it visits nothing.
    w.sim.setPrice(SYMBOL, 98, 'both');
    await new Promise((resolve) => setTimeout(resolve, 300));
    w.sim.setPrice(SYMBOL, 100, 'both');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(restingStops(w, account)).toHaveLength(0);
    // The other process dies and the lease comes back: the visit made before it left does not count.
    held = true;
    const backAt = w.clock.now();
    await expect.poll(() => restingStops(w, account).length, { timeout: 60_000, interval: 100 }).toBe(1);
    // A plan or two (20 s each), not the 5 minutes of a streamed account's reconciliation.
    expect(w.clock.now() - backAt).toBeLessThan(60_000);
  });

  for (const marketType of ['futures', 'spot'] as const)
    it(`${marketType}: the balance change a fill brings is heard, so a balance read before it is no longer vouched for`, { timeout: 90_000 }, async () => {
      const { w, account } = await restingEntry(20_000, { marketType });
      const follow = loop!;
      await expect.poll(() => follow.balanceQuietSince(account.id), { timeout: 20_000 }).not.toBeNull();
      const quietBefore = follow.balanceQuietSince(account.id)!;
      await new Promise((resolve) => setTimeout(resolve, 200));
      const fillAt = w.clock.now();
      w.sim.setPrice(SYMBOL, 98, 'both');
      // Futures ACCOUNT_UPDATE; spot outboundAccountPosition on the WebSocket API subscription.
      await expect.poll(() => follow.balanceQuietSince(account.id) ?? 0, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(fillAt);
      expect(quietBefore).toBeLessThan(fillAt);
    });

  it('the plan reads the prices it ranks by in one read of all symbols per market (weight 2), not one per symbol', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    w.sim.setPrice('ETHUSDT', 3_000, 'both');
    await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await w.signal(limitLong, 'prices-link');
    await w.signal({ ...limitLong, symbol: 'ETH/USDT', entries: [2_900], stopLoss: 2_800, takeProfits: [3_100] }, 'prices-eth');
    await w.cycle();
    const from = w.sim.requestLog.length;
    loop = createPositionSync({ store: createStore(w.db.db), gateways: w.provider, clock: w.clock, log: w.log, settings: { planEveryMs: 1_000 } }).start();
    await expect.poll(() => w.sim.requestLog.slice(from).filter((r) => r.path === '/fapi/v2/ticker/price').length, { timeout: 20_000 }).toBeGreaterThan(1);
    // (A visit still reads its own symbol's price for its decisions: those are per symbol.)
  });

  it('reconciliations of streamed accounts are paced per market type: a few a minute, however many are due', { timeout: 120_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const accounts = [];
    for (let i = 0; i < 4; i += 1) accounts.push(await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 }));
    await w.signal(limitLong, 'paced-reconciliation');
    await w.cycle();
    // Every account's reconciliation is due every second of the test clock; 2 may start a minute.
    loop = createPositionSync({
      store: createStore(w.db.db),
      gateways: w.provider,
      clock: w.clock,
      log: w.log,
      streams: w.gateways,
      settings: { planEveryMs: 1_000, streamConnectEveryMs: 10, streamedReconcileMs: 1_000, streamedReconcilePerMinute: { futures: 2, spot: 1 } },
    }).start();
    await expect.poll(() => w.sim.userStream.stats.connections, { timeout: 20_000 }).toBe(accounts.length);
    // The bot hears each open a little after the simulator counts it (until then it polls the account).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const keys = new Set(accounts.map((account) => w.apiKeyOf(account)));
    // A visit of a resting entry reads the open orders of its symbol once.
    const visits = () => w.sim.requestLog.filter((r) => r.apiKey !== undefined && keys.has(r.apiKey) && r.method === 'GET' && r.path === '/fapi/v1/openOrders').length;
    const from = w.clock.now();
    const before = visits();
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const minutes = (w.clock.now() - from) / 60_000;
    const paced = visits() - before;
    // Unpaced, the four would be visited hundreds of times in these two minutes.
    expect(paced).toBeGreaterThan(0);
    expect(paced).toBeLessThanOrEqual(Math.ceil(2 * minutes) + 1);
  });

  it('events that never arrive are found by polling', { timeout: 90_000 }, async () => {
    // Plans every 20 s of the test clock (2 s here): the plan's price read sees the entry's level
    // reached and visits the account, whatever the stream lost (its routine turns, while its stream
    // is open, come only every 5 minutes).
    const { w, account } = await restingEntry(20_000);
    w.sim.streamFault('drop', { count: 1_000 });
    w.sim.setPrice(SYMBOL, 98, 'both');
    await expect.poll(() => restingStops(w, account).length, { timeout: 30_000, interval: 50 }).toBe(1);
    expect(w.sim.userStream.stats.eventsDropped).toBeGreaterThan(0);
    expect(w.sim.userStream.stats.connectsTotal).toBe(1);
  });
});
