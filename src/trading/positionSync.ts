/**
 * The position lifecycle, one cycle step (DESIGN.md: "sync positions, pnl"). For every account with
 * an open bot position or a live bot order of a finished execution, each execution is followed
 * (src/trading/positions/follow.ts: its legs synced, then the pure decision of
 * src/domain/lifecycle/decide.ts applied through the order protocol), then spot coin balances are
 * checked for positions sold outside the bot. `/panic` closes an account's bot positions at market.
 *
 * Its size: the step's pass planning, account leases, user-data stream hints and the spot balance review share the pass's per-account state; one execution's following is in positions/follow.ts.
 */
import pLimit from 'p-limit';
import type { Store } from '../db/store';
import {
  planSyncPass,
  routineDue,
  urgentWithoutPrice,
  type SyncPass,
  type SyncSnapshot,
} from '../domain/syncPriority';
import { TokenBucket } from '../domain/tokenBucket';
import { isExchangeError } from '../exchange/errors';
import type { AccountStream } from '../exchange/gateway';
import { inSignalLane } from '../exchange/requestLane';
import type { Logger } from '../logger';
import type { AccountSeize, LeaseFence } from './accountLeases';
import type { Clock } from '../clock';
import type { GatewayProvider } from './engine';
import { AccountStreams } from './positions/accountStreams';
import { booking } from './positions/booking';
import { follower } from './positions/follow';
import { legIo } from './positions/legIo';
import { panic, type PanicResult } from './positions/panic';
import { spotSales } from './positions/spotSales';
import { VisitQueue, type VisitTurn } from './positions/visitQueue';
import { defaultPositionSyncSettings, type PositionSyncSettings } from './positions/syncSettings';
import { accountWork } from './positions/work';
import { withTimeout } from '../timeout';
import type { Account } from '../domain/records';

export type { PanicResult } from './positions/panic';
export { defaultPositionSyncSettings, type PositionSyncSettings } from './positions/syncSettings';

/** A price read slower than this counts as unread (reached): a pass does not wait out a slow quote. */
const QUOTE_WAIT_MS = 2_000;

/** Continuous following: one visit start in this many goes to a routine turn when one waits (VisitQueue). */
const ROUTINE_EVERY = 4;

/** The symbols whose prices rank an account: of its orders with a level, and of its spot positions with a stop. */
const wantedSymbols = (snapshot: SyncSnapshot): string[] => [
  ...snapshot.liveOrders.filter((o) => o.level !== null).map((o) => o.symbol),
  ...snapshot.openPositions
    .filter((p) => snapshot.marketType === 'spot' && p.stopLoss !== null)
    .map((p) => p.symbol),
];

/** Prices are per market: the same symbol may trade at other prices on another exchange or in demo. */
const priceKey = (account: Account, symbol: string) =>
  `${account.exchangeId}:${account.marketType}:${account.mode}:${symbol}`;

export interface PositionSyncDeps {
  store: Store;
  gateways: Pick<GatewayProvider, 'forAccount'>;
  clock: Clock;
  log: Logger;
  settings?: Partial<PositionSyncSettings>;
  /** Several processes: narrows run()'s accounts to those this process holds the lease of (accountLeases). */
  claimAccounts?: (accountIds: string[], urgent?: ReadonlySet<string>) => Promise<string[]>;
  /** Several processes: the fence of every order the sync sends for an account (its lease still held). */
  lease?: LeaseFence;
  /**
   * Several processes: takes the account's lease from whoever holds it before /panic acts, so the
   * panic runs under the fence and the former holder sends nothing more for the account.
   */
  seize?: AccountSeize;
  /**
   * Continuous following: each followed account's user-data stream (null: none), whose events queue a
   * visit at once (accountStreams.ts). Without it, and for accounts without one, polling alone.
   */
  streams?: { streamFor(account: Account): AccountStream | null };
}

