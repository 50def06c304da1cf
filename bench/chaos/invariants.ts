/**
 * The chaos run's verdict, read from the simulator's books (what the exchange did) against the
 * database (what the bot believes):
 *  - duplicateOrders: client order ids the exchange accepted more than once;
 *  - unknownExchangeOrders: exchange orders whose client id the database does not know;
 *  - positionMismatches: (account, symbol) where the exchange holds something else than the book;
 *  - lostSignals: (signal, account) pairs not executed nor explained, and signals never finished;
 *  - unprotectedMaxMs: the longest a futures position was open with no resting stop covering it.
 */
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../../src/db/client';
import { executeRows } from '../../src/db/executeRows';
import type { AccountRow } from '../../src/db/repositories/accounts';
import type { FeeCharge } from '../../src/domain/fees';
import { heldQuantity } from '../../src/domain/lifecycle/legs';
import type { SpawnedBinanceSim } from '../../test/sim/binance/client';
import type { ProtectionReport } from '../../test/sim/binance/protection';

export interface Invariants {
  duplicateOrders: number;
  unknownExchangeOrders: number;
  positionMismatches: number;
  lostSignals: number;
  unprotectedMaxMs: number;
  details: {
    duplicates: string[];
    unknown: string[];
    mismatches: string[];
    lost: string[];
    unprotected: (ProtectionReport['worst'][number] & { accountId: string | null })[];
    /** The worst window's account on that symbol: exchange orders and the bot's legs, times from its start. */
    worstTimeline?: string[];
    /** Each mismatched (account, symbol): the exchange's orders, the book's positions and their legs (shared-clock times). */
    mismatchTimeline?: string[];
  };
}

interface OrderFacts {
  account_id: string;
  signal_id: string;
  client_order_id: string;
  leg: string;
  status: string;
  filled_quantity: string;
  fees: FeeCharge[];
}

const rows = async <T>(handle: DatabaseHandle, query: ReturnType<typeof sql>): Promise<T[]> =>
  (await executeRows(handle.db, query)) as T[];

/** Dust a spot position may leave behind (below what one order can sell): steps and minimum notionals of the simulator's spot markets. */
const SPOT_DUST: Record<string, number> = { BTC: 0.0002, ETH: 0.002, LINK: 0.4, BNB: 0.01 };

