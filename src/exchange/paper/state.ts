import type { MarginMode, OrderSide, OrderStatus, OrderType } from '../gateway';

/**
 * A paper account's simulated wallet, as stored (jsonb in `paper_state`). Plain JSON only, versioned,
 * so a restart (or another process) continues exactly where the last save left off.
 */
export interface PaperOrder {
  clientOrderId: string;
  exchangeOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  status: OrderStatus;
  quantity: number;
  filledQuantity: number;
  averagePrice: number | null;
  /** Limit price. */
  price: number | null;
  /** Stop-loss / take-profit trigger. */
  triggerPrice: number | null;
  reduceOnly: boolean;
  positionSide: 'long' | 'short' | null;
  fee: number;
  feeCurrency: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PaperTrade {
  id: string;
  orderId: string;
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  price: number;
  quantity: number;
  fee: number;
  feeCurrency: string;
  realizedPnl: number;
  maker: boolean;
  timestamp: number;
}

export interface PaperPosition {
  symbol: string;
  side: 'long' | 'short';
  quantity: number;
  entryPrice: number;
  leverage: number;
  marginMode: MarginMode;
}

export interface PaperState {
  version: 1;
  /** Settlement / quote currency of the account (USDT). */
  currency: string;
  /** Wallet per asset: spot holds every asset; futures holds the settlement currency only. */
  balances: Record<string, number>;
  positions: PaperPosition[];
  /** Open orders and the most recent finished ones. */
  orders: PaperOrder[];
  trades: PaperTrade[];
  leverage: Record<string, { leverage: number; marginMode: MarginMode }>;
  /** Next order / trade id: one counter, so ids increase. */
  nextId: number;
}

/** Loads and saves paper wallets; implemented over `paper_state` (src/db) and in memory (tests). */
export interface PaperStore {
  load(accountId: string): Promise<PaperState | null>;
  save(accountId: string, state: PaperState): Promise<void>;
}

export function initialPaperState(currency: string, startingBalance: number): PaperState {
  return { version: 1, currency, balances: { [currency]: startingBalance }, positions: [], orders: [], trades: [], leverage: {}, nextId: 1 };
}

/** For unit tests and the demo: wallets in a Map (copied, so callers cannot alias stored state). */
export class MemoryPaperStore implements PaperStore {
  private readonly states = new Map<string, string>();

  async load(accountId: string): Promise<PaperState | null> {
    const json = this.states.get(accountId);
    return json === undefined ? null : (JSON.parse(json) as PaperState);
  }

  async save(accountId: string, state: PaperState): Promise<void> {
    this.states.set(accountId, JSON.stringify(state));
  }
}
