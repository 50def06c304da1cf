/**
 * Copy trading's per-follower instructions, carried in `signals.copy` (PURE: no I/O). The poller in
 * src/copy writes them; the engine reads them in executeAccount's copy branch.
 */
import type { TradeSignal } from './signal';

export type CopyMode = 'mirror' | 'multiplier' | 'fixed' | 'proportional';
export type CopyAction = 'open' | 'add' | 'reduce' | 'close';

export interface CopyFollowerInstruction {
  accountId: string;
  /**
   * Opens and adds: the follower's quantity in base units before its market's rounding. A reduction
   * with a quantity (the closes that end a mastership) closes that much of the copied position.
   */
  quantity: number | null;
  /** Reductions: the share (0–1] of the follower's own position to close, the share the master closed. */
  reduceFraction: number | null;
  reduceOnly: boolean;
  /** The master's position is now flat: close the follower's whole position. */
  close: boolean;
  /** Record what would be placed, send nothing. */
  dryRun: boolean;
}

export interface CopyInstructions {
  masterAccountId: string;
  /** The master's first trade of the order copied (the closes ending a mastership: `ended:<key>`). */
  tradeId: string;
  /** The master's order (its exchange id), when the copy is of one. */
  orderId?: string;
  action: CopyAction;
  /** The master's fill: quantity and price. */
  masterQuantity: number;
  price: number;
  /** When the master's fill happened, epoch ms (copies written before it was carried lack it). */
  filledAt?: number;
  /** When the follower accepted the copy (confirm on), epoch ms: the copy is as fresh as the answer. */
  acceptedAt?: number;
  /**
   * When the mastership the copy came from began (the master row's creation, epoch ms): a copy of a
   * mastership that ended opens nothing, even once the account is made a master again.
   */
  mastershipSince?: number;
  followers: CopyFollowerInstruction[];
}

/** The instruction for one account, or null when the signal is not a copy signal for it. */
export function copyInstructionFor(copy: unknown, accountId: string): CopyFollowerInstruction | null {
  if (!copy || typeof copy !== 'object') return null;
  const followers = (copy as Partial<CopyInstructions>).followers;
  if (!Array.isArray(followers)) return null;
  return followers.find((follower) => follower.accountId === accountId) ?? null;
}

/**
 * A copy signal's reduce or close for this account (a close is reduce-only too): the way out of a
 * position, which pauses, the off switch, confirmations and the signal's age never stop.
 */
export const isCopyExit = (copy: unknown, accountId: string): boolean => copyInstructionFor(copy, accountId)?.reduceOnly ?? false;

/**
 * When a copy signal's age starts: the follower's acceptance, else the master's fill, else when the
 * signal was queued. A fill copied after downtime is as old as the fill, not as the poll that found it.
 */
export function copySignalTimeMs(copy: unknown, queuedAtMs: number): number {
  const instructions = (copy ?? {}) as Partial<CopyInstructions>;
  return instructions.acceptedAt ?? instructions.filledAt ?? queuedAtMs;
}

/**
 * An open's or add's quantity for one follower. Reductions do not use it: a follower closes the same
 * share of its own position as the master closed of his, whatever the mode.
 */
export function followerOpenQuantity(
  mode: CopyMode,
  value: number,
  masterQuantity: number,
  equity: { follower: number | null; master: number | null },
): number | null {
  switch (mode) {
    case 'mirror':
      return masterQuantity;
    case 'multiplier':
      return masterQuantity * value;
    case 'fixed':
      return value;
    case 'proportional':
      if (!equity.follower || !equity.master || equity.follower <= 0 || equity.master <= 0) return null;
      return (masterQuantity * equity.follower) / equity.master;
  }
}

/**
 * The signal a copy travels in: a market order on the pair. Every signal is validated, so it carries
 * a distant stop (half or double the price) that is never placed: a copy's exits are copies too.
 */
export function copyTradeSignal(pair: string, side: 'long' | 'short', price: number): TradeSignal {
  return {
    symbol: pair,
    side,
    entryType: 'market',
    entries: [],
    stopLoss: Number((side === 'long' ? price / 2 : price * 2).toPrecision(12)),
    takeProfits: [],
    leverage: null,
  };
}

/** `BTC/USDT:USDT` → `BTC/USDT` (signals carry the pair; each account resolves its own market). */
export const pairOfMarket = (symbol: string): string => symbol.split(':')[0] ?? symbol;

/** Allow/block lists hold base assets or pairs, upper-case ("BTC", "BTC/USDT"). */
export function symbolPasses(pair: string, allow: readonly string[], block: readonly string[]): boolean {
  const base = pair.split('/')[0] ?? pair;
  const listed = (list: readonly string[]) => list.some((entry) => entry === base || entry === pair);
  if (listed(block)) return false;
  return allow.length === 0 || listed(allow);
}

/** A follow link as the loop check sees it: `follower` copies `master`. */
export interface FollowEdge {
  readonly follower: string;
  readonly master: string;
}

/**
 * The accounts a new link (`follower` copies `master`) would close a loop through, master first:
 * `master` already copies, directly or through others, `follower`, so a trade would come back to
 * where it started and be copied again for ever. Empty when there is no loop (or follower = master,
 * refused elsewhere).
 */
