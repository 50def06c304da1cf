/** An exchange account's trading settings, as the pure domain sees them. Ranges live in ./limits. */
/** Each enum's values, written once: the schema, the configuration and the services use these. */
export const MARKET_TYPES = ['spot', 'futures'] as const;
export const TRADING_MODES = ['live', 'demo', 'paper'] as const;
export const SIZING_MODES = ['fixed', 'percent', 'risk', 'kelly'] as const;
export type MarketType = (typeof MARKET_TYPES)[number];
export type TradingMode = (typeof TRADING_MODES)[number];
export type SizingMode = (typeof SIZING_MODES)[number];
export const MIN_NOTIONAL_POLICIES = ['skip', 'raise'] as const;
export type MinNotionalPolicy = (typeof MIN_NOTIONAL_POLICIES)[number];
export const MARGIN_MODES = ['isolated', 'cross'] as const;
export type MarginMode = (typeof MARGIN_MODES)[number];

export interface AccountSettings {
  marketType: MarketType;
  sizingMode: SizingMode;
  /** fixed: USD of margin; percent: % of available balance; risk and kelly: unused (fallback amount). */
  sizingValue: number;
  /** Risk mode: % of equity lost if the stop is hit (0.1–10). */
  riskPerTradePct: number;
  /** Cap on the margin of one position, in USD (10–100000). */
  maxPositionUsd: number;
  /** The account's maximum leverage (1–125); also the default when a signal names none. */
  leverage: number;
  maxDailyTrades: number;
  /** Realised loss of the UTC day, % of the day's starting equity, that stops new entries (1–20). */
  maxDailyLossPct: number;
  stopOnLoss: boolean;
  minNotionalPolicy: MinNotionalPolicy;
  /** Upper-case base assets (e.g. `BTC`); empty allow list means all. */
  symbolAllow: string[];
  symbolBlock: string[];
}

/**
 * Whose and where: a member's own accounts in one server. Every personal lookup is scoped by both,
 * so a member cannot manage an account of theirs in server X from server Y.
 */
export interface MemberScope {
  readonly ownerId: string;
  readonly guildId: string;
}

/** What an account keeps of its key's last permission audit (no secrets); rows written before a field existed lack it. */
export interface StoredKeyAudit {
  verdict: 'ok' | 'refused' | 'unknown';
  canWithdraw: boolean | null;
  canTransfer: boolean | null;
  ipRestricted: boolean | null;
  futuresEnabled: boolean | null;
  notes: string[];
}
