/**
 * What a trader reads in a position's feed lines, from its legs (pure): a take-profit's fill (price
 * and quantity), and why a position closed in their words.
 */
import { indexOf, legsOf } from './legs';
import type { Leg } from './legs';

/** Target `index`'s fills: quantity and average price (null when nothing filled yet). */
export function targetFill(legs: readonly Pick<Leg, 'leg' | 'filledQuantity' | 'averagePrice' | 'price'>[], index: number): { quantity: number; price: number } | null {
  const filled = legsOf(legs, 'take-profit').filter((leg) => indexOf(leg) === index && leg.filledQuantity > 0);
  const quantity = filled.reduce((sum, leg) => sum + leg.filledQuantity, 0);
  if (quantity <= 0) return null;
  const value = filled.reduce((sum, leg) => sum + leg.filledQuantity * (leg.averagePrice ?? leg.price ?? 0), 0);
  return { quantity, price: value / quantity };
}

export type CloseCause = 'take-profit' | 'stop-loss' | 'break-even' | 'manual' | 'liquidation' | 'panic' | 'not-filled' | 'copy';

/**
 * The book's close reason in a trader's words: a stop that had been moved to the entry after a target
 * was reached is a break-even exit, not a loss-limiting stop. The bot moves a stop only that way, and
 * only up to the entry plus the fees (above the entry for a long, below for a short), where a
 * signal's own stop never is; a close outside the bot is manual.
 */
export function closeCause(
  reason: 'stop-loss' | 'take-profit' | 'external' | 'liquidation' | 'panic' | 'not-filled' | 'copy',
  position: { side: 'long' | 'short'; stopLoss: number | null; averageEntryPrice: number | null; takeProfitsHit: number },
): CloseCause {
  if (reason === 'external') return 'manual';
  if (reason !== 'stop-loss') return reason;
  const entry = position.averageEntryPrice;
  const stop = position.stopLoss;
  if (entry === null || stop === null || position.takeProfitsHit === 0) return 'stop-loss';
  // A hair of tolerance for the price step the stop was rounded to.
  const tolerance = Math.abs(entry) * 0.0005;
  const atOrPastEntry = position.side === 'long' ? stop >= entry - tolerance : stop <= entry + tolerance;
  return atOrPastEntry ? 'break-even' : 'stop-loss';
}
