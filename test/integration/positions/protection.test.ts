import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { eq } from 'drizzle-orm';
import { executions, orders, signals } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { createPositionSync } from '../../../src/trading/positionSync';
import { withGatewayHooks } from '../../support/gateways';
import { issueSignal, positionsWorld, SYMBOL, type PositionsWorld } from './support';
import { createStore } from '../../../src/db/store';

/**
 * "A position always has a resting stop", attacked through the real ccxt client and the simulator:
 * a withdrawn entry that filled, a break-even move the price has already passed, and stops the
 * exchange refused. Each test fails on the lifecycle before issue #11.
 */

let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const AUTHOR = '200000000000099999';

/**
 * The gateways with every BTC order held until `release()` (a slow exchange, a big fan-out): the
 * signal path stays busy while the position sync runs beside it.
 */
function holdingBtcOrders(w: PositionsWorld) {
  const state = { waiting: false, released: false, release: () => void (state.released = true) };
  const provider = withGatewayHooks(w.provider, {
    placeOrder: (inner) => async (intent, options) => {
      if (intent.symbol.startsWith('BTC')) {
        state.waiting = true;
        await expect.poll(() => state.released, { timeout: 60_000, interval: 20 }).toBe(true);
      }
      return inner.placeOrder(intent, options);
    },
  });
  return Object.assign(state, { provider });
}

/** The account's resting stop orders on the exchange (algo stop-market orders, status NEW). */
function restingStops(w: PositionsWorld, account: AccountRow) {
  return w.sim
    .orders(w.apiKeyOf(account))
    .algo.filter((order) => order.orderType === 'STOP_MARKET' && order.algoStatus === 'NEW');
}

const exchangeHolds = (w: PositionsWorld, account: AccountRow) =>
  w.sim.positions(w.apiKeyOf(account)).reduce((sum, p) => sum + Math.abs(p.amt), 0);

/** A filled entry whose stop answer was lost (its request failed with a 503, never processed). */
async function positionWithLostStop(): Promise<{ w: PositionsWorld; account: AccountRow }> {
  world = await positionsWorld();
  const w = world;
  const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
  w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/algoOrder', method: 'POST', count: 1 });
  await w.signal();
  await w.cycle();
  return { w, account };
}

const dms = async (w: PositionsWorld, account: AccountRow) =>
  (await w.feedRows(account.id))
    .filter((row) => row.kind === 'dm')
    .map((row) => row.payload as { kind: string; detail: string | null });

describe('a withdrawn entry that had already filled', () => {
  it(
    'is looked up, not written off: its position is followed and protected by a stop',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      const limitLong: TradeSignal = { ...issueSignal, entryType: 'limit', entries: [98] };
      await w.signal(limitLong, 'withdrawn-limit');
      await w.cycle();
      expect((await w.orderRows(account.id)).map((row) => [row.leg, row.status])).toEqual([['e0', 'open']]);

      // The entry fills on the exchange; before the bot has seen it, the caller withdraws the signal.
      w.sim.setPrice(SYMBOL, 98, 'both');
      expect(exchangeHolds(w, account)).toBe(2);
      const [signal] = await w.db.db.select().from(signals);
      expect(await w.intake.cancel(signal!.id, AUTHOR)).not.toBeNull();
      await w.cycle();

      const entry = (await w.orderRows(account.id)).find((row) => row.leg === 'e0')!;
      expect(entry.status).toBe('filled');
      expect(entry.filledQuantity).toBe(2);
      const [position] = await w.positionRows(account.id);
      expect(position).toMatchObject({ status: 'open', quantity: 2 });
      expect(restingStops(w, account)).toHaveLength(1);
      expect(restingStops(w, account)[0]!.quantity).toBe(2);
    },
  );
});

