import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Store } from '../db/store';
import type { CopyLinkRow, NewCopyConfirmation } from '../db/repositories/copy';
import { createMasterships } from './mastership';
import {
  copyTradeSignal,
  followerOpenQuantity,
  groupFillsByOrder,
  pairOfMarket,
  symbolPasses,
  type CopyAction,
  type CopyFollowerInstruction,
  type CopyInstructions,
} from '../domain/copy';
import { isBotClientOrderId } from '../domain/clientOrderId';
import type { TradeSignal } from '../domain/signal';
import type { ExchangeGateway, OrderOrigin } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import { queueSignal, type SignalIntake } from '../trading/signalIntake';
import { triggeredOrderIds } from '../trading/triggeredOrders';
import type { Account } from '../domain/records';

export interface CopyPollReport {
  masters: number;
  /** Symbols whose trades were fetched (changed since the last poll). */
  fetchedSymbols: string[];
  signals: number;
}

const EPSILON = 1e-12;
/** The bot's orders that may have filled in a poll's trades: created up to a week before the first of them. */
const OWN_ORDERS_LOOKBACK_MS = 7 * 86_400_000;
const clean = (value: number): number => (Math.abs(value) < EPSILON ? 0 : Number(value.toPrecision(12)));
const sign = (value: number): number => (value > EPSILON ? 1 : value < -EPSILON ? -1 : 0);

/** What one master order queues: per leg, the copy signal for those who trade now and the confirmations. */
interface FillWrite {
  sourceRef: string;
  signal: TradeSignal;
  copy: CopyInstructions;
  confirmations: NewCopyConfirmation[];
}

/** Conditional order types count as "stop" in a link's order-type filter. */
const filterTypeOf = (type: string | null): 'market' | 'limit' | 'stop' =>
  type === 'limit' ? 'limit' : type === 'stop-loss' || type === 'take-profit' ? 'stop' : 'market';

/**
 * Copy trading: each cycle, for every master account, read positions and balance first, fetch trades
 * only for the symbols whose position (or, after a balance change, any traded symbol) changed, from a
 * persisted cursor per (master, symbol), and turn each new fill into one copy signal for the
 * followers. The signal is idempotent on (master, trade id) and the cursor moves after it is queued,
 * so a restart at any point neither misses nor repeats a fill. Futures masters only: a spot account
 * has no positions to watch.
 */
