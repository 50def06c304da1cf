/**
 * Review of the spot "sold outside the bot" check (src/trading/positions/spotSales.ts): attempts to
 * make it book a sale the member did not make, miss one, or count one twice. Each test states what
 * must hold; the ones that fail today name a defect (see the review report).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { orders } from '../../../src/db/schema';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import type { GatewayProvider } from '../../../src/trading/engine';
import { createPositionSync, type PositionSync } from '../../../src/trading/positionSync';
import { FEES, issueSignal, positionsWorld, SYMBOL, type PositionsWorld } from './support';
import { createStore } from '../../../src/db/store';

let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const spotLong = issueSignal;

/** The member's LINK on the simulator, free and locked in resting sells. */
const linkHeld = (w: PositionsWorld, apiKey: string) => {
  const link = w.sim.balances(apiKey).spot['LINK'];
  return (link?.free ?? 0) + (link?.locked ?? 0);
};

type Hook = (...args: unknown[]) => void | Promise<void>;
interface Hooks {
  /** Runs right before the gateway method's request. */
  before?: Partial<Record<keyof ExchangeGateway, Hook>>;
  /** Runs right after the gateway method answered, before the caller sees the answer. */
  after?: Partial<Record<keyof ExchangeGateway, Hook>>;
}

/**
 * A second position sync on the world's database and gateways (as another process would run one),
 * whose gateway calls can be hooked: something happens on the exchange, or in another process,
 * between two of the visit's requests.
 */
function hookedSync(w: PositionsWorld, hooks: Hooks, settings: { entryTtlMs?: number } = {}): PositionSync {
  const provider: Pick<GatewayProvider, 'forAccount'> = {
    forAccount(account: AccountRow): ExchangeGateway {
      const inner = w.provider.forAccount(account);
      return new Proxy(inner, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function') return value;
          const before = hooks.before?.[prop as keyof ExchangeGateway];
          const after = hooks.after?.[prop as keyof ExchangeGateway];
          if (!before && !after) return (value as (...a: unknown[]) => unknown).bind(target);
          return async (...args: unknown[]) => {
            if (before) await before(...args);
            const answer = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (after) await after(...args);
            return answer;
          };
        },
      });
    },
  };
  return createPositionSync({
    store: createStore(w.db.db),
    gateways: provider,
    clock: w.clock,
    log: w.log,
    settings: {
      lostExitGraceMs: 5_000,
      ...(settings.entryTtlMs === undefined ? {} : { entryTtlMs: settings.entryTtlMs }),
    },
  });
}

/**
 * A LINK long with one entry at the market (filled by the executor) and one at 96 (resting): the
 * position is open and followed, its second entry still working.
 */
async function twoEntryPosition(w: PositionsWorld) {
  const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 400, leverage: 1 });
  await w.signal({ ...spotLong, entryType: 'limit', entries: [100, 96] });
  await w.cycle();
  const entries = (await w.orderRows(account.id)).filter((o) => o.leg.startsWith('e'));
  expect(entries.find((o) => o.price === 100)).toMatchObject({ status: 'filled' });
  const resting = entries.find((o) => o.price === 96)!;
  expect(resting).toMatchObject({ status: 'open' });
  expect((await w.positionRows(account.id))[0]).toMatchObject({ status: 'open' });
  return { account, apiKey: w.apiKeyOf(account), resting };
}

