/**
 * What following one account's positions for one cycle keeps at hand: its gateway, what the exchange
 * said once per cycle (positions, coin balances, open orders per symbol, one price per symbol) and the
 * executions whose state is not settled this cycle.
 */

import type { PositionsRepository } from '../../db/repositories/positions';
import type { MarketRules } from '../../domain/market';
import { dec, toNumber } from '../../domain/precision';
import type { ExchangeGateway, OrderState, PositionState } from '../../exchange/gateway';
import type { Logger } from '../../logger';
import type { Account } from '../../domain/records';

export interface SpotHoldings {
  /** Open positions when the balances were read: only these are judged against them. */
  positions: ReadonlySet<string>;
  /**
   * What each of those positions' entries had filled by the book, per signal, read before the
   * balances: a fill the book learns later (a cancel's answer, another process's visit) may be newer
   * than the balances, so its coin waits.
   */
  entryFills: ReadonlyMap<string, number>;
  /** Total per asset (upper case). */
  totals: ReadonlyMap<string, number>;
}

export interface AccountWork {
  account: Account;
  gateway: ExchangeGateway;
  log: Logger;
  /** Exchange positions, read BEFORE the orders are refreshed (see external closes); null when unknown. */
  exchangePositions: PositionState[] | null;
  /**
   * The bot's open positions when the exchange's were read: only these are judged against that read
   * (an entry that fills after it is not on it yet; it would look closed outside the bot).
   */
  judgeable: ReadonlySet<string>;
  /** Spot coin balances, also read before the orders are refreshed; null when unknown. */
  holdings: SpotHoldings | null;
  /**
   * Executions whose entries gained fills this cycle or whose legs could not be synced: what they
   * hold may be more than the balances read before saw, so their coin waits for the next cycle.
   */
  unsettled: Set<string>;
  /**
   * Executions followed to the end in this visit (their legs brought up to date after the reads above).
   * Only their positions are judged against the balances: another execution's legs are as its executor
   * left them (a target may have sold since), so its coin waits.
   */
  followed: Set<string>;
  markets: ReadonlyMap<string, MarketRules> | null;
  quotes: Map<string, Promise<number | null>>;
  /** Open orders per symbol, listed once per cycle: legs found there unchanged need no lookup. */
  open: Map<string, Promise<Map<string, OrderState> | null>>;
  /** Conditional orders of other executions, per (execution, symbol), counted once per cycle. */
  conditional: Map<string, Promise<number>>;
}

export async function accountWork(
  account: Account,
  gateway: ExchangeGateway,
  log: Logger,
  positions: PositionsRepository,
  options: { holdings?: boolean } = {},
): Promise<AccountWork> {
  let exchangePositions: PositionState[] | null = null;
  let judgeable: ReadonlySet<string> = new Set();
  if (account.marketType === 'futures') {
    // The book first, then the exchange: a position opened after this line is not judged this cycle.
    judgeable = new Set((await positions.openPositionsOf(account.id)).map((p) => p.id));
    // Nothing in the book to judge (only resting entries): the read would cost weight for nothing.
    if (judgeable.size > 0) {
      try {
        exchangePositions = await gateway.positions();
      } catch (error) {
        log.warn({ err: error }, 'positions unavailable: external closes not checked this cycle');
      }
    }
  }
  const holdings =
    options.holdings && account.marketType === 'spot'
      ? await spotHoldings(account, gateway, log, positions)
      : null;
  return {
    account,
    gateway,
    log,
    exchangePositions,
    judgeable,
    holdings,
    unsettled: new Set(),
    followed: new Set(),
    markets: null,
    quotes: new Map(),
    open: new Map(),
    conditional: new Map(),
  };
}

/** One balance call, only for a spot account with an open position; null when unknown (no check). */
async function spotHoldings(
  account: Account,
  gateway: ExchangeGateway,
  log: Logger,
  positions: PositionsRepository,
): Promise<SpotHoldings | null> {
  // The positions first: one opened after the balances were read is not judged against them.
  const open = await positions.openPositionsOf(account.id);
  if (open.length === 0) return null;
  const entryFills = await positions.entryFillsOf(account.id, open.map((p) => p.signalId));
  try {
    const balances = await gateway.assetBalances();
    const totals = new Map(
      [...balances].map(([asset, b]) => [asset.toUpperCase(), toNumber(dec(b.free).plus(dec(b.used)))]),
    );
    return { positions: new Set(open.map((p) => p.id)), entryFills, totals };
  } catch (error) {
    log.warn({ err: error }, 'spot balances unavailable: sales outside the bot not checked this cycle');
    return null;
  }
}

export async function marketOf(work: AccountWork, symbol: string): Promise<MarketRules | null> {
  work.markets ??= await work.gateway.markets();
  return work.markets.get(symbol) ?? null;
}

/**
 * Coins per contract of the symbol's market (1 on spot and on Binance), for money figures. The
 * markets are cached per exchange, so this is rarely a read; one that fails counts 1 and says so.
 */
export function contractSizeOf(work: AccountWork, symbol: string): Promise<number> {
  return contractSizeIn(async () => (work.markets ??= await work.gateway.markets()), symbol, work.log);
}

/** contractSizeOf over any source of the account's markets (read inside the guard: a source that throws counts 1 too). */
export async function contractSizeIn(
  markets: () => Promise<ReadonlyMap<string, MarketRules>>,
  symbol: string,
  log: Pick<Logger, 'warn'>,
): Promise<number> {
  try {
    return (await markets()).get(symbol)?.contractSize ?? 1;
  } catch (error) {
    log.warn({ err: error, symbol }, 'markets unreadable: figures counted at one coin per contract');
    return 1;
  }
}

/** One price per symbol per cycle; null when the exchange would not say. */
export function quoteOf(work: AccountWork, symbol: string): Promise<number | null> {
  let cached = work.quotes.get(symbol);
  if (!cached) {
    cached = work.gateway.quote(symbol).then(
      (q) => q.last,
      (error: unknown) => {
        work.log.warn({ err: error, symbol }, 'no price for the position check');
        return null;
      },
    );
    work.quotes.set(symbol, cached);
  }
  return cached;
}

/** One open-orders listing per (account, symbol) per cycle; null when the exchange would not say. */
export function openOrdersOf(work: AccountWork, symbol: string): Promise<Map<string, OrderState> | null> {
  let cached = work.open.get(symbol);
  if (!cached) {
    cached = work.gateway.openOrders(symbol).then(
      (list) => new Map(list.filter((o) => o.clientOrderId !== '').map((o) => [o.clientOrderId, o])),
      (error: unknown) => {
        work.log.debug({ err: error, symbol }, 'open orders unavailable; looking legs up one by one');
        return null;
      },
    );
    work.open.set(symbol, cached);
  }
  return cached;
}

/**
 * Quantity the exchange holds in the position's (symbol, side); null when the positions could not be
 * read, or the position was not yet in the book when they were.
 */
export function exchangeQuantity(
  work: AccountWork,
  position: { id: string; symbol: string; side: 'long' | 'short' },
): number | null {
  const { symbol, side } = position;
  if (work.exchangePositions === null || !work.judgeable.has(position.id)) return null;
  return work.exchangePositions
    .filter((p) => p.symbol === symbol && p.side === side)
    .reduce((sum, p) => sum + Math.abs(p.quantity), 0);
}
