/**
 * The exchange refuses the stop for its conditional cap (-4045) while the bot's own count has a slot
 * free (the member has conditional orders of their own on the symbol): a target gives way all the
 * same and the stop rests again within seconds (found by a review: the stop was refused each second
 * and the position stayed without one).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { orders } from '../../../src/db/schema';
import { tradingWorld, type TradingWorld } from '../../support/trading';
import { legsOf, linkPosition, msUntilProtected, restingStops } from './linkPosition';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a stop refused -4045 while the bot counts a free slot', () => {
  it(
    'gets room from a target (room-for-stop) and rests again within seconds',
    { timeout: 180_000 },
    async () => {
      world = await tradingWorld({ accounts: 0, clockFactor: 10 });
      const w = world;
      const takeProfits = [101, 102, 103, 104, 105, 106, 107, 108, 109];
      const { account, sync } = await linkPosition(w, { sizingValue: 1_000, takeProfits, ref: 'cap' });
      await sync.run();
      const gateway = w.gateways.forAccount(account);
      const manual = (id: string) =>
        gateway.placeOrder({
          clientOrderId: id,
          symbol: 'LINK/USDT:USDT',
          side: 'buy',
          type: 'stop-loss',
          quantity: 1,
          triggerPrice: 130,
          reduceOnly: false,
        });
      expect(restingStops(w, account)).toHaveLength(1);
      // The owner adds a conditional order of their own (the 10th), removes the bot's stop by hand, adds another.
      await manual('byhand1');
      const s0 = (await w.db.db.select().from(orders).where(eq(orders.accountId, account.id))).find(
        (r) => r.leg === 's0',
      )!;
      await gateway.cancelOrder(s0.symbol, s0.clientOrderId);
      await manual('byhand2');
      const algo = () => w.sim.orders(w.apiKeyOf(account)).algo.filter((o) => o.algoStatus === 'NEW').length;
      expect(algo()).toBe(10);
      const botStopRests = () =>
        restingStops(w, account).some((o) => o.clientAlgoId !== 'byhand1' && o.clientAlgoId !== 'byhand2');
      const protectedAfterMs = await msUntilProtected(w, sync, botStopRests, 30_000);
      const legs = await legsOf(w, account, true);
      expect(protectedAfterMs, `no bot stop for 30 s; legs ${JSON.stringify(legs)}`).not.toBeNull();
    },
  );
});
