/**
 * The position lifecycle's inputs and decisions. `decidePosition` (decide.ts) is a pure function
 * from a case (the position, its legs, a price, the exchange's position, time and settings) to the
 * steps that bring the exchange and the book to what they should be; a thin executor applies them
 * through the order protocol and asks again with what came back, until nothing is left to do.
 */
import type { MarketRules } from '../market';
import type { Side } from '../signal';
import type { Leg, LegOrderType } from './legs';
import type { RetryPolicy } from './refusals';

export interface PositionView {
  readonly id: string;
  readonly symbol: string;
  readonly side: Side;
  readonly status: 'open' | 'closed';
  /** Held now, as last recorded. */
  readonly quantity: number;
  /** The entry quantity the exits were last sized for. */
  readonly entryQuantity: number;
  readonly exitQuantity: number;
  readonly averageEntryPrice: number | null;
  /** The stop in force (moved to break-even after the first target). */
  readonly stopLoss: number | null;
  readonly takeProfits: readonly number[];
  readonly takeProfitsHit: number;
  readonly stopVersion: number;
  readonly leverage: number;
  /** A /panic closes it: a close the lifecycle sees through is booked as the panic's. */
  readonly panicked: boolean;
}

export interface LifecycleSettings {
  readonly futures: boolean;
  readonly breakEvenAfterTp1: boolean;
  readonly takeProfitWeights: readonly number[] | null;
  /** Entries not filled after this long are cancelled. */
  readonly entryTtlMs: number;
  readonly retry: RetryPolicy;
  /**
   * How long a position with no resting stop waits for a stop (or a futures close) whose answer was
   * lost before another version is placed beside it (a lost stop that exists after all is then
   * cancelled; a second reduce-only close cannot take more than is held).
   */
  readonly lostExitGraceMs: number;
}

export interface LifecycleCase {
  readonly now: number;
  /**
   * The exchange's clock as estimated here: send stamps (`Leg.sentAt`) are on it, so the waits
   * counted from them (a lost exit's grace, a refused one's retry) are too. A host clock a minute
   * behind the exchange's would otherwise add that minute to every such wait.
   */
  readonly exchangeNow: number;
  readonly signal: {
    readonly side: Side;
    readonly stopLoss: number;
    readonly takeProfits: readonly number[];
    readonly createdAt: number;
    /** Withdrawn by its caller: entries still resting are cancelled (what filled is followed). */
    readonly withdrawn: boolean;
  };
  readonly position: PositionView | null;
  /** Every leg of the execution, as just synced with the exchange. */
  readonly legs: readonly Leg[];
  /** null when the market's rules are unknown (nothing is placed then). */
  readonly market: MarketRules | null;
  /** Last traded price; null when unknown or not read (see `needsPrice`). */
  readonly lastPrice: number | null;
  /** Futures: quantity the exchange holds in this symbol and side; null when unknown (or spot). */
  readonly exchangeQuantity: number | null;
  /**
   * Live conditional orders of this account on the symbol from other executions (Binance allows 10
   * per symbol, -4045): this one plans its exits within what is left.
   */
  readonly otherConditionalOrders: number;
  /** Conditional orders the exchange allows per symbol and account; null: no such limit. */
  readonly maxConditionalOrders: number | null;
  readonly settings: LifecycleSettings;
}

/** Fields of an order to place (symbol, side and reduce-only follow from the position). */
export interface OrderFields {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly type: LegOrderType;
  readonly quantity: number;
  readonly price: number | null;
  readonly triggerPrice: number | null;
  readonly reduceOnly: boolean;
}

/**
 * 'room-for-stop': a take-profit cancelled so that a position without a resting stop gets one within
 * the exchange's conditional-order cap (its leg keeps that reason; it comes back once there is room).
 */
export type CancelWhy =
  'entry-lapsed' | 'superseded' | 'closing' | 'leftover' | 'make-room' | 'room-for-stop';
export type PlaceWhy = 'stop' | 'stop-replaced' | 'stop-resized' | 'break-even' | 'target' | 'target-resized';
export type MarketCloseWhy = 'spot-stop' | 'stop-refused' | 'break-even-passed';

export type Step =
  /** Entries filled with no position recorded yet: record it (its exits follow). */
  | {
      readonly kind: 'open-position';
      readonly symbol: string;
      readonly quantity: number;
      readonly averageEntryPrice: number | null;
      readonly stopLoss: number;
      readonly takeProfits: readonly number[];
    }
  | { readonly kind: 'cancel'; readonly legs: readonly Leg[]; readonly why: CancelWhy }
  | { readonly kind: 'place'; readonly leg: string; readonly order: OrderFields; readonly why: PlaceWhy }
  /** Send a refused leg again under its own id (nothing of it is on the exchange). */
  | { readonly kind: 'retry'; readonly leg: Leg }
  /** Sell (buy back) what is held at market as leg `leg`; the quantity is taken from the legs when applied. */
  | { readonly kind: 'market-close'; readonly leg: string; readonly why: MarketCloseWhy }
  /**
   * Figures of the position from its legs (held, exited, average entry as more entries fill);
   * `newHits`: targets reached since last recorded (feed).
   */
  | {
      readonly kind: 'record-progress';
      readonly quantity: number;
      readonly exitQuantity: number;
      readonly averageEntryPrice: number | null;
      readonly hits: number;
      readonly newHits: readonly number[];
    }
  /** The exits are sized for this entry quantity now. */
  | { readonly kind: 'resized'; readonly entryQuantity: number }
  /** The stop in force changed (a new stop leg rests; on spot the watched level moved). */
  | {
      readonly kind: 'stop-moved';
      readonly stopLoss: number;
      readonly stopVersion: number;
      readonly breakEven: boolean;
    }
  /** 'panic': a /panic's close that the lifecycle saw through (PositionView.panicked). */
  | { readonly kind: 'book-close'; readonly reason: 'stop-loss' | 'take-profit' | 'panic' }
  /** Gone from the exchange while the book still holds some: closed outside the bot. */
  | { readonly kind: 'close-externally' };