export async function checkInvariants(input: {
  db: DatabaseHandle;
  sim: SpawnedBinanceSim;
  accounts: { row: AccountRow; apiKey: string }[];
  /** The shared clock's time of a wall-clock time (the database stamps rows with its own now()). */
  sharedTimeOf?: (wallMs: number) => number;
}): Promise<Invariants> {
  const sharedTimeOf = input.sharedTimeOf ?? ((wallMs: number) => wallMs);
  const { db, sim } = input;
  const books = new Map((await sim.books()).map((book) => [book.apiKey, book]));
  const orders = await rows<OrderFacts>(
    db,
    sql`select account_id, signal_id, client_order_id, leg, status, filled_quantity::text, fees from orders`,
  );
  const known = new Set(orders.map((o) => o.client_order_id));
  const details: Invariants['details'] = { duplicates: [], unknown: [], mismatches: [], lost: [], unprotected: [] };

  // Orders on the exchange: each client id once, each one the bot's.
  let duplicateOrders = 0;
  let unknownExchangeOrders = 0;
  for (const { row, apiKey } of input.accounts) {
    const book = books.get(apiKey);
    if (!book) continue;
    const actualOfAlgo = new Set(book.orders.algo.map((a) => a.actualOrderId).filter((id): id is number => id !== undefined));
    const ids = [
      ...book.orders.futures.filter((o) => !actualOfAlgo.has(o.orderId)).map((o) => o.clientOrderId),
      ...book.orders.algo.map((a) => a.clientAlgoId),
      ...book.orders.spot.map((o) => o.clientOrderId),
    ];
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, count] of counts) {
      if (count > 1) {
        duplicateOrders += count - 1;
        details.duplicates.push(`${row.name} ${id} ×${count}`);
      }
      if (!known.has(id)) {
        unknownExchangeOrders += 1;
        details.unknown.push(`${row.name} ${id}`);
      }
    }
  }

  // Positions: the exchange's holdings against the book's open positions.
  const open = await rows<{ id: string; account_id: string; signal_id: string; symbol: string; side: string; quantity: string }>(
    db,
    sql`select id, account_id, signal_id, symbol, side, quantity::text from positions where status = 'open'`,
  );
  let positionMismatches = 0;
  const mismatched: { accountId: string; base: string }[] = [];
  for (const { row, apiKey } of input.accounts) {
    const book = books.get(apiKey);
    if (!book) continue;
    const mine = open.filter((p) => p.account_id === row.id);
    if (row.marketType === 'futures') {
      const exchange = new Map<string, number>();
      for (const p of book.positions) exchange.set(p.symbol, (exchange.get(p.symbol) ?? 0) + p.amt);
      const ours = new Map<string, number>();
      for (const p of mine) {
        const id = p.symbol.split(':')[0]!.replace('/', '');
        ours.set(id, (ours.get(id) ?? 0) + (p.side === 'long' ? 1 : -1) * Number(p.quantity));
      }
      for (const symbol of new Set([...exchange.keys(), ...ours.keys()])) {
        const a = exchange.get(symbol) ?? 0;
        const b = ours.get(symbol) ?? 0;
        if (Math.abs(a - b) > 1e-9) {
          positionMismatches += 1;
          mismatched.push({ accountId: row.id, base: symbol.replace(/USDT$/, '') });
          details.mismatches.push(`${row.name} (${row.id}) ${symbol}: exchange ${a}, book ${b}`);
        }
      }
    } else {
      const held = new Map<string, number>();
      for (const p of mine) {
        const base = p.symbol.split('/')[0]!;
        const legs = orders
          .filter((o) => o.account_id === row.id && o.signal_id === p.signal_id)
          .map((o) => ({
            leg: o.leg,
            filledQuantity: Number(o.filled_quantity),
            fees: o.fees,
          }));
        held.set(base, (held.get(base) ?? 0) + heldQuantity(legs as unknown as Parameters<typeof heldQuantity>[0], base));
      }
      for (const [asset, balance] of Object.entries(book.balances.spot)) {
        if (asset === 'USDT') continue;
        const total = balance.free + balance.locked;
        const ours = held.get(asset) ?? 0;
        if (Math.abs(total - ours) > (SPOT_DUST[asset] ?? 1e-9)) {
          positionMismatches += 1;
          mismatched.push({ accountId: row.id, base: asset });
          details.mismatches.push(`${row.name} (${row.id}) ${asset}: exchange ${total}, book ${ours}`);
        }
        held.delete(asset);
      }
      for (const [asset, ours] of held) {
        if (ours > (SPOT_DUST[asset] ?? 1e-9)) {
          positionMismatches += 1;
          mismatched.push({ accountId: row.id, base: asset });
          details.mismatches.push(`${row.name} (${row.id}) ${asset}: exchange 0, book ${ours}`);
        }
      }
    }
  }

  // Signals: finished, and every account of a fanned-out signal has an explained outcome.
  let lostSignals = 0;
  const signals = await rows<{ id: string; status: string }>(db, sql`select id, status from signals`);
  const executions = await rows<{ signal_id: string; account_id: string; status: string; reason: string | null }>(
    db,
    sql`select signal_id, account_id, status, reason from executions`,
  );
  const bySignal = new Map<string, typeof executions>();
  for (const e of executions) bySignal.set(e.signal_id, [...(bySignal.get(e.signal_id) ?? []), e]);
  for (const signal of signals) {
    const outcomes = bySignal.get(signal.id) ?? [];
    if (signal.status === 'pending' || signal.status === 'executing') {
      lostSignals += Math.max(1, input.accounts.length - outcomes.filter((e) => isExplained(e)).length);
      details.lost.push(`${signal.id} still ${signal.status}`);
      continue;
    }
    // Withdrawn before it was fanned out: nothing to execute, the withdrawal explains it.
    if (signal.status === 'cancelled' && outcomes.length === 0) continue;
    for (const { row } of input.accounts) {
      const outcome = outcomes.find((e) => e.account_id === row.id);
      if (!outcome || !isExplained(outcome)) {
        lostSignals += 1;
        details.lost.push(`${signal.id} ${row.name}: ${outcome ? `${outcome.status} ${outcome.reason ?? ''}` : 'no execution'}`);
      }
    }
  }

  const protection = await sim.protection();
  // Named by account id too, to find the windows in the bots' log (CHAOS_LOG).
  const accountOf = new Map(input.accounts.map((account) => [account.apiKey, account.row.id]));
  details.unprotected = (protection?.worst ?? []).map((window) => ({ ...window, accountId: accountOf.get(window.apiKey) ?? null }));
  // What happened on the exchange and in the book for the worst windows (ms from each one's start).
  details.worstTimeline = [];
  for (const [rank, worst] of (protection?.worst ?? []).slice(0, 3).entries()) {
    const book = await sim.orders(worst.apiKey);
    const at = (t: number) => t - worst.since;
    const accountId = accountOf.get(worst.apiKey) ?? '';
    const legs = await rows<{ leg: string; status: string; reason: string | null; attempts: number; sent_at: string | null; signal_id: string; created: string; updated: string }>(
      db,
      sql`select leg, status, reason, attempts, sent_at::text, signal_id,
            (extract(epoch from created_at) * 1000)::bigint::text as created, (extract(epoch from updated_at) * 1000)::bigint::text as updated
          from orders where account_id = ${accountId} order by created_at`,
    );
    details.worstTimeline.push(
      `#${rank} ${worst.symbol} ${worst.ms} ms, account ${accountId}`,
      ...book.futures
        .filter((o) => o.symbol === worst.symbol)
        .map((o) => `order ${o.clientOrderId} ${o.type} ${o.side} ${o.status} placed ${at(o.time)} updated ${at(o.updateTime)}`),
      ...book.algo
        .filter((o) => o.symbol === worst.symbol)
        .map((o) => `algo ${o.clientAlgoId} ${o.orderType} ${o.side} ${o.algoStatus} placed ${at(o.createTime)} updated ${at(o.updateTime)}`),
      ...legs.map(
        (l) =>
          `leg ${l.signal_id.slice(0, 8)} ${l.leg} ${l.status} ${l.reason ?? ''} attempts ${l.attempts} created ${at(sharedTimeOf(Number(l.created)))} stamped ${l.sent_at === null ? '-' : at(Number(l.sent_at))} updated ${at(sharedTimeOf(Number(l.updated)))}`,
      ),
    );
  }
  details.mismatchTimeline = await mismatchTimeline(db, sim, input.accounts, mismatched, sharedTimeOf);
  return {
    duplicateOrders,
    unknownExchangeOrders,
    positionMismatches,
    lostSignals,
    unprotectedMaxMs: protection?.maxMs ?? 0,
    details,
  };
}

