/**
 * The bot's stored records as trading and the services see them: a member's exchange account, a
 * queued signal, its executions and their orders, the positions they opened, a member. src/db maps
 * its rows to these (src/db/conforms.ts checks, at compile time, that each table's rows are exactly
 * these), so nothing above src/db names a database row. Enumerations are written here once and used
 * by the schema.
 */
import type { MarginMode, MarketType, MinNotionalPolicy, SizingMode, StoredKeyAudit, TradingMode } from './account';
import type { CopyInstructions } from './copy';
import type { FeeCharge } from './fees';
import type { Side, SignalSource, TradeSignal } from './signal';

export const SIGNAL_STATUSES = ['pending', 'executing', 'done', 'cancelled'] as const;
export const EXECUTION_STATUSES = ['pending', 'in-flight', 'placed', 'skipped', 'failed', 'not-placed', 'dry-run', 'cancelled'] as const;
/** An order's life: written as an intent before it is sent (the order-safety protocol), then what the exchange says. */
export const ORDER_STATUSES = ['intent', 'unknown', 'open', 'partially-filled', 'filled', 'cancelled', 'rejected', 'not-placed', 'expired'] as const;
export const ORDER_TYPES = ['market', 'limit', 'stop-loss', 'take-profit'] as const;
export const ORDER_SIDES = ['buy', 'sell'] as const;
export const POSITION_STATUSES = ['open', 'closed'] as const;
/** 'copy': a copied position closed by following its master out. */
export const CLOSE_REASONS = ['stop-loss', 'take-profit', 'external', 'liquidation', 'panic', 'not-filled', 'copy'] as const;
export const POSITION_MODES = ['one-way', 'hedge'] as const;
/** Where an account came from: added in Discord, or imported from the operator's environment. */
export const ACCOUNT_SOURCES = ['discord', 'env'] as const;

export type SignalStatus = (typeof SIGNAL_STATUSES)[number];
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export type StoredOrderStatus = (typeof ORDER_STATUSES)[number];
export type StoredOrderType = (typeof ORDER_TYPES)[number];
export type PositionStatus = (typeof POSITION_STATUSES)[number];
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** A member (a Discord user who added an account). */
export interface Member {
  discordId: string;
  /** Member-wide cap on exposure (notional USD) per symbol across all their accounts; null = off. */
  exposureCapUsd: number | null;
  createdAt: Date;
}

/** A member's exchange account in one server, with its settings; keys only as ciphertext. */
export interface Account {
  id: string;
  ownerId: string;
  guildId: string;
  name: string;
  exchangeId: string;
  marketType: MarketType;
  mode: TradingMode;
  enabled: boolean;
  verified: boolean;
  verifiedAt: Date | null;
  source: (typeof ACCOUNT_SOURCES)[number];
  sizingMode: SizingMode;
  sizingValue: number;
  maxPositionUsd: number;
  leverage: number;
  maxDailyTrades: number;
  riskPerTradePct: number;
  maxDailyLossPct: number;
  stopOnLoss: boolean;
  minNotionalPolicy: MinNotionalPolicy;
  symbolAllow: string[];
  symbolBlock: string[];
  shareAmounts: boolean;
  strategyOptIn: boolean;
  takeProfitSplit: number[] | null;
  breakEvenAfterTp1: boolean;
  withdrawalsConfirmedOff: boolean;
  /** Ciphertexts (src/vault): decrypted only by the gateway factory. */
  apiKeyEnc: string | null;
  secretEnc: string | null;
  passphraseEnc: string | null;
  vaultKeyId: number | null;
  apiKeyHint: string | null;
  audit: Partial<StoredKeyAudit> | null;
  auditedAt: Date | null;
  tradingExpiresAt: Date | null;
  expiryNotices: number;
  positionMode: (typeof POSITION_MODES)[number] | null;
  marginMode: MarginMode | null;
  exchangeMaxLeverage: number | null;
  pausedUntil: Date | null;
  disabledReason: string | null;
  lastBalanceUsd: number | null;
  lastEquityUsd: number | null;
  balanceAt: Date | null;
  fundingReadUntil: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A queued signal: the trade (validated at intake), where it came from, and how far it is. */
export interface Signal extends TradeSignal {
  id: string;
  guildId: string;
  source: SignalSource;
  sourceRef: string;
  authorId: string | null;
  channelId: string | null;
  copy: CopyInstructions | null;
  status: SignalStatus;
  claimedBy: string | null;
  claimedAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
}

/** One signal on one account. */
export interface Execution {
  id: string;
  signalId: string;
  accountId: string;
  ownerId: string;
  status: ExecutionStatus;
  reason: string | null;
  symbol: string | null;
  leverage: number | null;
  leverageCapped: boolean;
  quantity: number | null;
  notional: number | null;
  margin: number | null;
  notes: string[];
  tradeDay: string | null;
  claimedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One order of an execution (an entry leg, the stop, a target), from intent to its outcome. */
export interface Order {
  id: string;
  executionId: string;
  signalId: string;
  accountId: string;
  ownerId: string;
  positionId: string | null;
  leg: string;
  clientOrderId: string;
  exchangeOrderId: string | null;
  fillOrderId: string | null;
  symbol: string;
  side: (typeof ORDER_SIDES)[number];
  type: StoredOrderType;
  reduceOnly: boolean;
  quantity: number;
  price: number | null;
  triggerPrice: number | null;
  status: StoredOrderStatus;
  filledQuantity: number;
  averagePrice: number | null;
  fees: readonly FeeCharge[];
  feesUnvalued: boolean;
  feesRetryAt: Date | null;
  reason: string | null;
  /** Exchange time (ms) the order was last sent at; null: never sent. */
  sentAt: number | null;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A position an execution opened, followed to its close. */
export interface Position {
  id: string;
  accountId: string;
  ownerId: string;
  signalId: string;
  symbol: string;
  side: Side;
  status: PositionStatus;
  leverage: number;
  quantity: number;
  entryQuantity: number;
  averageEntryPrice: number | null;
  exitQuantity: number;
  averageExitPrice: number | null;
  stopLoss: number | null;
  takeProfits: number[];
  takeProfitsHit: number;
  stopVersion: number;
  realizedPnl: number;
  fees: number;
  funding: number;
  closeReason: CloseReason | null;
  openedAt: Date;
  closedAt: Date | null;
  updatedAt: Date;
}
