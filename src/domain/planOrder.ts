/**
 * One account's order plan for one signal: resolve the market → leverage → size → risk checks →
 * entry, stop-loss and take-profit legs with prices on the price step and deterministic client order
 * ids. Pure: everything the engine knows (balances, prices, today's figures, exposure) comes in.
 *
 * Exits are planned for the full quantity; the engine places them when an entry fills (at once for a
 * market entry) and resizes them with splitTakeProfits as further entries fill.
 */
import type { AccountSettings, SizingMode } from './account';
import { clientOrderId, entryLeg, stopLeg, takeProfitLeg, type LegId } from './clientOrderId';
import { splitEntries, type EntryBounds } from './entries';
import type { KellyParams } from './kelly';
import { effectiveLeverage } from './leverage';
import type { MarketRules } from './market';
import { dec, reportAmount, roundToStep, toNumber } from './precision';
import { skip, type PlanNote, type Skipped, type SkipReason } from './reasons';
import { checkRisk, type DailyFigures } from './risk';
import type { Side, TradeSignal } from './signal';
import { sizePosition, type BalanceSnapshot } from './sizing';
import { isStable, resolveSymbol, type MarketLookup } from './symbols';
import { splitTakeProfits } from './takeProfits';

export interface PlanAccountOrderInput {
  readonly signalId: string;
  readonly accountId: string;
  readonly signal: TradeSignal;
  /** When the signal was published, epoch ms. */
  readonly signalTimeMs: number;
  readonly nowMs: number;
  readonly account: AccountSettings;
  /** The account's exchange markets by unified symbol (a Map fits). */
  readonly markets: MarketLookup;
  /** Balances from the cycle's sync, by asset (the resolved market's quote is used). */
  readonly balances: { get(asset: string): BalanceSnapshot | undefined };
  readonly maxBalanceAgeMs: number;
  /** Last prices by unified symbol; needed for market entries. */
  readonly prices: { get(symbol: string): number | undefined };
  /** Today's (UTC) figures for this account. */
  readonly day: DailyFigures;
  readonly pausedUntilMs: number | null;
  /** Member-wide open notional (USD) in this signal's base across all their accounts, and their cap. */
  readonly exposure: { readonly currentUsd: number; readonly capUsd: number | null };
  readonly maxSignalLagMs: number;
  /** Kelly mode: closed-trade PnLs, oldest first. */
  readonly closedTradePnls?: readonly number[];
  readonly kelly?: KellyParams;
  /** The account's take-profit split; null or absent = equal parts. */
  readonly takeProfitWeights?: readonly number[] | null;
}

export type LegRole = 'entry' | 'stop-loss' | 'take-profit';

export interface PlannedLeg {
  readonly leg: LegId;
  readonly clientOrderId: string;
  readonly role: LegRole;
  /** As stored in `orders.type`. */
  readonly type: 'market' | 'limit' | 'stop-loss' | 'take-profit';
  readonly side: 'buy' | 'sell';
  readonly qty: number;
  /** Limit price (entries and take-profits), on the price step; null for market orders and the stop. */
  readonly price: number | null;
  /** Stop trigger, on the price step; null otherwise. */
  readonly triggerPrice: number | null;
  /** Exits on futures only: spot has no reduce-only (the engine watches the spot stop, see README). */
  readonly reduceOnly: boolean;
}

export interface AccountOrderPlan {
  readonly kind: 'planned';
  readonly symbol: string;
  readonly market: MarketRules;
  readonly side: Side;
  readonly leverage: number;
  readonly leverageRequested: number;
  readonly leverageCapped: boolean;
  readonly sizingMode: SizingMode;
  readonly qty: number;
  readonly notional: number;
  readonly margin: number;
  /** The price the size was computed at (current price, or the mean limit entry). */
  readonly referencePrice: number;
  readonly stopLoss: number;
  readonly takeProfits: readonly number[];
  readonly legs: readonly PlannedLeg[];
  readonly notes: readonly PlanNote[];
}

export type AccountOrderOutcome = AccountOrderPlan | Skipped<SkipReason>;