describe('a limit entry that fills while the position sync runs', () => {
  it(
    'is not taken for a position closed outside the bot: it gets its stop',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      await w.signal({ ...issueSignal, entryType: 'limit', entries: [98] }, 'fills-mid-sync');
      await w.cycle();
      // The entry fills right after the sync's first read of the exchange (its positions when it reads
      // them, else its open orders): what was read before says nothing is held.
      let filled = false;
      const fillAfter =
        <K extends 'positions' | 'openOrders'>(method: K) =>
        (inner: ExchangeGateway) =>
          (async (...args: unknown[]) => {
            const read = await (inner[method] as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
            if (!filled) w.sim.setPrice(SYMBOL, 98, 'both');
            filled = true;
            return read;
          }) as ExchangeGateway[K];
      const provider = withGatewayHooks(w.provider, {
        positions: fillAfter('positions'),
        openOrders: fillAfter('openOrders'),
      });
      const sync = createPositionSync({ store: createStore(w.db.db), gateways: provider, clock: w.clock, log: w.log });
      // A listing read before the fill may say the entry still rests: the next visit sees the fill.
      await sync.syncAccount(account.id);
      await sync.syncAccount(account.id);
      expect(exchangeHolds(w, account)).toBe(2);
      const [position] = await w.positionRows(account.id);
      expect(position).toMatchObject({ status: 'open', quantity: 2 });
      expect(restingStops(w, account)).toHaveLength(1);
    },
  );
});

describe('the position sync beside a slow fan-out', () => {
  it(
    "a filled entry gets its stop while another signal's orders are still waiting on the exchange",
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      await w.signal({ ...issueSignal, entryType: 'limit', entries: [98] }, 'resting');
      await w.cycle();
      w.sim.setPrice(SYMBOL, 98, 'both');
      // The next signal's entry takes a long while to be answered (a slow exchange, a big fan-out).
      const held = holdingBtcOrders(w);
      const provider = held.provider;
      const engine = w.engine({
        maxSignalLagMs: 60 * 60_000,
        balanceMaxAgeMs: 60 * 60_000,
        gateways: provider,
        instanceName: 'beside',
      });
      engine.addCycleStep(
        'positions',
        createPositionSync({ store: createStore(w.db.db), gateways: provider, clock: w.clock, log: w.log }).run,
        { beside: true },
      );
      await engine.start();
      await w.signal(
        {
          symbol: 'BTC/USDT',
          side: 'long',
          entryType: 'market',
          entries: [],
          stopLoss: 45_000,
          takeProfits: [55_000],
          leverage: 1,
        },
        'slow',
      );
      const cycle = engine.runCycle();
      await expect
        .poll(() => restingStops(w, account).filter((o) => o.symbol === SYMBOL).length, { timeout: 30_000 })
        .toBe(1);
      held.release();
      await cycle;
    },
  );
});

describe('the position sync beside a fan-out that lasts', () => {
  it(
    'runs again while the fan-out lasts: an entry that fills after its first pass gets its stop',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      await w.signal({ ...issueSignal, entryType: 'limit', entries: [98] }, 'resting');
      await w.cycle();
      const held = holdingBtcOrders(w);
      const provider = held.provider;
      const engine = w.engine({
        maxSignalLagMs: 60 * 60_000,
        balanceMaxAgeMs: 60 * 60_000,
        gateways: provider,
        instanceName: 'beside-again',
      });
      const sync = createPositionSync({ store: createStore(w.db.db), gateways: provider, clock: w.clock, log: w.log });
      let passes = 0;
      engine.addCycleStep(
        'positions',
        async () => {
          await sync.run();
          passes += 1;
        },
        { beside: true },
      );
      await engine.start();
      await w.signal(
        {
          symbol: 'BTC/USDT',
          side: 'long',
          entryType: 'market',
          entries: [],
          stopLoss: 45_000,
          takeProfits: [55_000],
          leverage: 1,
        },
        'slow',
      );
      const cycle = engine.runCycle();
      // The fan-out is held up and the sync's first pass is over; only then does the entry fill.
      await expect.poll(() => held.waiting && passes >= 1, { timeout: 30_000, interval: 20 }).toBe(true);
      w.sim.setPrice(SYMBOL, 98, 'both');
      await expect
        .poll(() => restingStops(w, account).filter((o) => o.symbol === SYMBOL).length, { timeout: 30_000 })
        .toBe(1);
      expect(held.released).toBe(false);
      held.release();
      await cycle;
    },
  );
});

