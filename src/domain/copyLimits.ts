/**
 * A follower's own limits on a copy open or add (PURE). The follow link says how much to copy; the
 * follower's account says how much it may hold: the copied position never passes its max position,
 * its margin must be in the wallet, and every risk rule of a signal entry applies (pause, daily
 * trades, daily loss, the member's exposure cap, symbol lists, the signal's age measured from the
 * master's fill). Exits never come here: a follower always follows the master out.
 */
import type { Big } from 'big.js';
import type { AccountSettings } from './account';
import type { MarketRules } from './market';
import { dec, floorToStep, reportAmount, toNumber } from './precision';
import { skip, type PlanNote, type Skipped, type SkipReason } from './reasons';
import { checkRisk, type DailyFigures } from './risk';
import type { Side } from './signal';
import type { BalanceSnapshot } from './sizing';

export interface CopyOpenInput {
  /** The link's quantity (base units), before the market's rounding. */
  readonly requestedQty: number;
  /** The price the notional is valued at (the current price, or the master's fill price). */
  readonly price: number;
  readonly market: Pick<MarketRules, 'amountStep' | 'minAmount' | 'maxAmount' | 'minNotional' | 'contractSize' | 'base'>;
  readonly leverage: number;
  readonly account: Pick<
    AccountSettings,
    'marketType' | 'maxPositionUsd' | 'maxDailyTrades' | 'maxDailyLossPct' | 'symbolAllow' | 'symbolBlock'
  >;
  readonly side: Side;
  /** What copy trading already holds on this account, symbol and side (amount units). */
  readonly copiedQty: number;
  readonly balance: BalanceSnapshot | undefined;
  readonly maxBalanceAgeMs: number;
  readonly nowMs: number;
  readonly pausedUntilMs: number | null;
  readonly day: DailyFigures;
  /** The member's open notional in this base across their accounts (same mode), and their cap. */
  readonly exposure: { readonly currentUsd: number; readonly capUsd: number | null };
  /** When the master's fill happened (or the follower accepted it): the signal's age runs from here. */
  readonly signalTimeMs: number;
  readonly maxSignalLagMs: number;
}

export interface CopyOpenSized {
  readonly kind: 'sized';
  readonly qty: number;
  readonly notional: number;
  readonly margin: number;
  readonly notes: readonly PlanNote[];
}

/**
 * The quantity a copy open or add may have on this account, or why it may not go. Reasons come in a
 * stable order: the risk rules first (a stale fill says "too old", not "too small"), then the wallet,
 * then the max position, then the exchange minimums.
 */
export function limitCopyOpen(input: CopyOpenInput): CopyOpenSized | Skipped<SkipReason> {
  const { market, account } = input;
  const unitValue = dec(input.price).times(dec(market.contractSize));
  const sized = sizeWithin(input, unitValue);
  const newUsd = sized.kind === 'sized' ? sized.notional : 0;
  const risk = checkRisk({
    nowMs: input.nowMs,
    account,
    pausedUntilMs: input.pausedUntilMs,
    day: input.day,
    exposure: { currentUsd: input.exposure.currentUsd, newUsd, capUsd: input.exposure.capUsd },
    base: market.base,
    // A copy carries no stop of its own (the master's exits arrive as copies): no stop check.
    signal: { side: input.side, entryType: 'market', stopLoss: 0, timeMs: input.signalTimeMs },
    maxSignalLagMs: input.maxSignalLagMs,
    currentPrice: null,
  });
  if (risk.kind === 'skipped') return risk;
  return sized;
}

function sizeWithin(input: CopyOpenInput, unitValue: Big): CopyOpenSized | Skipped<SkipReason> {
  const { market, account, balance } = input;
  if (!(input.price > 0)) return skip('price-unavailable');
  if (!balance || !Number.isFinite(balance.asOf) || input.nowMs - balance.asOf > input.maxBalanceAgeMs) {
    return skip('balance-stale');
  }
  const notes: PlanNote[] = [];
  let qty = floorToStep(input.requestedQty, market.amountStep);
  if (market.maxAmount !== null && qty > market.maxAmount) {
    qty = floorToStep(market.maxAmount, market.amountStep);
    notes.push('capped-max-amount');
  }
  // The max position is margin: the copied position (what is held plus this add) may be worth at
  // most maxPositionUsd × leverage. What is left of it caps the add.
  const leverage = dec(input.leverage);
  const roomUsd = dec(account.maxPositionUsd).times(leverage).minus(dec(input.copiedQty).times(unitValue));
  const roomQty = roomUsd.gt(0) ? floorToStep(toNumber(roomUsd.div(unitValue)), market.amountStep) : 0;
  if (roomQty < qty) {
    if (!(roomQty > 0) || roomQty < market.minAmount || toNumber(dec(roomQty).times(unitValue)) < market.minNotional) {
      return skip('max-position-reached');
    }
    qty = roomQty;
    notes.push('capped-max-position');
  }
  if (!(qty > 0) || qty < market.minAmount) return skip('below-min-notional');
  const notional = dec(qty).times(unitValue);
  if (toNumber(notional) < market.minNotional) return skip('below-min-notional');
  const margin = notional.div(leverage);
  // A copy the wallet cannot pay is refused rather than shrunk: that is not the size that was asked.
  if (margin.gt(dec(Math.max(0, balance.available)))) return skip('insufficient-balance');
  return { kind: 'sized', qty, notional: reportAmount(notional), margin: reportAmount(margin), notes };
}