const DEFINITE = new Set(['placed', 'skipped', 'failed', 'not-placed', 'dry-run', 'cancelled']);
const isExplained = (e: { status: string; reason: string | null }) => DEFINITE.has(e.status) && (e.status === 'placed' || e.reason !== null);

/**
 * What the exchange and the book hold of each mismatched (account, coin), to explain it from a failed
 * run's output. Times on the shared clock: the bots stamp positions with it, the database stamps legs'
 * updates with its own (converted).
 */
async function mismatchTimeline(
  db: DatabaseHandle,
  sim: SpawnedBinanceSim,
  accounts: { row: AccountRow; apiKey: string }[],
  mismatched: { accountId: string; base: string }[],
  sharedTimeOf: (wallMs: number) => number,
): Promise<string[]> {
  const out: string[] = [];
  for (const { accountId, base } of mismatched.slice(0, 3)) {
    const account = accounts.find((a) => a.row.id === accountId);
    if (!account) continue;
    const book = await sim.orders(account.apiKey);
    const simSymbol = `${base}USDT`;
    const positions = await rows<{ signal_id: string; status: string; close_reason: string | null; quantity: string; entry_quantity: string; opened: string; closed: string | null }>(
      db,
      sql`select signal_id, status, close_reason, quantity::text, entry_quantity::text,
            (extract(epoch from opened_at) * 1000)::bigint::text as opened, (extract(epoch from closed_at) * 1000)::bigint::text as closed
          from positions where account_id = ${accountId} and symbol like ${`${base}/%`} order by opened_at`,
    );
    const legs = await rows<{ signal_id: string; leg: string; type: string; side: string; status: string; quantity: string; filled_quantity: string; reason: string | null; client_order_id: string; sent_at: string | null; updated: string }>(
      db,
      sql`select signal_id, leg, type, side, status, quantity::text, filled_quantity::text, reason, client_order_id, sent_at::text,
            (extract(epoch from updated_at) * 1000)::bigint::text as updated
          from orders where account_id = ${accountId} and symbol like ${`${base}/%`} order by created_at`,
    );
    const executions = await rows<{ signal_id: string; status: string; reason: string | null; signal_status: string }>(
      db,
      sql`select e.signal_id, e.status, e.reason, s.status as signal_status from executions e join signals s on s.id = e.signal_id
          where e.account_id = ${accountId} and e.signal_id in (select signal_id from orders where account_id = ${accountId} and symbol like ${`${base}/%`})`,
    );
    out.push(
      `${account.row.name} ${base}:`,
      ...[...book.spot, ...book.futures]
        .filter((o) => o.symbol === simSymbol)
        .map((o) => `  exchange ${o.clientOrderId} ${o.type} ${o.side} ${o.status} qty ${o.origQty} filled ${o.executedQty} at ${o.time} updated ${o.updateTime}`),
      ...executions.map((e) => `  execution ${e.signal_id.slice(0, 8)} ${e.status} ${e.reason ?? ''} (signal ${e.signal_status})`),
      ...positions.map(
        (p) => `  position ${p.signal_id.slice(0, 8)} ${p.status} ${p.close_reason ?? ''} qty ${p.quantity}/${p.entry_quantity} opened ${p.opened} closed ${p.closed ?? '-'}`,
      ),
      ...legs.map(
        (l) => `  leg ${l.signal_id.slice(0, 8)} ${l.leg} ${l.client_order_id} ${l.type} ${l.side} ${l.status} ${l.reason ?? ''} qty ${l.quantity} filled ${l.filled_quantity} stamped ${l.sent_at ?? '-'} updated ${sharedTimeOf(Number(l.updated))}`,
      ),
    );
  }
  return out;
}