describe('an entry whose answer was lost, during a fan-out that lasts', () => {
  it(
    'is reconciled and protected before the fan-out ends, not at the next cycle',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      const held = holdingBtcOrders(w);
      const provider = held.provider;
      const engine = w.engine({
        maxSignalLagMs: 60 * 60_000,
        balanceMaxAgeMs: 60 * 60_000,
        gateways: provider,
        instanceName: 'lost-entry',
      });
      engine.addCycleStep(
        'positions',
        createPositionSync({ store: createStore(w.db.db), gateways: provider, clock: w.clock, log: w.log }).run,
        { beside: true },
      );
      await engine.start();
      // The LINK entry fills but its answer is lost, and lookups deny it for 10 s (more than the
      // protocol waits in one go); meanwhile the BTC signal's orders wait on the exchange.
      w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', count: 1 });
      w.sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 10_000 });
      await w.signal(issueSignal, 'lost-answer');
      await w.signal(
        {
          symbol: 'BTC/USDT',
          side: 'long',
          entryType: 'market',
          entries: [],
          stopLoss: 45_000,
          takeProfits: [55_000],
          leverage: 1,
        },
        'slow',
      );
      const cycle = engine.runCycle();
      await expect
        .poll(() => restingStops(w, account).filter((o) => o.symbol === SYMBOL).length, { timeout: 30_000 })
        .toBe(1);
      expect(restingStops(w, account)[0]!.quantity).toBe(exchangeHolds(w, account));
      expect(held.released).toBe(false);
      held.release();
      await cycle;
      expect(
        w.sim.orders(w.apiKeyOf(account)).futures.filter((o) => o.symbol === SYMBOL && o.type === 'MARKET'),
      ).toHaveLength(1);
    },
  );
});

describe('an entry whose answer was lost, with no cycle after it', () => {
  it(
    'is reconciled by the in-flight loop within seconds and protected, without waiting for a cycle',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      const engine = w.engine({
        maxSignalLagMs: 60 * 60_000,
        balanceMaxAgeMs: 60 * 60_000,
        gateways: w.provider,
        instanceName: 'reconciler',
      });
      await engine.start();
      // The entry fills but its answer is lost, and lookups deny it for 10 s: the cycle ends with the
      // execution in flight and the position without a stop.
      w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', count: 1 });
      w.sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 10_000 });
      await w.signal(issueSignal, 'lost-answer-between-cycles');
      await engine.runCycle();
      const held = exchangeHolds(w, account);
      expect(held).toBeGreaterThan(0);
      expect(restingStops(w, account)).toHaveLength(0);
      engine.keepReconciling(1_000);
      try {
        await expect.poll(() => restingStops(w, account).length, { timeout: 30_000, interval: 50 }).toBe(1);
        expect(restingStops(w, account)[0]!.quantity).toBe(held);
        expect(w.sim.orders(w.apiKeyOf(account)).futures.filter((o) => o.type === 'MARKET')).toHaveLength(1);
      } finally {
        await engine.stop();
      }
    },
  );
});

describe('a stop whose answer was lost and that a newer stop replaced', () => {
  it('is written off when the exchange proves it absent, not sent beside its replacement', { timeout: 90_000 }, async () => {
    // The stop's request fails with a 503 (never processed): its outcome is unknown to the bot.
    const { w, account } = await positionWithLostStop();
    const s0 = (await w.orderRows(account.id)).find((row) => row.leg === 's0')!;
    expect(s0.status).toBe('unknown');
    // After the grace a new stop version protects the position.
    await w.clock.sleep(6_000);
    await w.cycle();
    expect(restingStops(w, account)).toHaveLength(1);
    // Past the lookup window the lost one is proven absent: written off, never sent.
    await w.clock.sleep(65_000);
    await w.cycle();
    await w.cycle();
    const rows = await w.orderRows(account.id);
    expect(rows.find((row) => row.leg === 's0')).toMatchObject({ status: 'not-placed' });
    const algo = w.sim.orders(w.apiKeyOf(account)).algo;
    expect(algo.some((order) => order.clientAlgoId === s0.clientOrderId)).toBe(false);
    expect(restingStops(w, account)).toHaveLength(1);
    expect(restingStops(w, account)[0]!.quantity).toBe(exchangeHolds(w, account));
  });
});

