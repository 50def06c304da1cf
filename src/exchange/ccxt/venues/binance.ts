/**
 * Binance (spot and USDⓈ-M futures): hedge-mode position sides, the algo service that holds futures
 * stop-loss and take-profit orders (/fapi/v1/algoOrder), fees read from trades, trade history in
 * 7-day windows, leverage brackets and the income history. The key audit and the futures preflight
 * are in binanceAccount.ts.
 */
import type { Exchange, Order, Trade as CcxtTrade } from 'ccxt';
import { ExchangeError } from '../../errors';
import type { AccountPreflight, IncomeQuery, IncomeRead, KeyAudit, OrderIntent, OrderState, OrderStatus, TradeCursor } from '../../gateway';
import type { RawFee } from '../feeValuation';
import { readIncome } from '../income';
import { num, rawFeesOf, rec } from '../orderState';
import { isOrderNotFound } from '../translate';
import { auditBinanceKey, binanceApi, preflightBinanceFutures } from './binanceAccount';
import { GenericVenue } from './generic';
import { reducesPosition, TRADES_PAGE, type ToOrderState, type VenueAccount, type VenueCalls } from './venue';

/** Binance keeps orders cancelled or expired without a fill for 3 days, then lookups say "does not exist". */
const UNFILLED_ORDERS_KEPT_MS = 3 * 86_400_000;
/** Binance USDⓈ-M: startTime and endTime at most 7 days apart; history kept 6 months. */
const FUTURES_TRADE_WINDOW_MS = 7 * 86_400_000;
const FUTURES_HISTORY_MS = 180 * 86_400_000 - 3_600_000;
/** How far past our estimate of the exchange's clock the newest history window reaches. */
const WINDOW_END_SLACK_MS = 60_000;

/**
 * A Binance USDⓈ-M algo (conditional) order's own status (Binance, ALGO_UPDATE): NEW untriggered;
 * TRIGGERING forwarded to the matching engine; TRIGGERED placed there (as actualOrderId); FINISHED
 * filled or cancelled there; CANCELED; REJECTED refused by the matching engine (margin check, nothing
 * to reduce); EXPIRED cancelled by the system. ccxt reads TRIGGERED and FINISHED as 'closed', which
 * would say "filled" with nothing filled: until the placed order itself is read (completeFill),
 * a triggered order is still working. Undefined for anything that is not an algo order.
 */
export function algoStatusOf(algoStatus: unknown): OrderStatus | undefined {
  switch (algoStatus) {
    case 'NEW':
    case 'TRIGGERING':
    case 'TRIGGERED':
    case 'FINISHED':
      return 'open';
    case 'CANCELED':
      return 'cancelled';
    case 'REJECTED':
      return 'rejected';
    case 'EXPIRED':
      return 'expired';
    default:
      return undefined;
  }
}

/** The id of the order a triggered algo order placed, when Binance has named one. */
function placedOrderId(info: Record<string, unknown>): string | undefined {
  const actual = info['actualOrderId'];
  return actual === undefined || actual === null || actual === '' || actual === 0 ? undefined : String(actual);
}

export class BinanceVenue extends GenericVenue {
  override readonly conditionalOrdersApart: boolean;
  override readonly readsLeverageCaps: boolean;
  override readonly readsIncome: boolean;

  constructor(account: VenueAccount) {
    super(account);
    this.conditionalOrdersApart = account.marketType === 'futures';
    this.readsLeverageCaps = account.marketType === 'futures';
    this.readsIncome = account.marketType === 'futures';
  }

  /** Hedge mode: every futures order names the side of the position it opens or closes. */
  private positionSide(intent: OrderIntent): 'LONG' | 'SHORT' | undefined {
    if (this.account.marketType !== 'futures') return undefined;
    if (intent.positionSide) return intent.positionSide === 'long' ? 'LONG' : 'SHORT';
    if (this.account.positionMode !== 'hedge') return undefined;
    const opensLong = intent.side === 'buy';
    const closing = intent.reduceOnly || intent.type === 'stop-loss' || intent.type === 'take-profit';
    return opensLong !== closing ? 'LONG' : 'SHORT';
  }

