/**
 * Position sizing for one account: a margin from the sizing mode, capped by the account's max position
 * (which is margin, in USD), times leverage → notional → quantity in the market's amount unit, floored
 * to the amount step, then held against the exchange minimum by the account's min-notional policy.
 * All arithmetic is decimal, so `qty × price × contractSize ≤ maxPositionUsd × leverage` holds exactly.
 */
import type { Big } from 'big.js';
import type { AccountSettings, SizingMode } from './account';
import { DEFAULT_KELLY, kellyShare, type KellyParams } from './kelly';
import type { MarketRules } from './market';
import { ceilToStep, dec, floorToStep, reportAmount, toNumber } from './precision';
import { skip, type PlanNote, type Skipped } from './reasons';

/** A balance as the cycle's sync last read it (quote/settle asset of the market). */
export interface BalanceSnapshot {
  readonly asset: string;
  /** Free to open new positions. */
  readonly available: number;
  /** Wallet balance plus unrealised PnL. */
  readonly equity: number;
  /** When it was read, epoch ms. */
  readonly asOf: number;
}

export type SizingAccount = Pick<
  AccountSettings,
  'sizingMode' | 'sizingValue' | 'riskPerTradePct' | 'maxPositionUsd' | 'minNotionalPolicy'
>;
export type SizingMarket = Pick<
  MarketRules,
  'amountStep' | 'minAmount' | 'maxAmount' | 'minNotional' | 'contractSize'
>;

export interface SizingInput {
  readonly account: SizingAccount;
  readonly market: SizingMarket;
  /** Effective leverage (1 on spot). */
  readonly leverage: number;
  /** Price the quantity is computed at: the current price for a market entry, the mean limit entry otherwise. */
  readonly price: number;
  /** Used by risk mode: the loss at this stop is the risked amount. */
  readonly stopLoss: number;
  readonly balance: BalanceSnapshot | null | undefined;
  readonly nowMs: number;
  /** Older balances are not trusted: sizing on a stale balance could commit money that is gone. */
  readonly maxBalanceAgeMs: number;
  /** Kelly mode: realised PnL of the account's closed trades, oldest first. */
  readonly closedTradePnls?: readonly number[];
  readonly kelly?: KellyParams;
}

export interface Sized {
  readonly kind: 'sized';
  /** In the market's amount unit (contracts of `contractSize` base units on swaps; base units on spot). */
  readonly qty: number;
  /** qty × price × contractSize, in the quote currency. */
  readonly notional: number;
  /** notional / leverage: what the position ties up. */
  readonly margin: number;
  readonly leverage: number;
  readonly price: number;
  /** The mode actually used (kelly falls back to fixed on too few trades). */
  readonly mode: SizingMode;
  readonly cappedByMaxPosition: boolean;
  readonly cappedByMaxAmount: boolean;
  readonly raisedToMinimum: boolean;
  /** Risk and Kelly modes: the loss at the stop the size was computed for (quote); null otherwise. */
  readonly riskAtStop: number | null;
  readonly notes: readonly PlanNote[];
}

export type SizingSkipReason =
  'balance-stale' | 'insufficient-balance' | 'below-min-notional' | 'kelly-no-edge' | 'price-unavailable';

export type Sizing = Sized | Skipped<SizingSkipReason>;

const isPositive = (n: number) => Number.isFinite(n) && n > 0;