describe('spot sales check: an entry fill the visit learns after its balance read', () => {
  // The second entry's time is up and the lifecycle cancels it; the exchange answers that it filled a
  // moment ago (after the balance read and after the visit's refresh). The rows now hold the coin the
  // balance read did not see yet: that is no sale by the member.
  it('an entry found filled by its cancel is not booked sold outside the bot', { timeout: 120_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const w = world;
    const { account, apiKey, resting } = await twoEntryPosition(w);
    let touched = false;
    const sync = hookedSync(
      w,
      {
        before: {
          cancelOrder: (_symbol, clientOrderId) => {
            if (clientOrderId !== resting.clientOrderId || touched) return;
            touched = true;
            w.sim.setPrice(SYMBOL, 96, 'both');
          },
        },
      },
      { entryTtlMs: 1 },
    );
    const before = linkHeld(w, apiKey);
    await sync.syncAccount(account.id);
    expect(touched, 'the entry was cancelled as it filled').toBe(true);
    expect((await w.orderRows(account.id)).find((o) => o.id === resting.id)).toMatchObject({ status: 'filled' });
    // Nobody sold anything: the account holds more LINK than before.
    expect(linkHeld(w, apiKey)).toBeGreaterThan(before);
    const [position] = await w.positionRows(account.id);
    expect(position).toMatchObject({ status: 'open', closeReason: null });
  });

  // Several processes: this visit read the balance, then stalled; the account's lease went to another
  // process, whose visit saw the second entry fill and recorded it (and, the fill being new to it,
  // judged nothing). The stalled visit resumes: its refresh finds the row as the exchange says, so it
  // does not know the fill is newer than its balance read.
  it('an entry fill another visit recorded after this one read the balance is not a sale', { timeout: 120_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const w = world;
    const { account, apiKey, resting } = await twoEntryPosition(w);
    let other = false;
    const stalled = hookedSync(w, {
      after: {
        assetBalances: async () => {
          if (other) return;
          other = true;
          w.sim.setPrice(SYMBOL, 96, 'both');
          await w.sync.syncAccount(account.id);
        },
      },
    });
    const before = linkHeld(w, apiKey);
    await stalled.syncAccount(account.id);
    expect(other).toBe(true);
    expect((await w.orderRows(account.id)).find((o) => o.id === resting.id)).toMatchObject({ status: 'filled' });
    expect(linkHeld(w, apiKey)).toBeGreaterThan(before);
    const [position] = await w.positionRows(account.id);
    expect(position).toMatchObject({ status: 'open', closeReason: null });
  });
});

describe('spot sales check: an entry whose later fill has a fee not read yet', () => {
  // A limit entry fills half at once (its fee known from the placement's answer) and the rest later,
  // as maker; the trades that carry the second fee cannot be read at the visit that sees the fill
  // (one 5xx). The row keeps the first fee, which then counts as settled: nothing asks again, and the
  // second fee (charged in LINK) reads as LINK the member sold.
  it('is not booked sold outside the bot after one failed trades read', { timeout: 120_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const w = world;
    const account = await w.addAccount({
      sizingMode: 'fixed',
      sizingValue: 20_000,
      leverage: 1,
      funds: 50_000,
      maxPositionUsd: 50_000,
    });
    const apiKey = w.apiKeyOf(account);
    w.sim.inject({ kind: 'partial-fill', path: '/api/v3/order', method: 'POST', apiKey, ratio: 0.5, count: 1 });
    await w.signal({ ...spotLong, entryType: 'limit', entries: [100] });
    await w.cycle();
    const e0 = (await w.orderRows(account.id)).find((o) => o.leg === 'e0')!;
    expect(e0).toMatchObject({ status: 'partially-filled', filledQuantity: 100 });
    expect(e0.fees).toEqual([{ currency: 'LINK', amount: 100 * FEES.taker, quoteValue: 100 * FEES.taker * 100 }]);
    expect((await w.positionRows(account.id))[0]).toMatchObject({ status: 'open' });

    // The rest fills as maker (0.02 LINK of fee); its trades cannot be read on the visit that sees it.
    w.sim.inject({ kind: 'http-5xx', path: '/api/v3/myTrades', method: 'GET', apiKey, status: 503, count: 1 });
    w.sim.setPrice(SYMBOL, 99.99, 'both');
    await w.sync.syncAccount(account.id);
    const filled = (await w.orderRows(account.id)).find((o) => o.leg === 'e0')!;
    expect(filled).toMatchObject({ status: 'filled', filledQuantity: 200 });
    const held = linkHeld(w, apiKey);
    expect(held).toBeCloseTo(200 - 100 * FEES.taker - 100 * FEES.maker, 8);

    // Nobody sells anything; the trades can be read again.
    await w.sync.syncAccount(account.id);
    await w.sync.syncAccount(account.id);
    expect(linkHeld(w, apiKey)).toBeCloseTo(held, 8);
    const [position] = await w.positionRows(account.id);
    expect(position).toMatchObject({ status: 'open', closeReason: null });
  });
});

