/**
 * A LINK futures position opened through the real engine and ccxt against the simulator, followed by
 * a position sync with the app's settings: the scenarios of lost and refused stops share it.
 */
import { asc, eq } from 'drizzle-orm';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { orders } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import { createPositionSync, type PositionSync } from '../../../src/trading/positionSync';
import { GUILD, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

export const restingStops = (w: TradingWorld, account: AccountRow) =>
  w.sim
    .orders(w.apiKeyOf(account))
    .algo.filter((o) => o.orderType === 'STOP_MARKET' && o.algoStatus === 'NEW');

/** The account's legs as `leg:status` (with `detail`, `:reason:attempts` too), oldest first. */
export const legsOf = async (w: TradingWorld, account: AccountRow, detail = false) =>
  (
    await w.db.db.select().from(orders).where(eq(orders.accountId, account.id)).orderBy(asc(orders.createdAt))
  ).map((row) => `${row.leg}:${row.status}${detail ? `:${row.reason ?? ''}:${row.attempts}` : ''}`);

/**
 * A long on LINK (at 100, stop 95) with `takeProfits`, opened by one engine cycle; `beforeEntry` runs
 * just before it (faults for the entry's own exits). The sync has the app's default settings.
 */
export async function linkPosition(
  w: TradingWorld,
  options: { sizingValue: number; takeProfits: number[]; ref: string; beforeEntry?: () => void },
): Promise<{ account: AccountRow; sync: PositionSync }> {
  w.sim.setPrice('LINKUSDT', 100, 'both');
  const account = await w.addAccount({ sizingMode: 'fixed', sizingValue: options.sizingValue, leverage: 1 });
  const signal: TradeSignal = {
    symbol: 'LINK/USDT',
    side: 'long',
    entryType: 'market',
    entries: [],
    stopLoss: 95,
    takeProfits: options.takeProfits,
    leverage: 1,
  };
  const sync = createPositionSync({ store: createStore(w.db.db), gateways: w.gateways, clock: w.clock, log: w.log });
  const engine = w.engine({ maxSignalLagMs: 60 * 60_000, balanceMaxAgeMs: 60 * 60_000 });
  await engine.start();
  options.beforeEntry?.();
  await w.intake.submit({
    guildId: GUILD,
    source: 'command',
    sourceRef: options.ref,
    authorId: '200000000000099999',
    channelId: null,
    signal,
  });
  await engine.runCycle();
  return { account, sync };
}

/**
 * Runs the sync once a second (the world's clock) until `isProtected` holds; answers how long that
 * took from now, or null when it did not within `limitMs`.
 */
export async function msUntilProtected(
  w: TradingWorld,
  sync: PositionSync,
  isProtected: () => boolean,
  limitMs: number,
): Promise<number | null> {
  const since = w.clock.now();
  while (w.clock.now() - since < limitMs) {
    await w.clock.sleep(1_000);
    await sync.run();
    if (isProtected()) return w.clock.now() - since;
  }
  return null;
}