  override positionParams(intent: OrderIntent): Record<string, unknown> {
    const side = this.positionSide(intent);
    // Binance rejects reduceOnly in hedge mode: the position side says what is reduced.
    if (side) return { positionSide: side };
    return reducesPosition(intent) ? { reduceOnly: true } : {};
  }

  override statusOf(order: Order): OrderStatus | undefined {
    return algoStatusOf(rec(order.info)['algoStatus']);
  }

  /**
   * A triggered algo order fills through the order it placed (actualOrderId): report that order's
   * state and fill. Without it (not placed yet, or not named yet) the algo order's own state stands:
   * still working.
   */
  override async completeFill(exchange: Exchange, order: Order, state: OrderState, toState: ToOrderState): Promise<OrderState> {
    const info = rec(order.info);
    const actualOrderId = placedOrderId(info);
    if (!('algoId' in info) || actualOrderId === undefined) return state;
    // Cancelled, rejected or expired as an algo order: its own status is the answer.
    const algoStatus = info['algoStatus'];
    if (algoStatus !== undefined && !['TRIGGERING', 'TRIGGERED', 'FINISHED'].includes(String(algoStatus))) return state;
    try {
      const actual = await exchange.fetchOrder(actualOrderId, state.symbol);
      const fill = toState(actual, { clientOrderId: state.clientOrderId, symbol: state.symbol });
      return {
        ...state,
        status: fill.status,
        filledQuantity: fill.filledQuantity,
        averagePrice: fill.averagePrice,
        fees: fill.fees,
        updatedAt: Math.max(state.updatedAt, fill.updatedAt),
        fillOrderId: actualOrderId,
      };
    } catch (error) {
      if (!isOrderNotFound(error)) throw error;
      // Binance forgets an order cancelled or expired without a fill 3 days on: a finished algo order
      // whose placed order is gone since filled nothing.
      if (info['algoStatus'] === 'FINISHED' && this.account.exchangeNow() - state.updatedAt > UNFILLED_ORDERS_KEPT_MS) return { ...state, status: 'expired' };
      // Placed on the matching engine but not shown yet (a fresh order is denied for a while): its
      // fill is unknown, not absent. No answer, so no one takes the algo order for one still working
      // (a flat exchange beside it would read as a close outside the bot).
      throw new ExchangeError(
        'unknown-outcome',
        `${this.account.exchangeId}: the order ${actualOrderId} that ${state.clientOrderId} placed when it triggered is not shown yet`,
      );
    }
  }

  /**
   * Binance answers order lookups without commission: a filled order's fees come from its trades
   * (for an algo order, the trades of the order it placed).
   */
  override async fillFees(exchange: Exchange, order: Order, state: OrderState): Promise<RawFee[]> {
    const info = rec(order.info);
    const orderId = 'algoId' in info ? placedOrderId(info) : order.id === undefined || order.id === null || order.id === '' ? undefined : String(order.id);
    if (orderId === undefined) return [];
    const trades = await exchange.fetchMyTrades(state.symbol, undefined, undefined, { type: this.ccxtType, orderId });
    return trades.filter((trade) => String(trade.order ?? '') === orderId).flatMap((trade) => rawFeesOf(trade, trade.price ?? 0, trade.timestamp ?? state.updatedAt));
  }

  override async myTrades(exchange: Exchange, symbol: string, cursor: TradeCursor, afterId: bigint | undefined): Promise<CcxtTrade[]> {
    const params = { type: this.ccxtType };
    // fromId pages by id (inclusive) with no time window; Binance does not combine it with times.
    if (afterId !== undefined) return exchange.fetchMyTrades(symbol, undefined, TRADES_PAGE, { ...params, fromId: (afterId + 1n).toString() });
    if (this.account.marketType === 'futures') return this.tradesByWindow(exchange, symbol, cursor.sinceMs, cursor.from ?? 'oldest', params);
    // Spot: a start and end at most 24 hours apart; without them, the most recent trades.
    return exchange.fetchMyTrades(symbol, undefined, TRADES_PAGE, params);
  }