describe('spot sales check: an entry fee that cannot be read yet', () => {
  // A limit entry fills later, as maker: Binance reports its fee (in LINK) only with the trades, and
  // the trades cannot be read for a while (a 429 window on the weighted reads, say). The check asks for
  // the fee before calling it a sale, the ask fails, and it calls it a sale anyway.
  it('is not booked sold outside the bot while the fee lookup fails', { timeout: 120_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const w = world;
    const account = await w.addAccount({
      sizingMode: 'fixed',
      sizingValue: 9_800,
      leverage: 1,
      funds: 20_000,
      maxPositionUsd: 20_000,
    });
    const apiKey = w.apiKeyOf(account);
    await w.signal({ ...spotLong, entryType: 'limit', entries: [98] });
    await w.cycle();
    expect((await w.orderRows(account.id)).map((o) => [o.leg, o.status, o.quantity])).toEqual([['e0', 'open', 100]]);

    w.sim.inject({ kind: 'http-5xx', path: '/api/v3/myTrades', method: 'GET', apiKey, status: 503 });
    w.sim.setPrice(SYMBOL, 98, 'both');
    await w.sync.syncAccount(account.id);
    const e0 = (await w.orderRows(account.id)).find((o) => o.leg === 'e0')!;
    expect(e0).toMatchObject({ status: 'filled', filledQuantity: 100, fees: [] });
    expect((await w.positionRows(account.id))[0]).toMatchObject({ status: 'open' });
    // 0.02 LINK of fee: more than one amount step (0.01).
    const held = linkHeld(w, apiKey);
    expect(held).toBeCloseTo(100 - 100 * FEES.maker, 8);

    await w.sync.syncAccount(account.id);
    expect(linkHeld(w, apiKey)).toBeCloseTo(held, 8);
    const [position] = await w.positionRows(account.id);
    expect(position).toMatchObject({ status: 'open', closeReason: null });
  });
});

describe('spot sales check: stacked positions, a target of the newer one whose answer is lost', () => {
  // Held: the newer position's first target sold 1 LINK, its answer lost and the lookup denying it
  // for a while. The coin is short of what the rows say by that 1 LINK, on the newer position (the
  // older keeps the coin first): the whole coin waits while that leg is in doubt.
  it('neither position is booked sold outside the bot', { timeout: 120_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const w = world;
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    await w.signal({ ...spotLong, takeProfits: [120] }, 'older');
    await w.cycle();
    await w.signal(spotLong, 'newer');
    await w.cycle();
    const newer = (await w.positionRows(account.id)).find((p) => p.takeProfits.length === 2)!;
    w.sim.setPrice(SYMBOL, 105, 'both');
    const t0 = (await w.orderRows(account.id)).find((o) => o.leg === 't0' && o.signalId === newer.signalId)!;
    await w.db.db.update(orders).set({ status: 'unknown' }).where(eq(orders.id, t0.id));
    w.sim.inject({ kind: 'order-not-found', path: '/api/v3/order', method: 'GET', ms: 600_000 });
    await w.sync.syncAccount(account.id);
    expect((await w.positionRows(account.id)).map((p) => p.status)).toEqual(['open', 'open']);
    w.sim.clearFaults();
    await w.sync.syncAccount(account.id);
    const after = await w.positionRows(account.id);
    expect(after.map((p) => [p.status, p.closeReason])).toEqual([
      ['open', null],
      ['open', null],
    ]);
    expect((await w.orderRows(account.id)).find((o) => o.id === t0.id)).toMatchObject({ status: 'filled' });
  });
});