export function sizePosition(input: SizingInput): Sizing {
  const { account, market, balance } = input;
  if (!isPositive(input.price)) return skip('price-unavailable');
  if (!isPositive(input.leverage)) throw new RangeError(`leverage must be positive: ${input.leverage}`);
  if (!balance || !Number.isFinite(balance.asOf) || input.nowMs - balance.asOf > input.maxBalanceAgeMs) {
    return skip('balance-stale');
  }
  if (!isPositive(balance.available)) return skip('insufficient-balance');

  const notes: PlanNote[] = [];
  const available = dec(balance.available);
  const leverage = dec(input.leverage);
  const price = dec(input.price);
  const unitValue = price.times(dec(market.contractSize)); // quote value of one amount unit

  // 1. Margin by mode.
  let mode: SizingMode = account.sizingMode;
  let margin: Big;
  /** Risk and Kelly modes: the most the position may lose at the stop (quote). */
  let riskAtStop: Big | null = null;
  switch (account.sizingMode) {
    case 'fixed':
      margin = dec(account.sizingValue);
      break;
    case 'percent':
      margin = available.times(dec(account.sizingValue)).div(100);
      break;
    case 'risk': {
      if (!isPositive(balance.equity)) return skip('insufficient-balance');
      riskAtStop = dec(balance.equity).times(dec(account.riskPerTradePct)).div(100);
      margin = marginRiskingAtStop(riskAtStop, price, dec(input.stopLoss), leverage, account.maxPositionUsd);
      break;
    }
    case 'kelly': {
      const kelly = kellyShare(input.closedTradePnls ?? [], input.kelly ?? DEFAULT_KELLY);
      if (kelly.kind === 'no-edge') return skip('kelly-no-edge');
      if (kelly.kind === 'too-few-trades') {
        mode = 'fixed';
        notes.push('kelly-fallback-fixed');
        margin = dec(account.sizingValue);
      } else {
        // Kelly's fraction is the share of equity lost if the stop is hit (the bet is what the stop
        // can take), so it sizes like risk mode: never as margin, which leverage would multiply.
        if (!isPositive(balance.equity)) return skip('insufficient-balance');
        riskAtStop = dec(balance.equity).times(dec(kelly.share));
        margin = marginRiskingAtStop(riskAtStop, price, dec(input.stopLoss), leverage, account.maxPositionUsd);
      }
      break;
    }
  }

  // 2. Max position (margin) and what the wallet holds.
  const maxMargin = dec(account.maxPositionUsd);
  const cappedByMaxPosition = margin.gt(maxMargin);
  if (cappedByMaxPosition) {
    margin = maxMargin;
    notes.push('capped-max-position');
  }
  if (margin.gt(available)) {
    // Risk and Kelly sizes are a loss at the stop: less margin than that only risks less, so they
    // take what is available; a fixed or percent size the wallet cannot pay is not what was asked.
    if (riskAtStop === null) return skip('insufficient-balance');
    margin = available;
    notes.push('capped-available');
  }

  // 3. Margin → notional → quantity, within the market's maximum, floored to the step.
  let rawQty = margin.times(leverage).div(unitValue);
  const cappedByMaxAmount = market.maxAmount !== null && rawQty.gt(dec(market.maxAmount));
  if (cappedByMaxAmount && market.maxAmount !== null) {
    rawQty = dec(market.maxAmount);
    notes.push('capped-max-amount');
  }
  let qty = dec(floorToStep(rawQty, market.amountStep));

  // 4. The exchange minimum: skip, or raise when the minimum still fits the account's limits.
  let raisedToMinimum = false;
  if (!meetsMinimum(qty, unitValue, market)) {
    if (account.minNotionalPolicy === 'skip') return skip('below-min-notional');
    const raised = minimumQuantity(unitValue, market);
    const raisedMargin = raised.times(unitValue).div(leverage);
    const fits =
      raisedMargin.lte(maxMargin) &&
      raisedMargin.lte(available) &&
      (market.maxAmount === null || raised.lte(dec(market.maxAmount)));
    if (!fits) return skip('below-min-notional');
    qty = raised;
    raisedToMinimum = true;
    notes.push('raised-to-minimum');
  }

  const notional = qty.times(unitValue);
  return {
    kind: 'sized',
    qty: toNumber(qty),
    notional: reportAmount(notional),
    margin: reportAmount(notional.div(leverage)),
    leverage: input.leverage,
    price: input.price,
    mode,
    cappedByMaxPosition,
    cappedByMaxAmount,
    raisedToMinimum,
    riskAtStop: riskAtStop === null ? null : reportAmount(riskAtStop),
    notes,
  };
}

/**
 * Margin whose position loses `risk` if the stop is hit: qty = risk / |entry − stop|. A zero
 * distance would mean an unbounded size; the max position bounds it.
 */
function marginRiskingAtStop(risk: Big, price: Big, stopLoss: Big, leverage: Big, maxPositionUsd: number): Big {
  const distance = price.minus(stopLoss).abs();
  return distance.eq(0) ? dec(maxPositionUsd) : risk.div(distance).times(price).div(leverage);
}

/** A quantity the exchange accepts: at least one step, the minimum amount and the minimum notional. */
export function meetsMinimum(
  qty: Big,
  unitValue: Big,
  market: Pick<MarketRules, 'minAmount' | 'minNotional'>,
): boolean {
  return qty.gt(0) && qty.gte(dec(market.minAmount)) && qty.times(unitValue).gte(dec(market.minNotional));
}

/** The smallest stepped quantity that meets the minimum amount and notional at this unit value. */
export function minimumQuantity(unitValue: Big, market: SizingMarket): Big {
  const step = dec(market.amountStep);
  let qty = dec(ceilToStep(dec(market.minNotional).div(unitValue), market.amountStep));
  const byAmount = dec(ceilToStep(market.minAmount, market.amountStep));
  if (byAmount.gt(qty)) qty = byAmount;
  if (qty.lt(step)) qty = step;
  // The quotient above is truncated; one more step covers a remainder it dropped.
  if (qty.times(unitValue).lt(dec(market.minNotional))) qty = qty.plus(step);
  return qty;
}