describe('following positions continuously', () => {
  it(
    "an account whose visit hangs does not hold up another account's stop",
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const slow = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1, name: 'slow' });
      const other = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1, name: 'other' });
      await w.signal({ ...issueSignal, entryType: 'limit', entries: [98] }, 'two-resting');
      await w.cycle();
      // Every private read of the slow account hangs until released (an exchange that stopped
      // answering it); prices are public and still read.
      const hold = { on: true, hanging: false, release: () => {} };
      const released = new Promise<void>((resolve) => (hold.release = resolve));
      const hang = <T>(inner: () => Promise<T>) =>
        hold.on ? ((hold.hanging = true), released.then(inner)) : inner();
      const hanging = withGatewayHooks(w.provider, {
        positions: (inner) => () => hang(() => inner.positions()),
        openOrders: (inner) => (symbol) => hang(() => inner.openOrders(symbol)),
        fetchOrder: (inner) => (symbol, id) => hang(() => inner.fetchOrder(symbol, id)),
      });
      let otherReads = 0;
      const counted = withGatewayHooks(w.provider, {
        openOrders: (inner) => (symbol) => {
          otherReads += 1;
          return inner.openOrders(symbol);
        },
      });
      const provider = {
        invalidate: (id: string) => w.provider.invalidate(id),
        forAccount: (row: AccountRow) => (row.id === slow.id ? hanging : counted).forAccount(row),
      };
      const loop = createPositionSync({ store: createStore(w.db.db), gateways: provider, clock: w.clock, log: w.log }).start();
      try {
        await expect.poll(() => hold.hanging && otherReads > 0, { timeout: 30_000, interval: 20 }).toBe(true);
        // The other account's first visit is over (a pass that waited for the slow one would now be stuck).
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        // Both entries fill while the slow account's visit hangs.
        w.sim.setPrice(SYMBOL, 98, 'both');
        await expect.poll(() => restingStops(w, other).length, { timeout: 30_000, interval: 50 }).toBe(1);
        expect(restingStops(w, other)[0]!.quantity).toBe(exchangeHolds(w, other));
        expect(restingStops(w, slow)).toHaveLength(0);
        // Released, the slow account is followed too.
        hold.on = false;
        hold.release();
        await expect.poll(() => restingStops(w, slow).length, { timeout: 30_000, interval: 50 }).toBe(1);
      } finally {
        hold.release();
        await loop.stop();
      }
    },
  );
});

describe('the in-flight loop given a list read before an execution finished', () => {
  it('runs nothing again: the finished execution is dropped after it is marked (no second notice)', { timeout: 120_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    const engine = w.engine({ maxSignalLagMs: 3_600_000, balanceMaxAgeMs: 3_600_000, gateways: w.provider, instanceName: 'stale-list' });
    await engine.start();
    // The stop is refused for good: the execution writes a "stop failed" notice once.
    w.sim.inject({ kind: 'error', path: '/fapi/v1/algoOrder', method: 'POST', count: 1, status: 400, code: -4014, msg: 'Price not increased by tick size.' });
    await w.signal(issueSignal, 'stale-list');
    await engine.runCycle();
    const stopFailed = async () =>
      (await w.feedRows(account.id)).filter((row) => JSON.stringify(row.payload).includes('stop-failed')).length;
    expect(await stopFailed()).toBe(1);
    const [row] = await w.db.db.select().from(executions);
    expect(row!.status).toBe('placed');
    // The loop's first list answer was read just before that outcome was written (a race of milliseconds).
    const stale = { ...row!, status: 'in-flight' as const, claimedBy: engine.instanceId };
    const trading = (engine as unknown as { trading: { listInFlightOf: (id: string) => Promise<unknown[]> } }).trading;
    const real = trading.listInFlightOf.bind(trading);
    let served = 0;
    trading.listInFlightOf = async (id) => {
      served += 1;
      return served === 1 ? [stale] : real(id);
    };
    engine.keepReconciling(1_000);
    try {
      await expect.poll(() => served, { timeout: 30_000, interval: 20 }).toBeGreaterThan(3);
    } finally {
      await engine.stop();
    }
    expect(await stopFailed()).toBe(1);
    const [after] = await w.db.db.select().from(executions);
    expect(after!.status).toBe('placed');
  });
});