describe('spot sales check: two positions stacked on one coin, sold by hand', () => {
  /**
   * An older LINK position (one target at 120) and a newer one (105, 110) whose first target sold 1
   * LINK at 105 (the bot's sale, booked as that position's exit). The member then cancels the resting
   * sells and sells 1.5 LINK at 103; the price is 102 when the bot looks. 1.4984 LINK is still held:
   * both positions are judged sold (the older one first keeps the coin, and 1.4984 < 1.9992).
   */
  async function stackedAndSold(w: PositionsWorld) {
    const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    const apiKey = w.apiKeyOf(account);
    await w.signal({ ...spotLong, takeProfits: [120] }, 'older');
    await w.cycle();
    await w.signal(spotLong, 'newer');
    await w.cycle();
    const opened = await w.positionRows(account.id);
    expect(opened.map((p) => p.status)).toEqual(['open', 'open']);
    const older = opened.find((p) => p.takeProfits.length === 1)!;
    const newer = opened.find((p) => p.takeProfits.length === 2)!;

    w.sim.setPrice(SYMBOL, 105, 'both');
    await w.cycle();
    expect((await w.positionRows(account.id)).find((p) => p.id === newer.id)).toMatchObject({ takeProfitsHit: 1 });

    w.sim.setPrice(SYMBOL, 103, 'both');
    const acc = w.sim.engine.account(apiKey);
    const resting = (await w.orderRows(account.id)).filter((o) => o.status === 'open' && o.side === 'sell');
    for (const o of resting) w.sim.engine.cancelSpot(acc, SYMBOL, undefined, o.clientOrderId);
    w.sim.engine.placeSpot(acc, { symbol: SYMBOL, side: 'SELL', type: 'MARKET', quantity: 1.5 });
    w.sim.setPrice(SYMBOL, 102, 'both');
    await w.cycle();
    const after = await w.positionRows(account.id);
    const olderAfter = after.find((p) => p.id === older.id)!;
    const newerAfter = after.find((p) => p.id === newer.id)!;
    expect(olderAfter).toMatchObject({ status: 'closed', closeReason: 'external' });
    expect(newerAfter).toMatchObject({ status: 'closed', closeReason: 'external' });
    return { olderAfter, newerAfter, stillHeld: linkHeld(w, apiKey) };
  }

  it("one position's external close is not priced with the other position's take-profit", { timeout: 120_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const { olderAfter } = await stackedAndSold(world);
    // The older position's 1.9992: the member's 1.5 at 103, the rest valued at the last price (102).
    // Never the newer position's target at 105, which that position booked as its own exit.
    expect(olderAfter.exitQuantity).toBeCloseTo(1.9992, 8);
    expect(olderAfter.averageExitPrice!).toBeCloseTo((1.5 * 103 + 0.4992 * 102) / 1.9992, 6);
  });

  it("the member's one sale is not counted for both positions", { timeout: 120_000 }, async () => {
    world = await positionsWorld({ marketType: 'spot' });
    const { olderAfter, newerAfter, stillHeld } = await stackedAndSold(world);
    expect(stillHeld).toBeCloseTo(2 * 1.9992 - 1 - 1.5, 8);
    // What the two external closes booked, the newer position's own target (1 at 105) taken out: at
    // most the member's 1.5 at 103, all else (what is still held) at the last price, 102.
    const bookedOutside =
      olderAfter.exitQuantity * olderAfter.averageExitPrice! + newerAfter.exitQuantity * newerAfter.averageExitPrice! - 1 * 105;
    expect(olderAfter.exitQuantity + newerAfter.exitQuantity - 1).toBeCloseTo(1.5 + stillHeld, 8);
    expect(bookedOutside).toBeCloseTo(1.5 * 103 + stillHeld * 102, 6);
  });
});