export function planAccountOrder(input: PlanAccountOrderInput): AccountOrderOutcome {
  const { signal, account } = input;

  const resolved = resolveSymbol(signal.symbol, account.marketType, input.markets);
  if (resolved.kind === 'skipped') return resolved;
  const { market, symbol } = resolved;
  // Sizes, the max position, the exposure cap and the daily loss are USD; a market priced in a coin
  // (ETH/BTC) would compare BTC with dollars. Refused, with the reason, rather than converted.
  if (!isStable(market.quote)) return skip('quote-not-usd');
  const notes: PlanNote[] = [];
  if (resolved.quoteSubstituted) notes.push('quote-substituted');

  const lev = effectiveLeverage(signal.leverage, account, market);
  if (lev.capped) notes.push('leverage-capped');

  // Prices meet the market's step before sizing, so the size is computed on what will be sent.
  const onStep = (p: number) => roundToStep(p, market.priceStep);
  const entries = signal.entryType === 'limit' ? signal.entries.map(onStep) : [];
  const stopLoss = onStep(signal.stopLoss);
  const takeProfits = signal.takeProfits.map(onStep);
  const stopBelow = signal.side === 'long';
  if (entries.some((e) => (stopBelow ? stopLoss >= e : stopLoss <= e))) return skip('stop-too-close');

  const currentPrice = input.prices.get(symbol) ?? null;
  let referencePrice: number;
  if (signal.entryType === 'market' || entries.length === 0) {
    if (currentPrice === null || !(currentPrice > 0)) return skip('price-unavailable');
    referencePrice = currentPrice;
  } else {
    // Equal parts at each entry: the total's notional (and its loss at the stop) is that of the mean.
    referencePrice = toNumber(entries.reduce((a, e) => a.plus(dec(e)), dec(0)).div(entries.length));
  }

  const balance = input.balances.get(market.quote);
  const sized = sizePosition({
    account,
    market,
    leverage: lev.leverage,
    price: referencePrice,
    stopLoss,
    balance,
    nowMs: input.nowMs,
    maxBalanceAgeMs: input.maxBalanceAgeMs,
    ...(input.closedTradePnls ? { closedTradePnls: input.closedTradePnls } : {}),
    ...(input.kelly ? { kelly: input.kelly } : {}),
  });
  if (sized.kind === 'skipped') return sized;
  notes.push(...sized.notes);

  // The legs hold the member's cap, the balance and (risk mode) the risked loss exactly, at their own
  // prices (see splitEntries). A quantity raised to the exchange minimum is allowed past the risk.
  const marginLimit = Math.min(account.maxPositionUsd, balance?.available ?? 0);
  const bounds: EntryBounds = {
    maxNotional: toNumber(dec(marginLimit).times(dec(lev.leverage))),
    ...(sized.riskAtStop !== null && !sized.raisedToMinimum
      ? { maxLossAtStop: { stopLoss, maxLoss: sized.riskAtStop } }
      : {}),
  };
  const entrySplit = splitEntries(sized.qty, signal.entryType, entries, market, bounds);
  if (entrySplit.kind === 'skipped') return entrySplit;
  if (entrySplit.merged) notes.push('entries-merged');
  const qty = entrySplit.qty;
  const notionalDec =
    signal.entryType === 'market' || entries.length === 0
      ? dec(qty).times(dec(referencePrice)).times(dec(market.contractSize))
      : entrySplit.legs.reduce(
          (a, l) =>
            a.plus(
              dec(l.qty)
                .times(dec(l.price ?? referencePrice))
                .times(dec(market.contractSize)),
            ),
          dec(0),
        );
  const notional = reportAmount(notionalDec);
  const margin = reportAmount(notionalDec.div(dec(lev.leverage)));

  const risk = checkRisk({
    nowMs: input.nowMs,
    account,
    pausedUntilMs: input.pausedUntilMs,
    day: input.day,
    exposure: {
      currentUsd: input.exposure.currentUsd,
      newUsd: notional,
      capUsd: input.exposure.capUsd,
    },
    base: market.base,
    signal: { side: signal.side, entryType: signal.entryType, stopLoss, timeMs: input.signalTimeMs },
    maxSignalLagMs: input.maxSignalLagMs,
    currentPrice,
  });
  if (risk.kind === 'skipped') return risk;

  const tpSplit = splitTakeProfits(qty, takeProfits, market, input.takeProfitWeights ?? null);
  if (tpSplit.kind === 'skipped') notes.push('take-profits-below-minimum');
  else if (tpSplit.merged) notes.push('take-profits-merged');

  const open = signal.side === 'long' ? 'buy' : 'sell';
  const close = signal.side === 'long' ? 'sell' : 'buy';
  const reduceOnly = market.type === 'swap';
  const id = (leg: LegId) => clientOrderId(input.signalId, input.accountId, leg);

  const legs: PlannedLeg[] = entrySplit.legs.map((e) => ({
    leg: entryLeg(e.index),
    clientOrderId: id(entryLeg(e.index)),
    role: 'entry',
    type: e.type,
    side: open,
    qty: e.qty,
    price: e.price,
    triggerPrice: null,
    reduceOnly: false,
  }));
  legs.push({
    leg: stopLeg(0),
    clientOrderId: id(stopLeg(0)),
    role: 'stop-loss',
    type: 'stop-loss',
    side: close,
    qty,
    price: null,
    triggerPrice: stopLoss,
    reduceOnly,
  });
  if (tpSplit.kind === 'split') {
    for (const tp of tpSplit.legs) {
      legs.push({
        leg: takeProfitLeg(tp.index),
        clientOrderId: id(takeProfitLeg(tp.index)),
        role: 'take-profit',
        type: 'take-profit',
        side: close,
        qty: tp.qty,
        price: tp.price,
        triggerPrice: null,
        reduceOnly,
      });
    }
  }

  return {
    kind: 'planned',
    symbol,
    market,
    side: signal.side,
    leverage: lev.leverage,
    leverageRequested: lev.requested,
    leverageCapped: lev.capped,
    sizingMode: sized.mode,
    qty,
    notional,
    margin,
    referencePrice,
    stopLoss,
    takeProfits,
    legs,
    notes,
  };
}
