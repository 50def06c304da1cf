import { afterEach, describe, expect, it } from 'vitest';
import { positionsRepository } from '../../../src/db/repositories/positions';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { createPanicService } from '../../../src/services/panic';
import { GUILD } from '../../support/trading';
import { issueSignal, positionsWorld, type PositionsWorld } from './support';

let world: PositionsWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const CALLER = '200000000000077777';
const OTHER = '200000000000088888';
const PERP = 'LINK/USDT:USDT';

describe('/panic (service)', () => {
  it("leaves no open bot order or position on the caller's accounts and touches no other member's", { timeout: 120_000 }, async () => {
    world = await positionsWorld();
    const mine = [
      await world.addAccount({ ownerId: CALLER, sizingMode: 'fixed', sizingValue: 200, leverage: 1 }),
      await world.addAccount({ ownerId: CALLER, sizingMode: 'fixed', sizingValue: 200, leverage: 1, mode: 'paper' }),
    ];
    const theirs = await world.addAccount({ ownerId: OTHER, sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    // A filled market position with its exits, and a resting limit entry, on every account.
    await world.signal();
    await world.signal({ ...issueSignal, entryType: 'limit', entries: [90], stopLoss: 85, takeProfits: [110] }, 'limit-1');
    await world.cycle();
    for (const account of [...mine, theirs]) {
      expect((await world.positionRows(account.id)).filter((p) => p.status === 'open')).toHaveLength(1);
    }
    const positions = positionsRepository(world.db.db);
    const panic = createPanicService({ accounts: accountsRepository(world.db.db), positions, sync: world.sync, log: world.log });

    const preview = await panic.preview(CALLER, GUILD, null);
    expect(preview.map((t) => [t.openPositions, t.openOrders > 0])).toEqual([
      [1, true],
      [1, true],
    ]);
    // Another member's account id is not found for the caller.
    await expect(panic.run(CALLER, GUILD, theirs.id)).rejects.toMatchObject({ code: 'not-found' });

    const results = await panic.run(CALLER, GUILD, null);
    expect(results.every((r) => r.problems.length === 0)).toBe(true);
    expect(results.map((r) => r.closedPositions)).toEqual([1, 1]);

    for (const account of mine) {
      expect(await positions.liveOrdersOf(account.id)).toEqual([]);
      const rows = await world.positionRows(account.id);
      expect(rows.every((p) => p.status === 'closed' && p.closeReason === 'panic')).toBe(true);
      const gateway = world.provider.forAccount(account);
      expect(await gateway.openOrders(PERP)).toEqual([]);
      expect((await gateway.positions()).filter((p) => p.quantity !== 0)).toEqual([]);
    }
    expect(world.sim.positions(world.apiKeyOf(mine[0]!))).toEqual([]);

    // The other member: untouched.
    expect((await world.positionRows(theirs.id)).filter((p) => p.status === 'open')).toHaveLength(1);
    expect((await positions.liveOrdersOf(theirs.id)).length).toBeGreaterThan(0);
    expect(world.sim.positions(world.apiKeyOf(theirs))).toHaveLength(1);
    expect((await world.provider.forAccount(theirs).openOrders(PERP)).length).toBeGreaterThan(0);

    // The next cycle does not resurrect anything on the caller's accounts.
    await world.cycle();
    for (const account of mine) expect(await positions.liveOrdersOf(account.id)).toEqual([]);
  });
});

describe('/panic beside a close already working', () => {
  it('does not send a second close while the lifecycle’s close is still in doubt', { timeout: 120_000 }, async () => {
    world = await positionsWorld();
    const w = world;
    const account = await w.addAccount({ ownerId: CALLER, sizingMode: 'fixed', sizingValue: 200, leverage: 1 });
    // The only stop is refused for good, so the lifecycle closes at market; that close's answer is
    // lost and the exchange denies it for a while: the bot cannot tell yet whether it filled.
    w.sim.inject({ kind: 'error', path: '/fapi/v1/algoOrder', method: 'POST', count: 1, status: 400, code: -4014, msg: 'Price not increased by tick size.' });
    await w.signal({ ...issueSignal, takeProfits: [] }, 'refused-stop');
    // The execution alone (no position sync yet): the entry fills, its stop is refused.
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000, balanceMaxAgeMs: 60 * 60_000, gateways: w.provider, instanceName: 'no-sync' });
    await engine.start();
    await engine.runCycle();
    w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', count: 1 });
    w.sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 600_000 });
    await w.sync.run();
    const closeLegs = async () => (await w.orderRows(account.id)).filter((row) => row.leg.startsWith('c'));
    expect((await closeLegs()).map((row) => row.status)).toEqual(['unknown']);

    const panic = createPanicService({ accounts: accountsRepository(w.db.db), positions: positionsRepository(w.db.db), sync: w.sync, log: w.log });
    const [result] = await panic.run(CALLER, GUILD, account.id);
    expect(result!.problems.join(' ')).toContain('already working');
    // One close reached the exchange, never two.
    const closes = w.sim.requestLog.filter((e) => e.method === 'POST' && e.path === '/fapi/v1/order' && e.params['reduceOnly'] === 'true');
    expect(closes).toHaveLength(1);
    expect(await closeLegs()).toHaveLength(1);
  });
});