export function followLoop(links: readonly FollowEdge[], follower: string, master: string): string[] {
  if (follower === master) return [master];
  const copiesFrom = new Map<string, string[]>();
  for (const link of links) copiesFrom.set(link.follower, [...(copiesFrom.get(link.follower) ?? []), link.master]);
  // Walk what `master` copies; reaching `follower` closes the loop. The path is kept for the message.
  const previous = new Map<string, string>();
  const queue = [master];
  const seen = new Set([master]);
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const next of copiesFrom.get(at) ?? []) {
      if (seen.has(next)) continue;
      previous.set(next, at);
      if (next === follower) {
        const path = [follower];
        for (let step = previous.get(follower); step !== undefined; step = previous.get(step)) path.unshift(step);
        return path;
      }
      seen.add(next);
      queue.push(next);
    }
  }
  return [];
}

/** What a follower still holds from one master's copies (base units, on the follower's market). */
export interface HeldCopy {
  readonly accountId: string;
  /** The follower's market (`BTC/USDT:USDT`). */
  readonly symbol: string;
  readonly side: 'long' | 'short';
  readonly quantity: number;
  /** Average price of the copy fills behind it. */
  readonly price: number;
}

/** Why a mastership ended (the notices and the log say it in words). */
export type MastershipEnd = 'stopped' | 'not-allowed' | 'revoked' | 'left' | 'banned' | 'key-revoked';

/**
 * The close copy signals that end a mastership: one per pair and side, each follower closing what it
 * holds from this master's copies (Binance closes copy traders' positions at market when a lead
 * trader closes the portfolio; here nothing is left to steer those positions out, and copies carry
 * no stop of their own). `endKey` makes them idempotent for one round of one mastership.
 */
export function closesOfEndedMaster(
  masterAccountId: string,
  mastershipSince: number,
  endKey: string,
  held: readonly HeldCopy[],
): { sourceRef: string; pair: string; side: 'long' | 'short'; price: number; copy: CopyInstructions }[] {
  const groups = new Map<string, HeldCopy[]>();
  for (const row of held) {
    if (!(row.quantity > 0)) continue;
    const key = `${pairOfMarket(row.symbol)}|${row.side}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, rows]) => {
      const [pair = '', side = 'long'] = key.split('|') as [string, 'long' | 'short'];
      const total = rows.reduce((sum, row) => sum + row.quantity, 0);
      const price = rows.reduce((sum, row) => sum + row.price * row.quantity, 0) / total;
      return {
        sourceRef: `${masterAccountId}:ended:${endKey}:${pair}:${side}`,
        pair,
        side,
        price,
        copy: {
          masterAccountId,
          tradeId: `ended:${endKey}`,
          action: 'close' as const,
          masterQuantity: 0,
          price,
          mastershipSince,
          followers: rows.map((row) => ({
            accountId: row.accountId,
            // A reduce with a quantity closes that much (never more than copy trading holds there).
            quantity: row.quantity,
            reduceFraction: null,
            reduceOnly: true,
            close: false,
            dryRun: false,
          })),
        },
      };
    });
}

/** A master's fill as the poller reads it (the fields grouping needs). */
export interface MasterFill {
  readonly id: string;
  readonly orderId: string;
  readonly side: 'buy' | 'sell';
  readonly price: number;
  readonly quantity: number;
  readonly timestamp: number;
}

/** One master order's fills read in one poll, copied as one: quantity summed, price their average. */
export interface MasterOrderFill<T extends MasterFill> {
  readonly orderId: string;
  readonly side: 'buy' | 'sell';
  readonly quantity: number;
  readonly price: number;
  /** When the first of them happened (the copy's age runs from it). */
  readonly timestamp: number;
  readonly fills: readonly T[];
  /** The first fill: its id keys the copy signal. */
  readonly first: T;
  /** The last fill: the cursor moves to it. */
  readonly last: T;
}

/**
 * Groups fills (in time order) into master orders: consecutive fills of one order are one copy. A
 * market order filled against several makers is several trades; copied one by one, a "fixed 0.005"
 * follower got 0.005 per trade and small shares floored to nothing. An order whose fills arrive over
 * several polls (a resting limit) is one group per poll.
 */
export function groupFillsByOrder<T extends MasterFill>(fills: readonly T[]): MasterOrderFill<T>[] {
  const groups: T[][] = [];
  for (const fill of fills) {
    const current = groups.at(-1);
    const head = current?.[0];
    if (current && head && fill.orderId !== '' && head.orderId === fill.orderId && head.side === fill.side) current.push(fill);
    else groups.push([fill]);
  }
  return groups.map((group) => {
    const quantity = group.reduce((sum, fill) => sum + fill.quantity, 0);
    const value = group.reduce((sum, fill) => sum + fill.quantity * fill.price, 0);
    const first = group[0]!;
    return {
      orderId: first.orderId,
      side: first.side,
      quantity: Number(quantity.toPrecision(12)),
      price: quantity > 0 ? value / quantity : first.price,
      timestamp: first.timestamp,
      fills: group,
      first,
      last: group.at(-1)!,
    };
  });
}

/**
 * What the poller remembers of a master between cycles: per symbol, the signed position after the
 * last fill it turned into signals (not merely the last one seen), and the balance, so a cycle can
 * tell which symbols changed and fetch trades only for those.
 */
export interface MasterSnapshot {
  positions: Record<string, number>;
  free: number;
  equity: number;
  /** Trades before this time (ms, exchange clock) existed before the account became a master. */
  since: number;
}
