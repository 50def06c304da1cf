import { randomUUID } from 'node:crypto';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { copyRepository, type NewCopyLink } from '../../../src/db/repositories/copy';
import { createCopyTrading, type CopyTrading } from '../../../src/copy';
import { createMasterships } from '../../../src/copy/mastership';
import { accountsRepository } from '../../../src/db/repositories/accounts';
import { guildsRepository } from '../../../src/db/repositories/guilds';
import { createCopyService, type CopyService } from '../../../src/services/copy';
import type { TradingEngine } from '../../../src/trading/engine';
import { GUILD, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

export const BTC = 'BTC/USDT:USDT';
let seq = 0;

/** A trade the member makes on the exchange by hand (not through the bot); sells reduce. */
export async function byHand(w: TradingWorld, account: AccountRow, side: 'buy' | 'sell', quantity: number): Promise<void> {
  seq += 1;
  await w.gateways.forAccount(account).placeOrder({ clientOrderId: `hand${seq}x${Date.now()}`, symbol: BTC, side, type: 'market', quantity, reduceOnly: side === 'sell' });
}

/** The account's net BTC perpetual position on the exchange (long positive). */
export async function positionOf(w: TradingWorld, account: AccountRow): Promise<number> {
  const positions = await w.gateways.forAccount(account).positions();
  return positions.filter((p) => p.symbol === BTC).reduce((sum, p) => sum + (p.side === 'long' ? p.quantity : -p.quantity), 0);
}

/** A mirror follow link (`follower` copies `master`). */
export const mirrorLink = (master: AccountRow, follower: AccountRow, fields: Partial<NewCopyLink> = {}): NewCopyLink => ({
  id: randomUUID(),
  guildId: GUILD,
  masterAccountId: master.id,
  followerAccountId: follower.id,
  followerOwnerId: follower.ownerId,
  mode: 'mirror',
  value: 1,
  ...fields,
});

export interface CopyRig {
  copy: CopyTrading;
  engine: TradingEngine;
  /** One copy poll, then one engine cycle. */
  step(): Promise<void>;
}

/**
 * `master` made a master and followed by `followers` (mirror), an engine started and the copy poller
 * with its first snapshot taken: later master fills are copied.
 */
export async function copyRig(w: TradingWorld, master: AccountRow, followers: readonly AccountRow[], options: { confirmWindowMs?: number; concurrency?: number; link?: Partial<NewCopyLink> } = {}): Promise<CopyRig> {
  const copies = copyRepository(w.db.db);
  await copies.addMaster(master.id, GUILD);
  for (const follower of followers) await copies.upsertLink(mirrorLink(master, follower, options.link));
  const engine = w.engine({ maxSignalLagMs: 30 * 60_000, ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }) });
  await engine.start();
  const copy = createCopyTrading({
    store: createStore(w.db.db),
    gateways: w.gateways,
    intake: w.intake,
    clock: w.clock,
    log: w.log,
    ...(options.confirmWindowMs === undefined ? {} : { confirmWindowMs: options.confirmWindowMs }),
  });
  await copy.poll();
  return {
    copy,
    engine,
    async step() {
      await copy.poll();
      await engine.runCycle();
    },
  };
}

/** The /copy service as the bot builds it, on the world's database, intake and clock. */
export function copyServiceOf(w: TradingWorld): CopyService {
  return createCopyService({
    copies: copyRepository(w.db.db),
    accounts: accountsRepository(w.db.db),
    guilds: guildsRepository(w.db.db),
    log: w.log,
    intake: w.intake,
    clock: w.clock,
    masterships: createMasterships({ store: createStore(w.db.db), clock: w.clock, log: w.log, wake: w.intake.wake }),
  });
}