describe('the position loop and the account lease', () => {
  it('a queued visit whose lease moved meanwhile does nothing; held again, the account is followed', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await w.signal({ ...issueSignal, entryType: 'limit', entries: [98] }, 'lease-moved');
    await w.cycle();
    w.sim.setPrice(SYMBOL, 98, 'both');
    // The plan still names the account (its claim answered before the lease moved); the lease, asked
    // when the visit's slot comes, says another process holds it now.
    let held = false;
    let asked = 0;
    const loop = createPositionSync({
      store: createStore(w.db.db),
      gateways: w.provider,
      clock: w.clock,
      log: w.log,
      claimAccounts: async (ids) => ids,
      lease: {
        holds: async () => {
          asked += 1;
          return held;
        },
        stamp: async () => held,
      },
    }).start();
    try {
      await expect.poll(() => asked, { timeout: 30_000, interval: 20 }).toBeGreaterThan(3);
      expect(restingStops(w, account)).toHaveLength(0);
      expect((await w.orderRows(account.id)).find((row) => row.leg === 'e0')?.status).toBe('open');
      held = true;
      await expect.poll(() => restingStops(w, account).length, { timeout: 30_000, interval: 50 }).toBe(1);
    } finally {
      await loop.stop();
    }
  });
});

describe('an entry that filled on a wick, and a visit whose lookup failed', () => {
  it('is visited again on the next pass though the price no longer shows the fill', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await w.signal({ ...issueSignal, entryType: 'limit', entries: [98] }, 'wick');
    await w.cycle();
    // The price touches the entry and comes back: by the price, the level is not reached.
    w.sim.setPrice(SYMBOL, 98, 'both');
    w.sim.setPrice(SYMBOL, 100, 'both');
    expect(exchangeHolds(w, account)).toBeGreaterThan(0);
    // Routine turns get no time in these passes: only urgent accounts are visited.
    const sync = createPositionSync({ store: createStore(w.db.db), gateways: w.provider, clock: w.clock, log: w.log, settings: { routineBudgetMs: 0 } });
    w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/order', method: 'GET', count: 1 });
    await sync.syncAccount(account.id);
    expect((await w.orderRows(account.id)).find((row) => row.leg === 'e0')?.status).toBe('open');
    await sync.run();
    expect((await w.orderRows(account.id)).find((row) => row.leg === 'e0')?.status).toBe('filled');
    expect(restingStops(w, account)).toHaveLength(1);
    expect(restingStops(w, account)[0]!.quantity).toBe(exchangeHolds(w, account));
  });
});

describe('the position loop while prices are slow to read', () => {
  it('visits an account whose stop answer was lost without waiting for the quotes', { timeout: 90_000 }, async () => {
    // The stop's answer is lost (never processed): the position waits for a new stop version.
    const { w, account } = await positionWithLostStop();
    expect(restingStops(w, account)).toHaveLength(0);
    // Every price read hangs (its targets rest, so the plan wants the price).
    const hanging = withGatewayHooks(w.provider, { quote: () => () => new Promise(() => {}) });
    const loop = createPositionSync({ store: createStore(w.db.db), gateways: hanging, clock: w.clock, log: w.log }).start();
    try {
      await expect.poll(() => restingStops(w, account).length, { timeout: 30_000, interval: 50 }).toBe(1);
      expect(restingStops(w, account)[0]!.quantity).toBe(exchangeHolds(w, account));
    } finally {
      await loop.stop();
    }
  });
});

describe('a fill recorded by a process that died before writing its position', () => {
  it('is still followed: the position is written and protected by a stop', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
    await w.signal({ ...issueSignal, entryType: 'limit', entries: [98] }, 'died-between');
    await w.cycle();
    w.sim.setPrice(SYMBOL, 98, 'both');
    // What the dead process managed to write: the entry's fill, and nothing after it.
    const [entry] = (await w.orderRows(account.id)).filter((row) => row.leg === 'e0');
    await w.db.db
      .update(orders)
      .set({ status: 'filled', filledQuantity: entry!.quantity, averagePrice: 98 })
      .where(eq(orders.id, entry!.id));
    expect(await w.positionRows(account.id)).toEqual([]);

    await w.sync.run();
    expect((await w.positionRows(account.id))[0]).toMatchObject({ status: 'open', quantity: 2 });
    expect(restingStops(w, account)).toHaveLength(1);
  });
});

