/**
 * Which accounts the position sync visits first. Under Binance's per-IP weight budget a pass over
 * hundreds of accounts takes longer than a cycle, and an entry that filled meanwhile waits for its
 * stop until its account's turn comes. So an account whose state may have changed in a way that
 * leaves a position unprotected — an order whose answer is not known, a futures position with no
 * live stop, an order whose price the market has reached (an entry filled, a stop or target
 * triggered, a spot stop the bot must sell at) — is visited on every pass; the others take turns,
 * the longest unvisited first, within what the pass has time for.
 */

export interface WatchedOrder {
  signalId: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit' | 'stop-loss' | 'take-profit';
  status: 'intent' | 'unknown' | 'open' | 'partially-filled';
  /** Limit price, or the trigger of a stop or take-profit; null for a market order. */
  level: number | null;
}

export interface WatchedPosition {
  signalId: string;
  symbol: string;
  side: 'long' | 'short';
  /** The stop the bot keeps (on spot the bot itself sells when the price reaches it). */
  stopLoss: number | null;
}

/** What the book says of one account with something to follow. */
export interface SyncSnapshot {
  accountId: string;
  marketType: 'spot' | 'futures';
  openPositions: readonly WatchedPosition[];
  liveOrders: readonly WatchedOrder[];
  /** An entry filled with no position written for it yet (a process died in between). */
  unbookedFill?: boolean;
}

/** The last price of a symbol on the account's market; null when it could not be read. */
export type PriceOf = (symbol: string) => number | null;

/** Whether the market has reached the order's level (a null price counts as reached: unknown is not safe). */
export function levelReached(order: WatchedOrder, price: number | null): boolean {
  if (order.level === null || price === null) return true;
  // A buy limit or take-profit fills at or below its level, a buy stop at or above; sells mirror.
  const fillsBelow = (order.side === 'buy') === (order.type !== 'stop-loss');
  return fillsBelow ? price <= order.level : price >= order.level;
}

/** The urgent reasons no price is needed to see: urgency() asks them first, before any price is read. */
const PRICE_FREE: ReadonlySet<string> = new Set(['answer-unknown', 'unbooked-fill', 'no-live-stop']);

/** Whether the account is urgent whatever the price: it is queued before the pass reads its prices. */
export function urgentWithoutPrice(snapshot: SyncSnapshot): boolean {
  return PRICE_FREE.has(urgency(snapshot, () => null) ?? '');
}

/** Why an account must be visited on this pass; null when it can wait for its turn. */
export function urgency(
  snapshot: SyncSnapshot,
  priceOf: PriceOf,
): 'answer-unknown' | 'unbooked-fill' | 'no-live-stop' | 'level-reached' | 'spot-stop-reached' | null {
  if (snapshot.liveOrders.some((o) => o.status === 'intent' || o.status === 'unknown')) return 'answer-unknown';
  if (snapshot.unbookedFill) return 'unbooked-fill';
  if (snapshot.marketType === 'futures') {
    const stopped = new Set(snapshot.liveOrders.filter((o) => o.type === 'stop-loss').map((o) => o.signalId));
    if (snapshot.openPositions.some((p) => !stopped.has(p.signalId))) return 'no-live-stop';
  } else {
    const reached = snapshot.openPositions.some((p) => {
      if (p.stopLoss === null) return false;
      const price = priceOf(p.symbol);
      return price === null || (p.side === 'long' ? price <= p.stopLoss : price >= p.stopLoss);
    });
    if (reached) return 'spot-stop-reached';
  }
  if (snapshot.liveOrders.some((o) => levelReached(o, priceOf(o.symbol)))) return 'level-reached';
  return null;
}

export interface SyncPass {
  /** Visited on this pass whatever it costs. */
  urgent: string[];
  /** Visited while the pass has time, in this order (never visited first, then the longest ago). */
  routine: string[];
}

/**
 * `incomplete`: accounts whose last visit could not sync everything (a lookup that failed, an
 * exchange back-off). They are urgent too: what that visit could not read (an entry that filled on a
 * wick the prices missed) is unknown, and unknown is not safe.
 */
export function planSyncPass(
  snapshots: readonly SyncSnapshot[],
  priceOf: (snapshot: SyncSnapshot) => PriceOf,
  lastVisitedAt: ReadonlyMap<string, number>,
  incomplete: ReadonlySet<string> = new Set(),
): SyncPass {
  const urgent: string[] = [];
  const routine: string[] = [];
  for (const snapshot of snapshots) {
    const waits = urgency(snapshot, priceOf(snapshot)) === null && !incomplete.has(snapshot.accountId);
    (waits ? routine : urgent).push(snapshot.accountId);
  }
  const visited = (id: string) => lastVisitedAt.get(id) ?? -1;
  routine.sort((a, b) => visited(a) - visited(b));
  return { urgent, routine };
}

/**
 * Whether an account's routine turn is due. The routine turns are the net for what the prices that
 * rank accounts cannot show (an entry filled on a wick between two reads). An account whose user-data
 * stream is open hears such a fill as it happens, so for it the net is a slow reconciliation, every
 * `reconcileMs` (an event lost on an open connection), not a turn as often as the budget allows:
 * at a thousand accounts those turns are most of the IP's weight. A visit that started before the
 * stream opened does not count: what happened between it and the open was heard by no one.
 * `lastVisitedAt` holds when each visit started; `listeningSince` when the stream opened (null: not open).
 */
export function routineDue(
  accountId: string,
  now: number,
  lastVisitedAt: ReadonlyMap<string, number>,
  listeningSince: (accountId: string) => number | null,
  reconcileMs: number,
): boolean {
  const since = listeningSince(accountId);
  if (since === null) return true;
  const last = lastVisitedAt.get(accountId);
  return last === undefined || last < since || now - last >= reconcileMs;
}
