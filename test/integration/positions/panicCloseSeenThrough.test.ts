/**
 * A /panic that leaves its close to the lifecycle (answered before matching and not found right
 * after, or its answer lost): once the lifecycle sees that close through, the position is booked as
 * the panic's, not as a stop-loss (found by a review: a mark on the close leg was wiped by the next
 * state write, or never written when the answer was lost; the intent now lives on the position).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { positionsRepository } from '../../../src/db/repositories/positions';
import { CcxtGateway } from '../../../src/exchange/ccxt/ccxtGateway';
import type { OrderState } from '../../../src/exchange/gateway';
import { createPanicService } from '../../../src/services/panic';
import { GUILD } from '../../support/trading';
import { positionsWorld, type PositionsWorld } from './support';

let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const CALLER = '200000000000077777';

describe('/panic whose close has not filled when the panic returns', () => {
  it('is booked as panic once the lifecycle sees that close through', { timeout: 180_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({
      ownerId: CALLER,
      sizingMode: 'fixed',
      sizingValue: 200,
      leverage: 1,
    });
    await w.signal();
    await w.cycle();
    expect((await w.positionRows(account.id)).filter((p) => p.status === 'open')).toHaveLength(1);
    const proto = CcxtGateway.prototype;
    const place = proto.placeOrder;
    // The market close is answered before matching (status NEW, nothing executed yet) ...
    proto.placeOrder = async function (this: CcxtGateway, intent, options) {
      const state = await place.call(this, intent, options);
      return intent.type === 'market' && intent.reduceOnly
        ? ({ ...state, status: 'open', filledQuantity: 0, averagePrice: null } as OrderState)
        : state;
    };
    // ... and the lookup right after does not find it yet.
    w.sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 10_000 });
    const panic = createPanicService({
      accounts: accountsRepository(w.db.db),
      positions: positionsRepository(w.db.db),
      sync: w.sync,
      log: w.log,
    });
    const [result] = await panic.run(CALLER, GUILD, account.id);
    proto.placeOrder = place;
    expect(result!.problems.join(' ')).toContain('has not filled yet');
    const rows = async () =>
      (await w.orderRows(account.id)).map((r) => `${r.leg}:${r.status}:${r.reason ?? ''}`);
    const book = async () =>
      (await w.positionRows(account.id)).map((p) => `${p.status}:${p.closeReason ?? ''}`);
    const start = w.clock.now();
    while ((await book())[0]!.startsWith('open') && w.clock.now() - start < 120_000) {
      await w.clock.sleep(2_000);
      await w.cycle();
    }
    expect(await book(), JSON.stringify(await rows())).toEqual(['closed:panic']);
  });
});

describe('/panic whose close answer is lost', () => {
  it('is booked as panic once the lifecycle sees that close through', { timeout: 180_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({
      ownerId: CALLER,
      sizingMode: 'fixed',
      sizingValue: 200,
      leverage: 1,
    });
    await w.signal();
    await w.cycle();
    expect((await w.positionRows(account.id)).filter((p) => p.status === 'open')).toHaveLength(1);
    const apiKey = w.apiKeyOf(account);
    const held = () => w.sim.positions(apiKey).reduce((sum, p) => sum + Math.abs(p.amt), 0);
    // The close is placed (and fills) but its answer is lost; lookups do not find it for 20 s.
    w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', count: 1 });
    w.sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 20_000 });
    const panic = createPanicService({
      accounts: accountsRepository(w.db.db),
      positions: positionsRepository(w.db.db),
      sync: w.sync,
      log: w.log,
    });
    const [result] = await panic.run(CALLER, GUILD, account.id);
    expect(held()).toBe(0);
    expect(result!.closedPositions).toBe(0);
    const book = async () =>
      (await w.positionRows(account.id)).map((p) => `${p.status}:${p.closeReason ?? ''}`);
    const start = w.clock.now();
    while ((await book())[0]!.startsWith('open') && w.clock.now() - start < 120_000) {
      await w.clock.sleep(2_000);
      await w.cycle();
    }
    const legs = (await w.orderRows(account.id)).map((r) => `${r.leg}:${r.status}:${r.reason ?? ''}`);
    expect(await book(), JSON.stringify({ problems: result!.problems, legs })).toEqual(['closed:panic']);
  });
});
