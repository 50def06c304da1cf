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
 * The book's close reason in a trader's words: a stop that had been moved to the entry price is a
 * break-even exit, not a loss-limiting stop; a close outside the bot is manual (a liquidation is told
 * apart where the exchange says so).
 */
export function closeCause(
  reason: 'stop-loss' | 'take-profit' | 'external' | 'liquidation' | 'panic' | 'not-filled' | 'copy',
  position: { stopLoss: number | null; averageEntryPrice: number | null; takeProfitsHit: number },
): CloseCause {
  if (reason === 'external') return 'manual';
  if (reason !== 'stop-loss') return reason;
  const entry = position.averageEntryPrice;
  const atEntry = entry !== null && position.stopLoss !== null && Math.abs(position.stopLoss - entry) <= Math.abs(entry) * 0.002;
  return position.takeProfitsHit > 0 && atEntry ? 'break-even' : 'stop-loss';
}