describe('a stop that filled while its order could not be looked up', () => {
  it(
    'is not taken for a close outside the bot: the next visit books it as the stop',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      await w.signal();
      await w.cycle();
      expect(restingStops(w, account)).toHaveLength(1);
      // The stop triggers; this visit reads the flat position but none of the orders' states.
      w.sim.setPrice(SYMBOL, 94, 'both');
      expect(exchangeHolds(w, account)).toBe(0);
      for (const path of [
        '/fapi/v1/openOrders',
        '/fapi/v1/openAlgoOrders',
        '/fapi/v1/order',
        '/fapi/v1/algoOrder',
      ]) {
        w.sim.inject({ kind: 'http-5xx', path, method: 'GET', apiKey: w.apiKeyOf(account) });
      }
      await w.sync.syncAccount(account.id);
      expect((await w.positionRows(account.id))[0]).toMatchObject({ status: 'open' });
      w.sim.clearFaults();
      await w.sync.syncAccount(account.id);
      expect((await w.positionRows(account.id))[0]).toMatchObject({
        status: 'closed',
        closeReason: 'stop-loss',
      });
      expect((await dms(w, account)).filter((dm) => dm.kind === 'closed-externally')).toEqual([]);
    },
  );
});

describe('break-even the price has already passed', () => {
  it(
    'never deletes the last stop: the old one stays and the rest is closed at market',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
      await w.signal();
      await w.cycle();
      expect(restingStops(w, account)).toHaveLength(1);

      // TP1 fills at 105, then the price falls below break-even (100.10…) before the next cycle: the
      // break-even stop is refused (-2021 "Order would immediately trigger").
      w.sim.setPrice(SYMBOL, 105, 'both');
      w.sim.setPrice(SYMBOL, 100.05, 'both');
      expect(exchangeHolds(w, account)).toBe(1);
      await w.cycle();

      // Flat on the exchange through the bot's market close; the stop was there until then.
      expect(exchangeHolds(w, account)).toBe(0);
      const [position] = await w.positionRows(account.id);
      expect(position).toMatchObject({ status: 'closed', closeReason: 'stop-loss' });
      const legs = await w.orderRows(account.id);
      expect(legs.find((leg) => leg.leg === 's1')).toMatchObject({
        status: 'rejected',
        reason: 'would-trigger',
      });
      expect(legs.find((leg) => leg.leg === 'c0')).toMatchObject({ status: 'filled', filledQuantity: 1 });
      const s0 = legs.find((leg) => leg.leg === 's0')!;
      // The old stop was cancelled only after the close had filled (the engine's OCO), never before.
      const cancels = w.sim.requestLog.filter(
        (entry) => entry.method === 'DELETE' && entry.params['clientAlgoId'] === s0.clientOrderId,
      );
      const close = w.sim.requestLog.find(
        (entry) =>
          entry.method === 'POST' &&
          entry.params['newClientOrderId'] === legs.find((leg) => leg.leg === 'c0')!.clientOrderId,
      );
      expect(close).toBeDefined();
      for (const cancel of cancels) expect(cancel.seq).toBeGreaterThan(close!.seq);
      expect((await dms(w, account)).some((dm) => dm.detail?.includes('past break-even'))).toBe(true);
    },
  );
});

