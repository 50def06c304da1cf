/**
 * A venue's dialect: what one exchange does differently from ccxt's unified methods. The gateway
 * (../ccxtGateway.ts) asks its account's dialect wherever exchanges differ; everything else is
 * unified ccxt. To add an exchange's quirks, extend GenericVenue in a file of its own and name it in
 * ./index.ts (binance.ts and bybit.ts show the shape).
 */
import type { Exchange, Order, Trade as CcxtTrade } from 'ccxt';
import type { MarketType } from '../../../domain/account';
import type { AccountPreflight, IncomeQuery, IncomeRead, KeyAudit, OrderIntent, OrderState, OrderStatus, PositionMode, TradeCursor } from '../../gateway';
import type { RawFee } from '../feeValuation';
import type { OrderFallback } from '../orderState';
import { translateError } from '../translate';

/** The account a dialect serves: what its quirks depend on. */
export interface VenueAccount {
  readonly exchangeId: string;
  readonly marketType: MarketType;
  readonly mode: 'live' | 'demo';
  /** As stored by the last preflight; hedge mode names a position side on futures orders. */
  readonly positionMode: PositionMode | undefined;
  /** The exchange's clock as estimated here (history windows end at it). */
  exchangeNow(): number;
}

/** The gateway's calls a dialect's longer conversations use (its error translation, its clock). */
export interface VenueCalls {
  /** One translated operation, as the gateway's own (the clock corrected, a -1021 repeated once). */
  call<T>(action: string, run: (exchange: Exchange) => Promise<T>): Promise<T>;
  /** The instance with markets attached and the clock synced, for a conversation that translates its own failures. */
  ready(): Promise<Exchange>;
  /** The account's leverage caps per symbol, read and shared (see Venue.readLeverageCaps). */
  leverageCaps(): Promise<ReadonlyMap<string, number>>;
}

/** A ccxt order as the port's state, with the dialect's status reading (the gateway's mapping). */
export type ToOrderState = (order: Order, fallback: OrderFallback) => OrderState;

export interface Venue {
  /** ccxt's market type of the account. */
  readonly ccxtType: 'spot' | 'swap';
  /** Conditional orders (stop-loss, take-profit) live apart here: looked up, cancelled and listed on their own. */
  readonly conditionalOrdersApart: boolean;
  /** The venue reads leverage caps from signed data (readLeverageCaps). */
  readonly readsLeverageCaps: boolean;
  /** The venue's income history is modelled (readIncome). */
  readonly readsIncome: boolean;
  /** Whether this order goes to the conditional service. */
  isConditional(intent: Pick<OrderIntent, 'type'>): boolean;
  /** A futures order's params saying which position it opens or reduces. */
  positionParams(intent: OrderIntent): Record<string, unknown>;
  /** An order found by our client order id; null or ccxt's OrderNotFound when it is not there. */
  fetchByClientId(exchange: Exchange, symbol: string, clientOrderId: string, conditional: boolean): Promise<Order | null>;
  /** Cancels by our client order id; null or ccxt's OrderNotFound when it is not there. */
  cancelByClientId(exchange: Exchange, symbol: string, clientOrderId: string, conditional: boolean): Promise<Order | null>;
  /** What the venue's own fields say of an order's status where ccxt's unified status is wrong; else undefined. */
  statusOf(order: Order): OrderStatus | undefined;
  /** A looked-up order completed with what the venue keeps elsewhere (the fill of the order a trigger placed). */
  completeFill(exchange: Exchange, order: Order, state: OrderState, toState: ToOrderState): Promise<OrderState>;
  /** The raw fees of a (partly) filled order, to be valued. */
  fillFees(exchange: Exchange, order: Order, state: OrderState): Promise<RawFee[]>;
  /** The account's trades on `symbol` as the cursor asks, in the venue's paging and windows. */
  myTrades(exchange: Exchange, symbol: string, cursor: TradeCursor, afterId: bigint | undefined): Promise<CcxtTrade[]>;
  /** Leverage caps per symbol from signed data; only where readsLeverageCaps. */
  readLeverageCaps(exchange: Exchange): Promise<Map<string, number>>;
  /** The futures income history (funding, realised PnL, commission); only where readsIncome. */
  readIncome(exchange: Exchange, query: IncomeQuery): Promise<IncomeRead>;
  /** What the key may do; never throws (an unreadable answer refuses). */
  auditKey(calls: VenueCalls): Promise<KeyAudit>;
  /** A futures account's setup (position mode, margin, asset mode, leverage). */
  preflightFutures(calls: VenueCalls): Promise<AccountPreflight>;
}

/** One trade-history answer (Binance's maximum; ccxt pages no further). */
export const TRADES_PAGE = 1000;

export function refusedAudit(reason: string): KeyAudit {
  return { verdict: 'refused', canWithdraw: null, canTransfer: null, ipRestricted: null, futuresEnabled: null, tradingExpiresAt: null, notes: [reason] };
}

/** A key check that failed: refused, in words that say whether the key or the check failed. */
export function auditFailure(exchangeId: string, error: unknown): KeyAudit {
  const translated = translateError(error, { exchangeId, action: 'auditing the key' });
  if (translated.kind === 'auth-failed') {
    return refusedAudit(`${exchangeId} rejected this key (wrong key or secret, key deleted, or this server's IP is not allowed): it was not accepted.`);
  }
  return refusedAudit(
    `The key's permissions could not be checked (${translated.kind}: ${translated.message}). It is not accepted for live trading until the check succeeds.`,
  );
}

/** The stored position mode against the exchange's: what to do when they differ. */
export function positionModeProblems(account: VenueAccount, actual: PositionMode): string[] {
  const stored = account.positionMode;
  if (stored === undefined || stored === actual) return [];
  const name = (mode: PositionMode): string => (mode === 'hedge' ? 'Hedge' : 'One-way');
  return [
    `${account.exchangeId} reports ${name(actual)} position mode, but this account was set up in ${name(stored)} mode. ` +
      `Orders would be rejected ("position side does not match", Binance -4061). Saving this check stores the new mode; ` +
      `or switch the exchange back to ${name(stored)} mode (Futures → Preferences → Position Mode).`,
  ];
}

/** Stop-loss and take-profit orders reduce the position they protect. */
export function reducesPosition(intent: OrderIntent): boolean {
  return intent.reduceOnly === true || intent.type === 'stop-loss' || intent.type === 'take-profit';
}
