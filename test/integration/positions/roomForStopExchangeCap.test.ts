/**
 * The exchange refuses the stop for its conditional cap (-4045) while the bot's own count has a slot
 * free (the member has conditional orders of their own on the symbol): a target gives way all the
 * same and the stop rests again within seconds (found by a review: the stop was refused each second
 * and the position stayed without one).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { orders } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { createPositionSync } from '../../../src/trading/positionSync';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const restingStops = (w: TradingWorld, account: AccountRow) =>
  w.sim
    .orders(w.apiKeyOf(account))
    .algo.filter((o) => o.orderType === 'STOP_MARKET' && o.algoStatus === 'NEW');

describe('a stop refused -4045 while the bot counts a free slot', () => {
  it(
    'gets room from a target (room-for-stop) and rests again within seconds',
    { timeout: 180_000 },
    async () => {
      world = await tradingWorld({ accounts: 0, clockFactor: 10 });
      const w = world;
      w.sim.setPrice('LINKUSDT', 100, 'both');
      const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: 1_000, leverage: 1 });
      const signal: TradeSignal = {
        symbol: 'LINK/USDT',
        side: 'long',
        entryType: 'market',
        entries: [],
        stopLoss: 95,
        takeProfits: [101, 102, 103, 104, 105, 106, 107, 108, 109],
        leverage: 1,
      };
      const sync = createPositionSync({ db: w.db.db, gateways: w.gateways, clock: w.clock, log: w.log });
      const engine = w.engine({ maxSignalLagMs: 60 * 60_000, balanceMaxAgeMs: 60 * 60_000 });
      await engine.start();
      await w.intake.submit({
        guildId: GUILD,
        source: 'command',
        sourceRef: 'cap',
        authorId: '200000000000099999',
        channelId: null,
        signal,
      });
      await engine.runCycle();
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
      const lostAt = w.clock.now();
      let protectedAfterMs: number | null = null;
      while (w.clock.now() - lostAt < 30_000) {
        await w.clock.sleep(1_000);
        await sync.run();
        if (
          restingStops(w, account).some((o) => o.clientAlgoId !== 'byhand1' && o.clientAlgoId !== 'byhand2')
        ) {
          protectedAfterMs = w.clock.now() - lostAt;
          break;
        }
      }
      const legs = (
        await w.db.db
          .select()
          .from(orders)
          .where(eq(orders.accountId, account.id))
          .orderBy(asc(orders.createdAt))
      ).map((r) => `${r.leg}:${r.status}:${r.reason ?? ''}:${r.attempts}`);
      expect(protectedAfterMs, `no bot stop for 30 s; legs ${JSON.stringify(legs)}`).not.toBeNull();
    },
  );
});