describe('stops the exchange refused', () => {
  const stopOnly: TradeSignal = { ...issueSignal, takeProfits: [] };

  it('a passing refusal (429) is retried until the stop rests', { timeout: 90_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    // Every send of the stop in the fan-out meets a 429 (the protocol waits and tries twice more).
    w.sim.inject({ kind: 'rate-limit', path: '/fapi/v1/algoOrder', method: 'POST', count: 3, retryAfterSec: 1 });
    await w.signal(stopOnly, 'rate-limited-stop');
    await w.cycle();
    const refusals = w.sim.requestLog.filter((entry) => entry.path === '/fapi/v1/algoOrder' && entry.status === 429);
    expect(refusals).toHaveLength(3);

    // The same leg goes again (every second: it is the position's only protection) and rests.
    w.clock.advance(60_000);
    await w.cycle();
    const s0 = (await w.orderRows(account.id)).find((row) => row.leg === 's0')!;
    expect(s0.status).toBe('open');
    expect(s0.attempts).toBeGreaterThan(3);
    expect(restingStops(w, account).map((order) => order.clientAlgoId)).toEqual([s0.clientOrderId]);
    const [position] = await w.positionRows(account.id);
    expect(position).toMatchObject({ status: 'open', quantity: 2 });
  });

  /**
   * Binance counts orders per account (300 per 10 s on futures) and answers one over the limit 429
   * -1015 with no Retry-After. That is the account's limit, not the IP's: before, the bot took it for
   * an IP back-off and stopped every account's orders until the minute ended, so a -1015 on one
   * account left other accounts' filled entries without a stop for up to a minute.
   */
  it(
    "one account's order-count refusal (-1015) holds back only that account's orders, until its window ends",
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const limited = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
      const other = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
      // Early in a 10 s window, so the window is still closed when the other account's stop goes.
      const now = w.clock.now();
      w.clock.advance(10_000 - (now % 10_000) + 500);
      w.sim.inject({
        kind: 'order-rate-limit',
        path: '/fapi/v1/algoOrder',
        method: 'POST',
        apiKey: w.apiKeyOf(limited),
        count: 1,
      });
      await w.signal(stopOnly, 'order-count-stop');
      await w.cycle();

      // The other account trades as if nothing happened; the exchange as a whole is not backed off.
      expect(restingStops(w, other)).toHaveLength(1);
      expect(w.rateLimiters.get('binance').blockedForMs()).toBe(0);
      const refusals = w.sim.requestLog.filter((entry) => entry.code === -1015);
      expect(refusals.map((entry) => entry.apiKey)).toEqual(refusals.map(() => w.apiKeyOf(limited)));
      // Within the window the limited account's retries stay in the process: one refusal reached the exchange.
      expect(refusals.length).toBeLessThanOrEqual(2);

      // Once its window ends, its stop goes and rests (rate-limited refusals are retried each second).
      w.clock.advance(10_000);
      await w.cycle();
      expect(restingStops(w, limited)).toHaveLength(1);
      const s0 = (await w.orderRows(limited.id)).find((row) => row.leg === 's0')!;
      expect(s0.status).toBe('open');
    },
  );

  it('a stop refused while its account is backed off spends one attempt per visit, not a burst', { timeout: 90_000 }, async () => {
    // A slower clock: the account's 10 s window must outlast the first cycle on a loaded machine
    // (at 10× it is 1 s of real time, and a slow cycle let the stop through before the visits below).
    world = await positionsWorld({ clockFactor: 2 });
    const w = world;
    const limited = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    const now = w.clock.now();
    w.clock.advance(10_000 - (now % 10_000) + 500);
    w.sim.inject({ kind: 'order-rate-limit', path: '/fapi/v1/algoOrder', method: 'POST', apiKey: w.apiKeyOf(limited), count: 1 });
    await w.signal(stopOnly, 'one-attempt-per-visit');
    await w.cycle();
    const attempts = async () => (await w.orderRows(limited.id)).find((row) => row.leg === 's0')!.attempts;
    // Within the account's window every retry is refused in the process, unsent: at most one per
    // visit (before, one visit spent six), and the bot keeps trying.
    const first = await attempts();
    for (let visit = 0; visit < 3; visit += 1) {
      const before = await attempts();
      w.clock.advance(1_100);
      await w.sync.syncAccount(limited.id);
      expect(await attempts()).toBeLessThanOrEqual(before + 1);
    }
    expect(await attempts()).toBeGreaterThan(first);
  });

  it(
    'a permanent refusal of the only stop closes the position at market and tells the owner',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
      w.sim.inject({
        kind: 'error',
        path: '/fapi/v1/algoOrder',
        method: 'POST',
        count: 1,
        status: 400,
        code: -4014,
        msg: 'Price not increased by tick size.',
      });
      await w.signal(stopOnly, 'refused-stop');
      await w.cycle();
      expect((await w.orderRows(account.id)).find((row) => row.leg === 's0')).toMatchObject({
        status: 'rejected',
        reason: 'invalid-order',
      });
      // Within the same cycle's position sync the position is closed rather than left without a stop.
      await w.cycle();
      expect(exchangeHolds(w, account)).toBe(0);
      const [position] = await w.positionRows(account.id);
      expect(position).toMatchObject({ status: 'closed', closeReason: 'stop-loss' });
      expect(
        (await dms(w, account)).some(
          (dm) => dm.kind === 'stop-failed' && dm.detail?.includes('closed at market'),
        ),
      ).toBe(true);
    },
  );
});

