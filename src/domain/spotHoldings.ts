/**
 * Spot positions sold outside the bot. A spot position has no exchange-side record: what the bot
 * holds is only visible as the coin's balance (free + locked in our own resting sells). When that
 * balance no longer covers what the bot's positions in the coin hold, the member sold some by hand.
 */
import { dec } from './precision';

export interface HeldPosition {
  readonly id: string;
  /** What the position still holds (fills net of base-asset fees, minus exits). */
  readonly held: number;
  /** Shortfall tolerated (one amount step: fee rounding is not a sale). */
  readonly tolerance: number;
}

/**
 * Ids of the positions the coin's balance no longer covers. `positions` oldest first: the oldest keep
 * the coin first, so a sale shows on the newest ones. A balance above what the positions hold (the
 * member owns more of the coin) never closes anything; a position holding no more than its tolerance
 * (dust) is not judged.
 */
export function positionsSoldOutside(positions: readonly HeldPosition[], balance: number): string[] {
  let available = dec(Math.max(0, balance));
  const sold: string[] = [];
  for (const position of positions) {
    const held = dec(position.held);
    if (held.lte(dec(position.tolerance))) continue;
    if (available.plus(dec(position.tolerance)).gte(held)) {
      available = available.gt(held) ? available.minus(held) : dec(0);
    } else {
      sold.push(position.id);
      // The coin that is left is short of this position: none of it belongs to a newer one.
      available = dec(0);
    }
  }
  return sold;
}
