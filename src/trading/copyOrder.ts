import type { AccountRow } from '../db/repositories/accounts';
import type { SignalRow } from '../db/repositories/signals';
import { clientOrderId, entryLeg } from '../domain/clientOrderId';
import { pairOfMarket, symbolPasses, type CopyFollowerInstruction } from '../domain/copy';
import type { MarketRules } from '../domain/market';
import type { AccountOrderPlan } from '../domain/planOrder';
import { floorToStep } from '../domain/precision';
import { skip, type Skipped, type SkipReason } from '../domain/reasons';
import { resolveSymbol } from '../domain/symbols';
import type { ExchangeGateway } from '../exchange/gateway';

/**
 * A copy follower's one market order: the quantity comes from the follow link (opens and adds) or,
 * for reductions and closes, from what copy trading holds on the follower's account (`copiedHeld`:
 * never the member's own trades on the coin, and never more than the exchange shows), rounded down to
 * the market's step; the follower's symbol lists and the exchange minimums still apply. No stop or
 * take-profit legs: the master's exits arrive as reduce/close copy signals.
 */
export async function planCopyOrder(
  signal: SignalRow,
  account: AccountRow,
  order: CopyFollowerInstruction,
  gateway: ExchangeGateway,
  markets: ReadonlyMap<string, MarketRules>,
  quote: (symbol: string) => Promise<number | undefined>,
  copiedHeld: (symbol: string, side: 'long' | 'short') => Promise<number>,
): Promise<AccountOrderPlan | Skipped<SkipReason>> {
  if (account.marketType !== 'futures') return skip('copy-futures-only');
  const resolved = resolveSymbol(signal.symbol, account.marketType, markets);
  if (resolved.kind === 'skipped') return resolved;
  const { symbol, market } = resolved;
  const pair = pairOfMarket(symbol);
  if (!order.reduceOnly && !symbolPasses(pair, account.symbolAllow, account.symbolBlock)) {
    return skip(account.symbolBlock.length > 0 && !symbolPasses(pair, [], account.symbolBlock) ? 'symbol-blocked' : 'symbol-not-allowed');
  }
  let qty: number;
  if (order.reduceOnly) {
    const onExchange = (await gateway.positions())
      .filter((p) => p.symbol === symbol && p.side === signal.side)
      .reduce((sum, p) => sum + p.quantity, 0);
    const held = Math.min(onExchange, await copiedHeld(symbol, signal.side));
    if (!(held > 0)) return skip('no-position-to-reduce');
    qty = order.close ? held : Math.min(held, floorToStep(held * (order.reduceFraction ?? 0), market.amountStep));
  } else {
    qty = floorToStep(order.quantity ?? 0, market.amountStep);
    if (market.maxAmount !== null) qty = Math.min(qty, market.maxAmount);
  }
  if (!(qty > 0) || qty < market.minAmount) return skip('below-min-notional');
  const price = (await quote(symbol)) ?? signal.stopLoss;
  const notional = qty * price;
  if (!order.reduceOnly && notional < market.minNotional) return skip('below-min-notional');
  const leverage = Math.max(1, Math.min(account.leverage, market.maxLeverage));
  const buys = (signal.side === 'long') !== order.reduceOnly;
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
        reduceOnly: order.reduceOnly,
      },
    ],
    notes: [],
  };
}