describe('an entry whose stop is refused at once', () => {
  it(
    'is handed to the lifecycle by the execution itself: the price already through the stop closes it at market in the same cycle',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
      // The market falls through the stop (95) the moment the entry fills: the stop is refused (-2021).
      const provider = withGatewayHooks(w.provider, {
        placeOrder: (inner) => async (intent, options) => {
          const state = await inner.placeOrder(intent, options);
          if (intent.type === 'market' && !intent.reduceOnly) w.sim.setPrice(SYMBOL, 94, 'both');
          return state;
        },
      });
      // No position sync step in this engine: only the execution's hand-over can close the position.
      const engine = w.engine({
        maxSignalLagMs: 60 * 60_000,
        balanceMaxAgeMs: 60 * 60_000,
        gateways: provider,
      });
      const sync = createPositionSync({ store: createStore(w.db.db), gateways: provider, clock: w.clock, log: w.log });
      engine.followPositionsWith((accountId) => sync.followNow(accountId));
      await engine.start();
      await w.signal({ ...issueSignal, takeProfits: [] }, 'through-the-stop');
      await engine.runCycle();

      expect((await w.orderRows(account.id)).find((row) => row.leg === 's0')).toMatchObject({
        status: 'rejected',
        reason: 'would-trigger',
      });
      expect(exchangeHolds(w, account)).toBe(0);
      expect((await w.orderRows(account.id)).find((row) => row.leg === 'c0')).toMatchObject({
        status: 'filled',
      });
    },
  );
});

describe('two visits of one account at once in one process', () => {
  it(
    'a pass and two follow-nows at once: exactly one close reaches the exchange',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
      w.sim.inject({
        kind: 'error',
        path: '/fapi/v1/algoOrder',
        method: 'POST',
        count: 1,
        status: 400,
        code: -4014,
        msg: 'Price not increased by tick size.',
      });
      // An engine with no position sync and no hand-over: the refused stop leaves the position to the visits below.
      const engine = w.engine({
        maxSignalLagMs: 60 * 60_000,
        balanceMaxAgeMs: 60 * 60_000,
        gateways: w.provider,
      });
      await engine.start();
      await w.signal({ ...issueSignal, takeProfits: [] }, 'two-visits');
      await engine.runCycle();
      expect(exchangeHolds(w, account)).toBeGreaterThan(0);

      await Promise.all([w.sync.run(), w.sync.followNow(account.id), w.sync.followNow(account.id)]);
      const closes = w.sim
        .orders(w.apiKeyOf(account))
        .futures.filter((order) => order.reduceOnly && order.type === 'MARKET');
      expect(closes).toHaveLength(1);
      expect(exchangeHolds(w, account)).toBe(0);
    },
  );
});

describe('a position sync pass short of time', () => {
  it(
    'visits the account whose entry the price reached, before accounts whose stops rest',
    { timeout: 90_000 },
    async () => {
      world = await positionsWorld();
      const w = world;
      const accounts = accountsRepository(w.db.db);
      // B holds a position protected by its stop; then A alone takes a limit entry below the price.
      const b = await w.addAccount({ name: 'b', sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      await w.signal(issueSignal, 'b-market');
      await w.cycle();
      expect(restingStops(w, b)).toHaveLength(1);
      await accounts.update(b.id, { enabled: false });
      const a = await w.addAccount({ name: 'a', sizingMode: 'fixed', sizingValue: 196, leverage: 1 });
      await w.signal({ ...issueSignal, symbol: 'LINK/USDT', entryType: 'limit', entries: [98] }, 'a-limit');
      await w.cycle();
      await accounts.update(b.id, { enabled: true });
      expect((await w.orderRows(a.id)).map((row) => [row.leg, row.status])).toEqual([['e0', 'open']]);

      // The entry fills; a pass with no time for routine visits still follows A, and only A.
      w.sim.setPrice(SYMBOL, 98, 'both');
      const before = w.sim.requestLog.length;
      const hurried = createPositionSync({
        store: createStore(w.db.db),
        gateways: w.provider,
        clock: w.clock,
        log: w.log,
        settings: { routineBudgetMs: 0 },
      });
      await hurried.run();
      expect(restingStops(w, a)).toHaveLength(1);
      expect((await w.positionRows(a.id))[0]).toMatchObject({ status: 'open', quantity: 2 });
      const keysSeen = () => new Set(w.sim.requestLog.slice(before).map((entry) => entry.apiKey));
      expect(keysSeen().has(w.apiKeyOf(b))).toBe(false);

      // With time for routine visits, B takes its turn.
      await w.sync.run();
      expect(keysSeen().has(w.apiKeyOf(b))).toBe(true);
    },
  );
});
