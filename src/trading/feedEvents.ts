import type { ReasonCode } from '../domain/reasons';

/**
 * What the engine tells the channel feed, stored as outbox payloads and rendered into embeds by
 * pure renderers at post time. Amounts are present only when the owner opted in to sharing them;
 * balances never are.
 */

export type OrderOutcome = 'filled' | 'placed' | 'skipped' | 'failed' | 'not-placed' | 'dry-run' | 'cancelled';

export interface OrderFeedEvent {
  type: 'order';
  signalId: string;
  accountId: string;
  accountName: string;
  ownerId: string;
  exchangeId: string;
  symbol: string;
  side: 'long' | 'short';
  outcome: OrderOutcome;
  reason: ReasonCode | null;
  entryType: 'market' | 'limit';
  /** Fill price, or the limit price(s) for resting entries. */
  price: number | null;
  leverage: number | null;
  leverageCapped: boolean;
  stopLoss: number | null;
  takeProfits: number[];
  /** Only when the owner shares amounts. */
  quantity: number | null;
  notional: number | null;
}

type OrderEventSignal = { id: string; symbol: string; side: 'long' | 'short'; entryType: 'market' | 'limit'; stopLoss: number; takeProfits: number[] };
type OrderEventAccount = { id: string; name: string; ownerId: string; exchangeId: string };

/** An order event as the signal asked it, before anything reached the exchange. */
export function signalOrderEvent(signal: OrderEventSignal, account: OrderEventAccount, outcome: OrderOutcome, reason: ReasonCode | null): OrderFeedEvent {
  return {
    type: 'order',
    signalId: signal.id,
    accountId: account.id,
    accountName: account.name,
    ownerId: account.ownerId,
    exchangeId: account.exchangeId,
    symbol: signal.symbol,
    side: signal.side,
    outcome,
    reason,
    entryType: signal.entryType,
    price: null,
    leverage: null,
    leverageCapped: false,
    stopLoss: signal.stopLoss,
    takeProfits: signal.takeProfits,
    quantity: null,
    notional: null,
  };
}

/** The order event of an account that never reached the exchange for this signal (skipped). */
export function skippedOrderEvent(signal: OrderEventSignal, account: OrderEventAccount, reason: ReasonCode): OrderFeedEvent {
  return signalOrderEvent(signal, account, 'skipped', reason);
}

export interface SummaryAccountLine {
  accountName: string;
  ownerId: string;
  reason: ReasonCode | null;
}

export interface SummaryFeedEvent {
  type: 'summary';
  signalId: string;
  symbol: string;
  side: 'long' | 'short';
  source: string;
  total: number;
  filled: number;
  placed: number;
  pending: number;
  skipped: SummaryAccountLine[];
  failed: SummaryAccountLine[];
  /** Sum over accounts that share amounts. */
  sharedNotional: number;
  /** True when this summary replaces one posted before every outcome was known. */
  final: boolean;
}

export type PositionEventKind =
  | 'take-profit-hit'
  | 'stop-moved-to-break-even'
  | 'position-closed'
  | 'closed-externally'
  | 'stop-failed'
  | 'account-paused'
  | 'account-disabled';

export interface PositionFeedEvent {
  type: 'position';
  kind: PositionEventKind;
  accountId: string;
  accountName: string;
  ownerId: string;
  symbol: string;
  side: 'long' | 'short';
  /** Take-profit number (1-based) for take-profit-hit. */
  target: number | null;
  /** Return on margin in percent, for closes. */
  returnPct: number | null;
  /** Realised PnL in the settle currency: only when the owner shares amounts. */
  pnl: number | null;
  reason: ReasonCode | null;
}

/** A direct message to an account's owner (paused, disabled, key revoked, external close). */
export interface NoticeEvent {
  type: 'notice';
  kind:
    | 'account-paused'
    | 'account-disabled'
    | 'closed-externally'
    | 'stop-failed'
    | 'exit-refused'
    | 'master-ended'
    | 'copy-ended'
    | 'key-expiring';
  accountName: string;
  reason: ReasonCode | null;
  detail: string | null;
}

export type FeedEvent = OrderFeedEvent | SummaryFeedEvent | PositionFeedEvent | NoticeEvent;

/** A position's feed event; the amount only when the owner shares amounts. */
export function positionFeedEvent(
  account: { id: string; name: string; ownerId: string; shareAmounts: boolean },
  position: { symbol: string; side: 'long' | 'short' },
  kind: PositionEventKind,
  extra: Partial<Pick<PositionFeedEvent, 'target' | 'returnPct' | 'pnl' | 'reason'>> = {},
): PositionFeedEvent {
  return {
    type: 'position',
    kind,
    accountId: account.id,
    accountName: account.name,
    ownerId: account.ownerId,
    symbol: position.symbol,
    side: position.side,
    target: extra.target ?? null,
    returnPct: extra.returnPct ?? null,
    pnl: account.shareAmounts ? (extra.pnl ?? null) : null,
    reason: extra.reason ?? null,
  };
}
