

import { clientOrderId, entryLeg } from '../domain/clientOrderId';
import { copySignalTimeMs, pairOfMarket, symbolPasses, type CopyFollowerInstruction, type CopyInstructions } from '../domain/copy';
import { limitCopyOpen } from '../domain/copyLimits';
import type { MarketRules } from '../domain/market';
import type { AccountOrderPlan } from '../domain/planOrder';
import { floorToStep } from '../domain/precision';
import { skip, type PlanNote, type Skipped, type SkipReason } from '../domain/reasons';
import { utcDayKey } from '../domain/risk';
import { resolveSymbol } from '../domain/symbols';
import type { ExchangeGateway } from '../exchange/gateway';
import type { AccountExecutionContext } from './execution/context';
import { balanceOf, dayOf } from './execution/plan';
import type { Account, Signal } from '../domain/records';

type CopyPlan = AccountOrderPlan | Skipped<SkipReason>;

/**
 * A copy follower's one market order. Opens and adds: the quantity comes from the follow link, held
 * to the follower's own limits (domain/copyLimits.ts) through the member's exposure ledger, like a
 * signal entry. Reductions and closes: from what copy trading holds on the follower's account
 * (never the member's own trades on the coin, never more than the exchange shows); no limit stops
 * them. Rounded down to the market's step; the exchange minimums apply. No stop or take-profit legs:
 * the master's exits arrive as reduce/close copy signals.
 *
 * `own`: a resumed execution (its process died after planning) does not count against itself,
 * neither the trade it reserved today nor the notional it recorded.
 */
export async function planCopyOrder(
  ctx: AccountExecutionContext,
  signal: Signal,
  account: Account,
  order: CopyFollowerInstruction,
  gateway: ExchangeGateway,
  markets: ReadonlyMap<string, MarketRules>,
  own: { tradeDay: string | null; notional: number | null } = { tradeDay: null, notional: null },
): Promise<CopyPlan> {
  if (account.marketType !== 'futures') return skip('copy-futures-only');
  const resolved = resolveSymbol(signal.symbol, account.marketType, markets);
  if (resolved.kind === 'skipped') return resolved;
  const { symbol, market } = resolved;
  const pair = pairOfMarket(symbol);
  if (!order.reduceOnly && !symbolPasses(pair, account.symbolAllow, account.symbolBlock)) {
    return skip(account.symbolBlock.length > 0 && !symbolPasses(pair, [], account.symbolBlock) ? 'symbol-blocked' : 'symbol-not-allowed');
  }
  const leverage = Math.max(1, Math.min(account.leverage, market.maxLeverage));
  const copy = signal.copy as CopyInstructions;
  const price = (await ctx.quote(gateway, account, symbol)) ?? copy.price;
  if (order.reduceOnly) {
    const onExchange = (await gateway.positions())
      .filter((p) => p.symbol === symbol && p.side === signal.side)
      .reduce((sum, p) => sum + p.quantity, 0);
    const held = Math.min(onExchange, await ctx.store.copiedQuantity(account.id, symbol, signal.side));
    if (!(held > 0)) return skip('no-position-to-reduce');
    const share = order.quantity !== null ? order.quantity : held * (order.reduceFraction ?? 0);
    const qty = order.close || share >= held ? held : floorToStep(share, market.amountStep);
    if (!(qty > 0) || qty < market.minAmount) return skip('below-min-notional');
    return marketOrder(signal, account, symbol, market, { qty, notional: qty * price * market.contractSize, notes: [] }, leverage, price, true);
  }
  const owner = await ctx.store.owner(account.ownerId);
  return ctx.exposure.plan(account.ownerId, account.mode, market.base, owner?.exposureCapUsd ?? null, async (currentUsd) => {
    const now = ctx.clock.now();
    const [day, copiedQty] = await Promise.all([
      ctx.store.dayFigures(account.id, utcDayKey(now)),
      ctx.store.copiedQuantity(account.id, symbol, signal.side),
    ]);
    const limited = limitCopyOpen({
      requestedQty: order.quantity ?? 0,
      price,
      market,
      leverage,
      account,
      side: signal.side,
      copiedQty,
      balance: balanceOf(account),
      maxBalanceAgeMs: ctx.settings.balanceMaxAgeMs,
      nowMs: now,
      pausedUntilMs: account.pausedUntil?.getTime() ?? null,
      day: dayOf(account, day, own.tradeDay, now),
      exposure: { currentUsd: Math.max(0, currentUsd - (own.notional ?? 0)), capUsd: owner?.exposureCapUsd ?? null },
      signalTimeMs: copySignalTimeMs(signal.copy, signal.createdAt.getTime()),
      maxSignalLagMs: ctx.settings.maxSignalLagMs,
    });
    const result: CopyPlan =
      limited.kind === 'skipped' ? limited : marketOrder(signal, account, symbol, market, limited, leverage, price, false);
    return { result, addedUsd: result.kind === 'planned' ? result.notional : 0 };
  });
}

function marketOrder(
  signal: Signal,
  account: Account,
  symbol: string,
  market: MarketRules,
  size: { qty: number; notional: number; notes: readonly PlanNote[] },
  leverage: number,
  price: number,
  reduceOnly: boolean,
): AccountOrderPlan {
  const { qty, notional } = size;
  const buys = (signal.side === 'long') !== reduceOnly;
  const leg = entryLeg(0);
  return {
    kind: 'planned',
    symbol,
    market,
    side: signal.side,
    leverage,
    leverageRequested: leverage,
    leverageCapped: false,
    sizingMode: account.sizingMode,
    qty,
    notional,
    margin: notional / leverage,
    referencePrice: price,
    stopLoss: signal.stopLoss,
    takeProfits: [],
    legs: [
      {
        leg,
        clientOrderId: clientOrderId(signal.id, account.id, leg),
        role: 'entry',
        type: 'market',
        side: buys ? 'buy' : 'sell',
        qty,
        price: null,
        triggerPrice: null,
        reduceOnly,
      },
    ],
    notes: [...size.notes],
  };
}
