import type { MarketType, TradingMode } from './account';
import type { CloseCause } from './lifecycle/feedFigures';
import type { ReasonCode } from './reasons';
import { isSignalSource, type SignalSource } from './signal';

/**
 * What the engine tells the channel feed, stored as outbox payloads and rendered into embeds by
 * pure renderers at post time. Amounts are present only when the owner opted in to sharing them;
 * balances never are.
 */

export type OrderOutcome = 'filled' | 'placed' | 'skipped' | 'failed' | 'not-placed' | 'dry-run' | 'cancelled';

/** Where a signal came from, for people: its source, its author, and a link to the caller's message. */
export interface SignalOrigin {
  source: SignalSource;
  authorId: string | null;
  /** The caller's message in the signal channel (channel signals only). */
  url: string | null;
}

/** How an account trades: with real money (live), on the exchange's test venue (demo) or simulated (paper). */
export type { TradingMode } from './account';
export type MarketKind = MarketType;

/** A signal row's origin (older rows and tests may lack the source fields: then none). */
export function signalOrigin(signal: {
  guildId?: string;
  source?: string;
  sourceRef?: string;
  authorId?: string | null;
  channelId?: string | null;
}): SignalOrigin | undefined {
  const { source } = signal;
  if (!isSignalSource(source)) return undefined;
  const url =
    source === 'channel' && signal.guildId && signal.channelId && signal.sourceRef && /^\d+$/.test(signal.sourceRef)
      ? `https://discord.com/channels/${signal.guildId}/${signal.channelId}/${signal.sourceRef}`
      : null;
  return { source, authorId: signal.authorId ?? null, url };
}

/** What an order line and a summary say of their signal: where it came from and, for a copy, what it did. */
export function signalTags(signal: Parameters<typeof signalOrigin>[0] & { copy?: unknown }): { origin?: SignalOrigin; copyAction?: CopyFeedAction } {
  const origin = signalOrigin(signal);
  const copyAction = copyActionOf(signal);
  return { ...(origin ? { origin } : {}), ...(copyAction ? { copyAction } : {}) };
}

/** An account's mode and market, when the caller knows them (events stored before had neither). */
function venueOf(account: { mode?: string; marketType?: string }): { mode?: TradingMode; marketType?: MarketKind } {
  const venue: { mode?: TradingMode; marketType?: MarketKind } = {};
  if (account.mode === 'live' || account.mode === 'demo' || account.mode === 'paper') venue.mode = account.mode;
  if (account.marketType === 'spot' || account.marketType === 'futures') venue.marketType = account.marketType;
  return venue;
}

/** A copy signal's action (src/domain/copy.ts): what the follower's order does to its position. */
export type CopyFeedAction = 'open' | 'add' | 'reduce' | 'close';

/** The action of a copy signal's instructions; undefined for any other signal. */
export function copyActionOf(signal: { source?: string; copy?: unknown }): CopyFeedAction | undefined {
  if (signal.source !== 'copy' || !signal.copy || typeof signal.copy !== 'object') return undefined;
  const action = (signal.copy as { action?: unknown }).action;
  return action === 'open' || action === 'add' || action === 'reduce' || action === 'close' ? action : undefined;
}

export interface OrderFeedEvent {
  type: 'order';
  /** Absent in events stored before these were added. */
  mode?: TradingMode;
  marketType?: MarketKind;
  origin?: SignalOrigin;
  /** A copy: what the follower's order did (a reduce or close is no new position). */
  copyAction?: CopyFeedAction;
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

type OrderEventSignal = {
  id: string;
  symbol: string;
  side: 'long' | 'short';
  entryType: 'market' | 'limit';
  stopLoss: number;
  takeProfits: number[];
  copy?: unknown;
} & Parameters<typeof signalOrigin>[0];
type OrderEventAccount = { id: string; name: string; ownerId: string; exchangeId: string; mode?: string; marketType?: string };

/** An order event as the signal asked it, before anything reached the exchange. */
export function signalOrderEvent(signal: OrderEventSignal, account: OrderEventAccount, outcome: OrderOutcome, reason: ReasonCode | null): OrderFeedEvent {
  const tags = signalTags(signal);
  return {
    type: 'order',
    ...venueOf(account),
    ...tags,
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
    // A copy's signal carries a distant stop that is never placed (its exits are copies): not shown.
    stopLoss: tags.copyAction ? null : signal.stopLoss,
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
  /** Absent in summaries stored before it was added. */
  origin?: SignalOrigin;
  /** A copy: what the followers' orders did. */
  copyAction?: CopyFeedAction;
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
  /** Absent in events stored before these were added. */
  mode?: TradingMode;
  marketType?: MarketKind;
  signalId?: string;
  /** Take-profit hit: the target's price; stop moved: the new stop; closed: the average exit price. */
  price?: number | null;
  /** Take-profit hit: the fill's average price. */
  fillPrice?: number | null;
  /** Take-profit hit: the quantity it closed (only when the owner shares amounts). */
  quantity?: number | null;
  /** Closed: why. */
  cause?: CloseCause | null;
  /** Closed: how long the position was open. */
  heldMs?: number | null;
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
  account: { id: string; name: string; ownerId: string; shareAmounts: boolean; mode?: string; marketType?: string },
  position: { symbol: string; side: 'long' | 'short' },
  kind: PositionEventKind,
  extra: Partial<
    Pick<PositionFeedEvent, 'target' | 'returnPct' | 'pnl' | 'reason' | 'signalId' | 'price' | 'fillPrice' | 'quantity' | 'cause' | 'heldMs'>
  > = {},
): PositionFeedEvent {
  const { quantity, target, returnPct, pnl, reason, ...details } = extra;
  return {
    type: 'position',
    kind,
    ...venueOf(account),
    ...details,
    ...(quantity !== undefined ? { quantity: account.shareAmounts ? quantity : null } : {}),
    accountId: account.id,
    accountName: account.name,
    ownerId: account.ownerId,
    symbol: position.symbol,
    side: position.side,
    target: target ?? null,
    returnPct: returnPct ?? null,
    pnl: account.shareAmounts ? (pnl ?? null) : null,
    reason: reason ?? null,
  };
}