export interface PositionSync {
  /**
   * One pass: every account whose positions may be unprotected (src/domain/syncPriority.ts), then the
   * others, longest unvisited first, while `routineBudgetMs` lasts.
   */
  run(): Promise<void>;
  syncAccount(accountId: string): Promise<void>;
  /**
   * Follows one account's positions now, when this process holds (or can take) its lease and no visit
   * of it is running here: an execution whose stop the exchange refused hands its position to the
   * lifecycle at once (a would-trigger refusal closes at market) instead of waiting for the next pass.
   */
  followNow(accountId: string): Promise<void>;
  /** Cancels the account's live bot orders and closes its open bot positions at market. */
  panicAccount(account: Account): Promise<PanicResult>;
  /**
   * Follows positions continuously (the app; tests drive run() by hand): a pass is planned every
   * `planEveryMs` and each account it names is visited as soon as a slot is free, unless a visit of
   * it is queued or running. Unlike run(), whose pass waits for its slowest visit (lookups that keep
   * failing, an account's back-off), a slow account never holds up another's next visit: an entry
   * that just filled gets its stop within a plan or two.
   */
  start(): FollowLoop;
}

export interface FollowLoop {
  /** Plans no more passes and waits for the visits under way. */
  stop(): Promise<void>;
  /** Since when the account's stream says its balances are unchanged; null without an open stream (AccountStreams). */
  balanceQuietSince(accountId: string): number | null;
}

/** A stream-reported visit reads in the signal lane at most this often per account. */
const STREAM_LANE_EVERY_MS = 10_000;