  /**
   * USDⓈ-M answers trade history 7 days at a time (startTime to endTime) and nothing older than 6
   * months: one window from `sinceMs` alone would never show a trade made a week later. The walk goes
   * window by window, from the oldest (a cursor's first read) or from now back (the trades that just
   * closed a position), until a page is full or the history is covered.
   */
  private async tradesByWindow(exchange: Exchange, symbol: string, sinceMs: number, from: 'oldest' | 'newest', params: Record<string, unknown>): Promise<CcxtTrade[]> {
    // The last window ends a minute past our estimate of the exchange's clock: a trade stamped just
    // now by a clock a little ahead of the estimate must not fall outside every window.
    const now = this.account.exchangeNow() + WINDOW_END_SLACK_MS;
    const first = Math.max(sinceMs, now - FUTURES_HISTORY_MS);
    const out: CcxtTrade[] = [];
    if (from === 'oldest') {
      for (let start = first; start <= now && out.length < TRADES_PAGE; start += FUTURES_TRADE_WINDOW_MS) {
        const end = Math.min(start + FUTURES_TRADE_WINDOW_MS - 1, now);
        out.push(...(await exchange.fetchMyTrades(symbol, start, TRADES_PAGE - out.length, { ...params, endTime: end })));
      }
      return out;
    }
    for (let end = now; end >= first && out.length < TRADES_PAGE; end -= FUTURES_TRADE_WINDOW_MS) {
      const start = Math.max(first, end - FUTURES_TRADE_WINDOW_MS + 1);
      const window = await exchange.fetchMyTrades(symbol, start, TRADES_PAGE, { ...params, endTime: end });
      // A full page is the window's OLDEST trades: the newest are read on by id to the window's end.
      for (let page = window; page.length === TRADES_PAGE; ) {
        const lastId = page.at(-1)?.id;
        if (lastId === undefined || !/^\d+$/.test(String(lastId))) break;
        page = (await exchange.fetchMyTrades(symbol, undefined, TRADES_PAGE, { ...params, fromId: (BigInt(String(lastId)) + 1n).toString() })).filter(
          (trade) => (trade.timestamp ?? 0) <= end,
        );
        window.push(...page);
      }
      out.unshift(...window.slice(-(TRADES_PAGE - out.length)));
    }
    return out;
  }

  /** Leverage caps per symbol: the highest initialLeverage of each symbol's brackets. */
  override async readLeverageCaps(exchange: Exchange): Promise<Map<string, number>> {
    const raw = await binanceApi(exchange).fapiPrivateGetLeverageBracket({});
    const caps = new Map<string, number>();
    for (const entry of Array.isArray(raw) ? raw : []) {
      const e = rec(entry);
      const brackets = Array.isArray(e['brackets']) ? (e['brackets'] as unknown[]) : [];
      const max = Math.max(0, ...brackets.map((b) => num(rec(b)['initialLeverage']) ?? 0));
      const marketId = typeof e['symbol'] === 'string' ? e['symbol'] : undefined;
      if (!marketId || max <= 0) continue;
      const market = exchange.safeMarket(marketId, undefined, undefined, 'swap');
      if (market?.symbol) caps.set(market.symbol, max);
    }
    return caps;
  }

  override async readIncome(exchange: Exchange, query: IncomeQuery): Promise<IncomeRead> {
    return readIncome(exchange, query);
  }

  override async auditKey(calls: VenueCalls): Promise<KeyAudit> {
    return auditBinanceKey(this.account, calls);
  }

  override async preflightFutures(calls: VenueCalls): Promise<AccountPreflight> {
    return preflightBinanceFutures(this.account, calls);
  }
}
