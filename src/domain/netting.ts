/**
 * A futures account holds ONE position per symbol on the exchange (per symbol and side in hedge
 * mode), and the bot's exits are reduce-only orders on it: a stop sized for one bot position would
 * also reduce another bot position stacked on the same exchange position, and an order the other way
 * on a one-way account would silently net the position out. So the bot keeps one position per
 * exchange position: a signal that would open a second one (the same side), or net against one (the
 * other side), while a bot or copied position, or an entry still working, is open there is refused
 * for that account with its reason. Hedge mode keeps the two sides apart.
 */
import type { SkipReason } from './reasons';
import type { Side } from './signal';

export interface OpenExposure {
  /** The exchange's unified symbol (`BTC/USDT:USDT`). */
  readonly symbol: string;
  readonly side: Side;
}

export function exposureConflict(
  symbol: string,
  side: Side,
  positionMode: 'one-way' | 'hedge' | null,
  open: readonly OpenExposure[],
): Extract<SkipReason, 'opposite-position-open' | 'position-open-on-symbol'> | null {
  const here = open.filter((exposure) => exposure.symbol === symbol);
  if (positionMode === 'hedge') return here.some((exposure) => exposure.side === side) ? 'position-open-on-symbol' : null;
  if (here.some((exposure) => exposure.side !== side)) return 'opposite-position-open';
  return here.length > 0 ? 'position-open-on-symbol' : null;
}