export function createCopyTrading(deps: {
  store: Store;
  gateways: { forAccount(account: Account): ExchangeGateway };
  /** Copy signals are written with their fill's cursor move (one transaction); the intake is woken after. */
  intake: Pick<SignalIntake, 'wake'>;
  clock: Clock;
  log: Logger;
  /** Follower balances older than this are read again for proportional links (default 5 min). */
  balanceMaxAgeMs?: number;
  /** How long a follower with confirm on may answer before the copy is skipped (the signal max lag, default 2 min). */
  confirmWindowMs?: number;
  /** Several processes: narrows poll()'s masters to those this process holds the lease of (accountLeases). */
  claimMasters?: (accountIds: string[]) => Promise<string[]>;
}) {
  const copies = deps.store.copy;
  const masterships = createMasterships({ store: deps.store, clock: deps.clock, log: deps.log, wake: () => deps.intake.wake() });
  const accounts = deps.store.accounts;
  const log = deps.log.child({ component: 'copy' });
  const balanceMaxAgeMs = deps.balanceMaxAgeMs ?? 300_000;

  async function followerEquity(account: Account): Promise<number | null> {
    const age = account.balanceAt ? deps.clock.now() - account.balanceAt.getTime() : Infinity;
    if (age <= balanceMaxAgeMs && account.lastEquityUsd !== null) return account.lastEquityUsd;
    try {
      const balance = await deps.gateways.forAccount(account).balance();
      await accounts.recordBalance(account.id, balance.free, balance.equity, new Date(balance.asOf));
      return balance.equity;
    } catch (error) {
      log.warn({ err: error, accountId: account.id }, 'follower balance unavailable');
      return null;
    }
  }

  // What an order was placed as never changes: one look-up per master order, however many polls
  // its fills span. 'failed' is no answer (the exchange did not say).
  const origins = new LRUCache<string, OrderOrigin>({ max: 10_000 });
  async function originOf(masterId: string, gateway: ExchangeGateway, symbol: string, orderId: string): Promise<OrderOrigin | null | 'failed'> {
    const key = `${masterId}:${symbol}:${orderId}`;
    const known = origins.get(key);
    if (known !== undefined) return known;
    try {
      const origin = await gateway.orderOrigin(symbol, orderId);
      if (origin !== null) origins.set(key, origin);
      return origin;
    } catch (error) {
      log.warn({ err: error, symbol }, 'master order could not be looked up');
      return 'failed';
    }
  }

  async function instructionsFor(
    links: CopyLinkRow[],
    followers: Map<string, Account>,
    pair: string,
    action: CopyAction,
    quantity: number,
    fraction: number,
    masterEquity: number,
    orderType: 'market' | 'limit' | 'stop' | null,
    continued: boolean,
  ): Promise<{ instruction: CopyFollowerInstruction; link: CopyLinkRow }[]> {
    const out: { instruction: CopyFollowerInstruction; link: CopyLinkRow }[] = [];
    for (const link of links) {
      const follower = followers.get(link.followerAccountId);
      if (!follower) continue;
      const reducing = action === 'reduce' || action === 'close';
      // Filters apply to opens and adds; a follower always follows the master out of a position, even
      // switched off (auto-trading off stops new positions, never the way out of one).
      const typePasses = orderType === null ? link.orderTypes.length >= 3 : link.orderTypes.includes(orderType);
      if (!reducing && (!follower.enabled || !symbolPasses(pair, link.symbolAllow, link.symbolBlock) || !typePasses)) {
        await copies.count(link.id, 'skipped');
        continue;
      }
      // The rest of an order a fixed follower already copied at its fixed quantity: nothing to add.
      // (A flip or a new open after the master went flat is a new position: it gets its quantity.)
      if (action === 'add' && continued && link.mode === 'fixed') continue;
      let open: number | null = null;
      if (!reducing) {
        const equity = link.mode === 'proportional' ? await followerEquity(follower) : null;
        open = followerOpenQuantity(link.mode, link.value, quantity, { follower: equity, master: masterEquity });
        if (open === null || !(open > 0)) {
          await copies.count(link.id, 'skipped');
          continue;
        }
      }
      out.push({
        link,
        instruction: {
          accountId: follower.id,
          quantity: open,
          reduceFraction: reducing ? fraction : null,
          reduceOnly: reducing,
          close: action === 'close',
          dryRun: link.dryRun,
        },
      });
      if (!link.confirm || reducing) await copies.count(link.id, 'copied');
    }
    return out;
  }

  /**
   * One master order's copies and the cursor move after it, in one transaction: a crash leaves both
   * or neither, so a restart reads the order again whole and queues it once. Taken under the master
   * row's lock: once a mastership has ended nothing more is queued for it (answers null then).
   * Answers how many copy signals were queued.
   */
  async function commit(
    masterId: string,
    mastershipSince: number,
    symbol: string,
    expected: string | null,
    at: { id: string; at: number },
    position: number,
    writes: readonly FillWrite[],
    guildId = '',
    authorId: string | null = null,
  ): Promise<number | null> {
    const queued = await deps.store.transaction(async (tx) => {
      const inTx = tx.copy;
      // Still this mastership (one ended and made again meanwhile is another: nothing of this poll is its).
      if ((await inTx.lockMaster(masterId))?.since !== mastershipSince) return null;
      // Another poller (a lease taken over while this one stalled) moved on from where this one
      // started: writing here would move the cursor and the position back and copy fills twice.
      if (((await inTx.cursor(masterId, symbol))?.lastTradeId ?? null) !== expected) return null;
      let fresh = 0;
      for (const write of writes) {
        // The master is leaving (part of) a position: copies still waiting for a follower's answer
        // on it expire, or a late "Copy" would open what nothing will ever close.
        if (write.copy.action === 'reduce' || write.copy.action === 'close') await inTx.expireConfirmationsOf(masterId, write.signal.symbol, write.signal.side);
        for (const confirmation of write.confirmations) await inTx.addConfirmation(confirmation);
        if (write.copy.followers.length === 0) continue;
        const result = await queueSignal(
          tx,
          { guildId, source: 'copy', sourceRef: write.sourceRef, authorId, channelId: null, signal: write.signal, copy: write.copy },
          new Date(deps.clock.now()),
        );
        if (result.kind === 'rejected') log.warn({ masterId, sourceRef: write.sourceRef, reason: result.reason }, 'copy signal refused');
        else if (result.inserted) fresh += 1;
      }
      await inTx.advance(masterId, symbol, at, position);
      return fresh;
    });
    if (queued) deps.intake.wake();
    return queued;
  }

  async function pollMaster(masterId: string, report: CopyPollReport): Promise<void> {
    const master = await accounts.byId(masterId);
    if (!master) return;
    // A master whose key stopped working can never be read again: its mastership ends, and its
    // followers are closed out of what they copied (nothing else would ever take them out).
    if (!master.enabled && master.disabledReason === 'key-revoked') {
      await masterships.end(masterId, 'key-revoked');
      return;
    }
    if (!master.enabled) return;
    const links = await copies.activeLinksOf(masterId);
    const gateway = deps.gateways.forAccount(master);
    // Positions and balance first: trades are fetched only where something changed.
    const [positions, balance] = await Promise.all([gateway.positions(), gateway.balance()]);
    const current: Record<string, number> = {};
    for (const p of positions) current[p.symbol] = clean((current[p.symbol] ?? 0) + (p.side === 'long' ? p.quantity : -p.quantity));
    const row = await copies.master(masterId);
    if (!row) return;
    // Which mastership these copies belong to: one ended and made again is another (see fan-out).
    const mastershipSince = row.createdAt.getTime();
    const snapshot = row.snapshot;
    if (!snapshot || snapshot.since === undefined) {
      // First poll: what is open now was opened before copying started; only later fills are copied.
      await copies.saveSnapshot(masterId, { positions: current, free: balance.free, equity: balance.equity, since: balance.asOf });
      return;
    }
    const cursors = await copies.listCursors(masterId);
    const changed = new Set<string>();
    for (const symbol of new Set([...Object.keys(current), ...Object.keys(snapshot.positions)])) {
      if (Math.abs((current[symbol] ?? 0) - (snapshot.positions[symbol] ?? 0)) > EPSILON) changed.add(symbol);
    }
    // A position opened and closed between two polls leaves it unchanged, but not the balance.
    if (Math.abs(balance.equity - snapshot.equity) > 1e-9 || Math.abs(balance.free - snapshot.free) > 1e-9) {
      for (const cursor of cursors) changed.add(cursor.symbol);
    }

    const followers = new Map<string, Account>();
    for (const link of links) {
      const follower = await accounts.byId(link.followerAccountId);
      if (follower && follower.guildId === master.guildId) followers.set(follower.id, follower);
    }

    for (const symbol of [...changed].sort()) {
      report.fetchedSymbols.push(symbol);
      const cursor = cursors.find((c) => c.symbol === symbol);
      const trades = await gateway.tradesSince(symbol, {
        sinceMs: cursor ? cursor.lastTradeAt : snapshot.since,
        ...(cursor?.lastTradeId ? { afterId: cursor.lastTradeId } : {}),
      });
      trades.sort((a, b) => a.timestamp - b.timestamp || (a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
      let position = snapshot.positions[symbol] ?? 0;
      // The bot's own orders on the master's account (its copies of another master, its signals) are
      // not the master's trades: copying them would echo a trade round a loop of masters for ever.
      const own = trades.length > 0 ? await copies.botOrdersOn(masterId, symbol, new Date(Math.min(...trades.map((t) => t.timestamp)) - OWN_ORDERS_LOOKBACK_MS)) : null;
      const filtersTypes = links.some((l) => l.orderTypes.length < 3);
      const fresh = trades.filter((trade) => cursor?.lastTradeId !== trade.id);
      // Where this poll found the cursor; each commit checks it is still there, then moves it.
      let expected = cursor?.lastTradeId ?? null;
      let stopped = false;
      for (const order of groupFillsByOrder(fresh)) {
        const signed = order.side === 'buy' ? order.quantity : -order.quantity;
        const at = { id: order.last.id, at: order.last.timestamp };
        let botOrder = own !== null && (own.exchangeOrderIds.has(order.orderId) || order.fills.some((fill) => fill.clientOrderId !== null && isBotClientOrderId(fill.clientOrderId)));
        // A stop or take-profit of the bot's that triggered before the bot read it trades under the
        // order it placed, an id the book does not know yet: its working conditional orders are asked
        // (once a poll). A lookup that fails is no answer: nothing is copied now, asked next poll.
        if (!botOrder && own !== null && own.workingConditional.length > 0) {
          let triggered: string[];
          try {
            triggered = await triggeredOrderIds(gateway, own.workingConditional.map((clientOrderId) => ({ symbol, clientOrderId, fillOrderId: null })));
          } catch (error) {
            log.warn({ err: error, symbol }, "the bot's conditional order on a master could not be looked up");
            break;
          }
          own.workingConditional = [];
          for (const id of triggered) own.exchangeOrderIds.add(id);
          botOrder = own.exchangeOrderIds.has(order.orderId);
        }
        // The order itself says whose it is (its client id) and what it was placed as: asked when a
        // bot order on this symbol has no exchange id yet (it could be this one) or a link filters types.
        const origin = !botOrder && (own?.unresolved || filtersTypes) ? await originOf(masterId, gateway, symbol, order.orderId) : null;
        if (origin !== null && origin !== 'failed' && origin.clientOrderId !== null && isBotClientOrderId(origin.clientOrderId)) botOrder = true;
        // Could be the bot's and the exchange did not say whose it is ("not found" included: a fresh
        // order may be missing from lookups for a while): not copied now, asked again next poll.
        if (!botOrder && own?.unresolved && (origin === null || origin === 'failed')) break;
        if (botOrder) {
          position = clean(position + signed);
          if ((await commit(masterId, mastershipSince, symbol, expected, at, position, [])) === null) {
            stopped = true;
            break;
          }
          expected = at.id;
          continue;
        }
        // Unknown when the exchange did not say (or no link needs it): links filtering by type
        // copy no open or add of it; the others do.
        const orderType = origin !== null && origin !== 'failed' ? filterTypeOf(origin.type) : filtersTypes ? null : 'market';
        // The rest of an order copied by an earlier poll (a limit filling over time): a fixed
        // follower already has its fixed quantity for this order.
        const continued = links.some((l) => l.mode === 'fixed') && (await copies.masterOrderCopied(masterId, symbol, order.orderId));
        const legs: { suffix: string; action: CopyAction; side: 'long' | 'short'; quantity: number; fraction: number }[] = [];
        if (sign(position) === 0 || sign(position) === sign(signed)) {
          legs.push({ suffix: '', action: sign(position) === 0 ? 'open' : 'add', side: signed > 0 ? 'long' : 'short', quantity: Math.abs(signed), fraction: 0 });
        } else {
          const reduced = Math.min(Math.abs(signed), Math.abs(position));
          const closes = Math.abs(signed) >= Math.abs(position) - EPSILON;
          legs.push({ suffix: '', action: closes ? 'close' : 'reduce', side: position > 0 ? 'long' : 'short', quantity: reduced, fraction: closes ? 1 : reduced / Math.abs(position) });
          const flip = clean(Math.abs(signed) - Math.abs(position));
          if (flip > 0) legs.push({ suffix: ':flip', action: 'open', side: signed > 0 ? 'long' : 'short', quantity: flip, fraction: 0 });
        }
        const pair = pairOfMarket(symbol);
        const writes: FillWrite[] = [];
        for (const leg of legs) {
          const instructed = await instructionsFor(links, followers, pair, leg.action, leg.quantity, leg.fraction, balance.equity, orderType, continued);
          // Followers who confirm each copy are asked first (a DM with Copy / Skip); the rest trade now.
          // A reduce or close is never asked: a follower always follows the master out.
          const asked = (i: (typeof instructed)[number]) => i.link.confirm && !i.instruction.reduceOnly;
          const signal = copyTradeSignal(pair, leg.side, order.price);
          const copyOf = (list: CopyFollowerInstruction[]): CopyInstructions => ({
            masterAccountId: masterId,
            tradeId: order.first.id,
            orderId: order.orderId,
            action: leg.action,
            masterQuantity: leg.quantity,
            price: order.price,
            filledAt: order.timestamp,
            mastershipSince,
            followers: list,
          });
          // Keyed by master, symbol and the order's first trade: Binance numbers trades per symbol.
          const sourceRef = `${masterId}:${symbol}:${order.first.id}${leg.suffix}`;
          writes.push({
            sourceRef,
            signal,
            copy: copyOf(instructed.filter((i) => !asked(i)).map((i) => i.instruction)),
            confirmations: instructed.filter(asked).map(({ link, instruction }) => ({
              id: randomUUID(),
              guildId: master.guildId,
              linkId: link.id,
              followerAccountId: instruction.accountId,
              followerOwnerId: link.followerOwnerId,
              sourceRef,
              signal,
              copy: copyOf([instruction]),
              expiresAt: new Date(deps.clock.now() + (deps.confirmWindowMs ?? 120_000)),
            })),
          });
        }
        position = clean(position + signed);
        const queued = await commit(masterId, mastershipSince, symbol, expected, at, position, writes, master.guildId, master.ownerId);
        if (queued === null) {
          stopped = true;
          break;
        }
        expected = at.id;
        report.signals += queued;
      }
      if (stopped) return;
    }
    const after = (await copies.master(masterId))?.snapshot ?? null;
    await copies.saveSnapshot(masterId, {
      positions: after?.positions ?? snapshot.positions,
      free: balance.free,
      equity: balance.equity,
      since: snapshot.since,
    });
  }

  return {
    /** One pass over every master (a cycle step). One master's failure never stops the others. */
    async poll(): Promise<CopyPollReport> {
      const report: CopyPollReport = { masters: 0, fetchedSymbols: [], signals: 0 };
      const masters = await copies.listMasters();
      // Several processes: each master is polled by the one process holding its lease.
      const held = deps.claimMasters ? new Set(await deps.claimMasters(masters.map((m) => m.accountId))) : null;
      for (const master of masters) {
        if (held && !held.has(master.accountId)) continue;
        report.masters += 1;
        try {
          await pollMaster(master.accountId, report);
        } catch (error) {
          log.warn({ err: error, masterId: master.accountId }, 'copy poll failed for a master');
        }
      }
      return report;
    },
  };
}

export type CopyTrading = ReturnType<typeof createCopyTrading>;