export function createPositionSync(deps: PositionSyncDeps): PositionSync {
  const settings = { ...defaultPositionSyncSettings, ...deps.settings };
  const { clock } = deps;
  const accounts = deps.store.accounts;
  const positions = deps.store.positions;
  const trading = deps.store.trading;
  const signals = deps.store.signals;
  const legs = legIo({
    trading,
    clock,
    lookupWindowMs: settings.lookupWindowMs,
    ...(deps.lease ? { lease: deps.lease } : {}),
  });
  const books = booking({ store: deps.store, positions, legs, clock });
  const { follow } = follower({
    trading,
    positions,
    signals,
    legs,
    booking: books,
    clock,
    settings: {
      entryTtlMs: settings.entryTtlMs,
      retry: settings.retry,
      lostExitGraceMs: settings.lostExitGraceMs,
    },
  });
  const sales = spotSales({ positions, signals, legs, booking: books });
  const panicOf = panic({ positions, signals, legs, booking: books });

  const workFor = (account: Account, options: { holdings?: boolean } = {}) =>
    accountWork(
      account,
      deps.gateways.forAccount(account),
      deps.log.child({ accountId: account.id, component: 'positions' }),
      positions,
      options,
    );

  async function syncAccount(accountId: string): Promise<void> {
    const account = await accounts.byId(accountId);
    if (account) await syncAccountRow(account);
  }

  /** Accounts whose last visit left something unsynced: urgent on the next plan (syncPriority.ts). */
  const incomplete = new Set<string>();

  async function syncAccountRow(account: Account): Promise<void> {
    const active = await positions.activeExecutions(account.id);
    if (active.length === 0) return;
    // Until this visit ends well, the account counts as not fully synced.
    incomplete.add(account.id);
    const work = await workFor(account, { holdings: true });
    for (const execution of active) {
      try {
        await follow(work, execution);
        work.followed.add(execution.id);
      } catch (error) {
        if (isExchangeError(error, 'auth-failed')) throw error;
        work.unsettled.add(execution.id);
        work.log.error({ err: error, executionId: execution.id }, 'position sync failed for one execution');
      }
    }
    let salesChecked = true;
    try {
      await sales.check(work);
    } catch (error) {
      if (isExchangeError(error, 'auth-failed')) throw error;
      work.log.error({ err: error }, 'spot sales check failed; next cycle tries again');
      salesChecked = false;
    }
    if (salesChecked && work.unsettled.size === 0) incomplete.delete(account.id);
  }

  /**
   * Accounts being visited in this process: one visit at a time per account (a pass and a follow-now
   * deciding together could both send the same new leg). A visit asked while one runs is skipped: the
   * running one, or the next pass, sees what it would have seen.
   */
  const visiting = new Map<string, Promise<void>>();
  async function exclusively(accountId: string, visit: () => Promise<void>): Promise<boolean> {
    if (visiting.has(accountId)) return false;
    const running = visit();
    visiting.set(
      accountId,
      running.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      await running;
      return true;
    } finally {
      visiting.delete(accountId);
    }
  }

  /** When each account was last visited, for the routine turns (accounts with nothing to follow are dropped). */
  const lastVisitedAt = new Map<string, number>();

  /**
   * Accounts the last plan found possibly unprotected whatever the prices (an answer unknown, a fill
   * not booked, a futures position with no live stop): their urgent visits read in the signal lane.
   * Not the others (a level reached, a price unread, a visit left incomplete): a market move makes
   * hundreds of those at once, and in the signal lane they would spend the weight kept for signals.
   */
  const unprotected = new Set<string>();

  /**
   * Accounts whose stream reported a change to the bot's orders (a fill, a trigger, a cancel): their
   * next urgent visit reads in the signal lane too. A fill may need its stop moved, and at a thousand
   * accounts the background lane holds minutes of routine reads; the visit slots bound how much of
   * the signal lane such visits take at once.
   */
  const streamReported = new Set<string>();
  /** When each account's last stream-reported visit read in the signal lane. */
  const signalLaneVisitAt = new Map<string, number>();

  /** One price per (market, symbol) the pass ranks by; null when it could not be read. */
  async function readPrices(
    snapshots: SyncSnapshot[],
    rows: ReadonlyMap<string, Account>,
  ): Promise<Map<string, number | null>> {
    const wanted = new Map<string, { account: Account; symbol: string }>();
    for (const snapshot of snapshots) {
      const account = rows.get(snapshot.accountId);
      if (!account) continue;
      for (const symbol of wantedSymbols(snapshot)) {
        const key = priceKey(account, symbol);
        if (!wanted.has(key)) wanted.set(key, { account, symbol });
      }
    }
    const limit = pLimit(settings.concurrency);
    const prices = new Map<string, number | null>();
    // Several symbols of one market: one read of all its last prices (Binance: weight 2 or 4, where one
    // per symbol costs 1 or 2 each), in the signal lane. These prices decide which positions are
    // visited first, and an unread one counts as reached: a read starved by background traffic would
    // queue every account as urgent, the one whose fill a stream reported among hundreds.
    const byMarket = new Map<string, { account: Account; keys: Map<string, string> }>();
    for (const [key, { account, symbol }] of wanted) {
      const market = key.slice(0, key.length - symbol.length);
      const group = byMarket.get(market) ?? { account, keys: new Map<string, string>() };
      group.keys.set(symbol, key);
      byMarket.set(market, group);
    }
    // A market with one symbol is read by that symbol's quote, in the signal lane like the all-symbol
    // reads; a quote that falls back after a failed all-symbol read stays in the background lane
    // (a busy signal lane made those time out, and each plan queued them again).
    const lone = new Set([...byMarket.values()].filter((group) => group.keys.size === 1).flatMap((group) => [...group.keys.values()]));
    await Promise.all(
      [...byMarket.values()]
        .filter((group) => group.keys.size > 1)
        .map(async ({ account, keys }) => {
          const gateway = deps.gateways.forAccount(account);
          if (!gateway.lastPrices) return;
          try {
            const read = await inSignalLane(() =>
              withTimeout(
                gateway.lastPrices!([...keys.keys()]),
                QUOTE_WAIT_MS,
                () => new Error('prices too slow'),
              ),
            );
            for (const [symbol, key] of keys) {
              prices.set(key, read.get(symbol) ?? null);
              wanted.delete(key);
            }
          } catch {
            // Read one by one below.
          }
        }),
    );
    await Promise.all(
      [...wanted].map(([key, { account, symbol }]) =>
        limit(async () => {
          try {
            // A lone symbol's quote in the signal lane: with one spot symbol among hundreds of positions,
            // a quote starved by the visits an unread price makes urgent would keep every one urgent.
            const read = () =>
              withTimeout(deps.gateways.forAccount(account).quote(symbol), QUOTE_WAIT_MS, () => new Error('quote too slow'));
            prices.set(key, (await (lone.has(key) ? inSignalLane(read) : read())).last);
          } catch {
            prices.set(key, null);
          }
        }),
      ),
    );
    return prices;
  }

  /**
   * One pass's plan: this process's accounts with something to follow, ranked (syncPriority.ts) by the
   * prices read now (or, with `priceMaxAgeMs`, read at most that long ago). Forgets the visit times of
   * accounts with nothing left to follow.
   */
  async function planPass(
    priceMaxAgeMs = 0,
    beforePrices: (urgent: Account[]) => void = () => {},
  ): Promise<{ pass: SyncPass; rows: Map<string, Account> }> {
    const snapshots = await positions.syncSnapshots();
    // What may be unprotected is kept, and taken first, when accounts move between processes.
    const priceFree = snapshots.filter((s) => urgentWithoutPrice(s)).map((s) => s.accountId);
    unprotected.clear();
    for (const id of priceFree) unprotected.add(id);
    const urgentIds = new Set([
      ...priceFree,
      ...snapshots.filter((s) => incomplete.has(s.accountId)).map((s) => s.accountId),
    ]);
    const held = deps.claimAccounts
      ? new Set(
          await deps.claimAccounts(
            snapshots.map((s) => s.accountId),
            urgentIds,
          ),
        )
      : null;
    const mine = held ? snapshots.filter((s) => held.has(s.accountId)) : snapshots;
    const rows = new Map((await accounts.byIds(mine.map((s) => s.accountId))).map((row) => [row.id, row]));
    // What is urgent whatever the prices does not wait for them (a quote may be slow to answer).
    beforePrices(
      mine
        .filter((s) => urgentIds.has(s.accountId))
        .map((s) => rows.get(s.accountId))
        .filter((row): row is Account => row !== undefined),
    );
    const prices = await pricesFor(mine, rows, priceMaxAgeMs);
    const pass = planSyncPass(
      mine,
      (snapshot) => (symbol) => {
        const account = rows.get(snapshot.accountId);
        return account ? (prices.get(priceKey(account, symbol)) ?? null) : null;
      },
      lastVisitedAt,
      incomplete,
    );
    const following = new Set(snapshots.map((s) => s.accountId));
    // Visits of accounts this process does not hold now are forgotten: what happened on one while
    // another process held it was not seen here (routineDue must not count the old visit).
    const mineIds = new Set(mine.map((s) => s.accountId));
    for (const id of lastVisitedAt.keys()) if (!mineIds.has(id)) lastVisitedAt.delete(id);
    for (const id of incomplete) if (!following.has(id)) incomplete.delete(id);
    return { pass, rows };
  }

  /** Prices read by the last plans, reused while younger than the caller's limit. */
  const priceCache = new Map<string, { price: number | null; at: number }>();
  async function pricesFor(
    snapshots: SyncSnapshot[],
    rows: ReadonlyMap<string, Account>,
    maxAgeMs: number,
  ): Promise<Map<string, number | null>> {
    const now = clock.now();
    const fresh = new Map<string, number | null>();
    const stale: SyncSnapshot[] = [];
    for (const snapshot of snapshots) {
      const account = rows.get(snapshot.accountId);
      const keys = account ? wantedSymbols(snapshot).map((symbol) => priceKey(account, symbol)) : [];
      const cached = keys.map((key) => priceCache.get(key));
      // A price that could not be read (null) is never reused: unknown is not safe.
      if (maxAgeMs > 0 && cached.every((hit) => hit && hit.price !== null && now - hit.at <= maxAgeMs))
        keys.forEach((key, i) => fresh.set(key, cached[i]!.price));
      else stale.push(snapshot);
    }
    const read = await readPrices(stale, rows);
    for (const [key, price] of read) {
      priceCache.set(key, { price, at: now });
      fresh.set(key, price);
    }
    for (const [key, hit] of priceCache)
      if (now - hit.at > Math.max(maxAgeMs, 60_000)) priceCache.delete(key);
    return fresh;
  }

  function visitNow(account: Account): Promise<void> {
    // When the visit started: what happened after that is not known to it (routineDue).
    const startedAt = clock.now();
    return exclusively(account.id, () => syncAccountRow(account))
      .then(() => undefined)
      .catch((error: unknown) => {
        // Whatever failed (a database read, say), the account is not known to be synced.
        incomplete.add(account.id);
        deps.log.warn({ err: error, accountId: account.id }, 'position sync failed for one account');
      })
      .finally(() => lastVisitedAt.set(account.id, startedAt));
  }

  /**
   * A queued visit of the loop, when its slot comes: the account's lease may have moved meanwhile (a
   * process joined and this one released it) and its row changed (settings, disabled, removed), so
   * both are read again rather than trusted from the plan that queued it.
   */
  async function queuedVisit(queuedRow: Account, turn: VisitTurn): Promise<void> {
    if (deps.lease && !(await deps.lease.holds(queuedRow.id))) {
      // Not ours now: when it comes back, an old visit here must not count as recent (routineDue).
      lastVisitedAt.delete(queuedRow.id);
      streamReported.delete(queuedRow.id);
      return;
    }
    const account = await accounts.byId(queuedRow.id);
    // The urgent visit of a position that may have no stop reads ahead of the routine ones, with a
    // signal's reads: it is not queued for weight behind a thousand accounts' checks. A stream's
    // report earns that once per account per STREAM_LANE_EVERY_MS: a member trading by hand (every
    // order of theirs is news) must not keep the signal lane busy.
    const now = clock.now();
    const reported =
      turn === 'urgent' &&
      streamReported.delete(queuedRow.id) &&
      now - (signalLaneVisitAt.get(queuedRow.id) ?? -Infinity) >= STREAM_LANE_EVERY_MS;
    if (reported) signalLaneVisitAt.set(queuedRow.id, now);
    if (account)
      await (turn === 'urgent' && (unprotected.has(account.id) || reported)
        ? inSignalLane(() => visitNow(account))
        : visitNow(account));
  }

  function start(): FollowLoop {
    const queue = new VisitQueue<Account>(settings.concurrency, ROUTINE_EVERY, queuedVisit);
    // At most a few seconds' worth at once: a round of reconciliations never comes as one burst.
    const paceOf = (perMinute: number) =>
      new TokenBucket(
        Math.max(1, Math.ceil(perMinute / 12)),
        60_000 / Math.max(1e-9, perMinute),
        clock.now(),
      );
    const reconcilePace = {
      futures: paceOf(settings.streamedReconcilePerMinute.futures),
      spot: paceOf(settings.streamedReconcilePerMinute.spot),
    };
    let stopped = false;
    const streamSource = deps.streams;
    // A fill, a triggered stop or a cancel heard on the account's stream: visit it now, not when the
    // plan ranks it. A (re)connect asks the same: what happened while no stream was open is unheard.
    const streams = streamSource
      ? new AccountStreams<Account>({
          streamFor: (account) => streamSource.streamFor(account),
          // A new key, another mode or exchange: a new stream (the old one holds the old key).
          versionOf: (account) =>
            [
              account.exchangeId,
              account.marketType,
              account.mode,
              account.apiKeyEnc,
              account.secretEnc,
              account.passphraseEnc,
            ].join('|'),
          onHint: (account, hint) => {
            if (stopped) return;
            if (hint === 'event') streamReported.add(account.id);
            queue.urgent(account, { afterRunning: true });
          },
          clock,
          log: deps.log,
          connectEveryMs: settings.streamConnectEveryMs,
        })
      : null;
    let wake = () => {};
    const loop = async () => {
      while (!stopped) {
        try {
          const { pass, rows } = await planPass(settings.priceMaxAgeMs, (urgent) => {
            if (!stopped) for (const account of urgent) queue.urgent(account);
          });
          if (stopped) break;
          for (const id of pass.urgent) {
            const account = rows.get(id);
            if (account) queue.urgent(account);
          }
          // A short routine lane (topped up each plan, longest unvisited first) keeps its order fresh.
          const listeningSince = (id: string) => streams?.listeningSince(id) ?? null;
          for (const id of pass.routine) {
            if (queue.routineWaiting >= settings.concurrency) break;
            if (!routineDue(id, clock.now(), lastVisitedAt, listeningSince, settings.streamedReconcileMs))
              continue;
            const account = rows.get(id);
            // Queued or being visited: no turn to pace (its token would be spent on nothing).
            if (!account || queue.has(id)) continue;
            // A streamed account's turn is a reconciliation: paced (the next plan offers it again).
            if (listeningSince(id) !== null && !reconcilePace[account.marketType].take(clock.now())) continue;
            queue.routine(account);
          }
          // Streams follow the accounts this process follows (leased, something to follow).
          try {
            streams?.follow(rows.values());
          } catch (error) {
            deps.log.warn(
              { err: error },
              'user-data streams could not be updated; the next plan tries again',
            );
          }
        } catch (error) {
          deps.log.warn({ err: error }, 'positions pass could not be planned; the next one tries again');
        }
        if (stopped) break;
        await Promise.race([
          clock.sleep(settings.planEveryMs),
          new Promise<void>((resolve) => (wake = resolve)),
        ]);
      }
      await streams?.stop();
      await queue.close();
    };
    const done = loop();
    return {
      async stop() {
        stopped = true;
        wake();
        await done;
      },
      balanceQuietSince: (accountId) => streams?.balanceQuietSince(accountId) ?? null,
    };
  }

  return {
    start,
    async run() {
      const { pass, rows } = await planPass();
      const startedAt = clock.now();
      const limit = pLimit(settings.concurrency);
      const visit = (id: string, routine: boolean) =>
        limit(async () => {
          // Routine turns only while the pass has time: the urgent accounts of the next pass come first.
          if (routine && clock.now() - startedAt >= settings.routineBudgetMs) return;
          const account = rows.get(id);
          if (account) await visitNow(account);
        });
      await Promise.all([
        ...pass.urgent.map((id) => visit(id, false)),
        ...pass.routine.map((id) => visit(id, true)),
      ]);
    },
    syncAccount,
    async followNow(accountId) {
      if (deps.claimAccounts && !(await deps.claimAccounts([accountId])).includes(accountId)) return;
      const account = await accounts.byId(accountId);
      if (!account) return;
      try {
        await exclusively(accountId, () => syncAccountRow(account));
      } catch (error) {
        deps.log.warn(
          { err: error, accountId },
          'following a position at once failed; the next pass tries again',
        );
      } finally {
        lastVisitedAt.set(accountId, clock.now());
      }
    },
    async panicAccount(account) {
      // Under the account's lease, taken from whoever held it: the former holder is fenced.
      if (deps.seize && !(await deps.seize(account.id))) {
        return {
          accountId: account.id,
          accountName: account.name,
          cancelledOrders: 0,
          closedPositions: 0,
          problems: [
            'the bot is catching up with its database; nothing was touched, try again in a few seconds',
          ],
        };
      }
      // A visit of the account running here ends first: the panic and the lifecycle never decide together.
      for (let running = visiting.get(account.id); running; running = visiting.get(account.id)) await running;
      let result: PanicResult | undefined;
      await exclusively(account.id, async () => {
        result = await panicOf(await workFor(account), account);
      });
      return result!;
    },
  };
}
