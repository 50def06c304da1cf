import type { AccountSettings } from '../../domain/account';
import type { MarketRules } from '../../domain/market';
import { exposureConflict } from '../../domain/netting';
import { planAccountOrder } from '../../domain/planOrder';
import { skip, type SkipReason } from '../../domain/reasons';
import { utcDayKey, type DailyFigures } from '../../domain/risk';
import type { BalanceSnapshot } from '../../domain/sizing';
import { parsePair } from '../../domain/symbols';
import { toTradeSignal } from '../../db/repositories/signals';
import type { ExchangeGateway } from '../../exchange/gateway';
import type { AccountExecutionContext } from './context';
import type { Account, Signal } from '../../domain/records';

export const accountSettingsOf = (row: Account): AccountSettings => ({
  marketType: row.marketType,
  sizingMode: row.sizingMode,
  sizingValue: row.sizingValue,
  riskPerTradePct: row.riskPerTradePct,
  maxPositionUsd: row.maxPositionUsd,
  leverage: row.leverage,
  maxDailyTrades: row.maxDailyTrades,
  maxDailyLossPct: row.maxDailyLossPct,
  stopOnLoss: row.stopOnLoss,
  minNotionalPolicy: row.minNotionalPolicy,
  symbolAllow: row.symbolAllow,
  symbolBlock: row.symbolBlock,
});

/** The balance the cycle last synced for the account (one per account, its settlement stablecoin). */
export function balanceOf(account: Account): BalanceSnapshot | undefined {
  if (account.lastBalanceUsd === null || account.balanceAt === null) return undefined;
  return {
    asset: 'USD',
    available: account.lastBalanceUsd,
    equity: account.lastEquityUsd ?? account.lastBalanceUsd,
    asOf: account.balanceAt.getTime(),
  };
}

/** Today's figures as the risk checks read them; a trade `reservedDay` holds today is the execution's own. */
export function dayOf(
  account: Account,
  day: { trades: number; realizedPnl: number; startEquity: number | null },
  reservedDay: string | null,
  nowMs: number,
): DailyFigures {
  return {
    trades: reservedDay === utcDayKey(nowMs) ? Math.max(0, day.trades - 1) : day.trades,
    realisedPnl: day.realizedPnl,
    startingEquity: day.startEquity ?? account.lastEquityUsd ?? 0,
  };
}

/**
 * Sizes the signal for the account within the member's exposure cap and the netting rule. A resumed
 * execution (its process died after planning, before its entries were written) does not count
 * against itself: neither the trade it reserved today nor the notional it recorded.
 */
export async function planFor(
  ctx: AccountExecutionContext,
  account: Account,
  signal: Signal,
  gateway: ExchangeGateway,
  markets: ReadonlyMap<string, MarketRules>,
  own: { tradeDay: string | null; notional: number | null } = { tradeDay: null, notional: null },
) {
  const pair = parsePair(signal.symbol);
  const baseAsset = pair?.base ?? signal.symbol.split('/')[0] ?? '';
  const owner = await ctx.store.owner(account.ownerId);
  const capUsd = owner?.exposureCapUsd ?? null;
  return ctx.exposure.plan(account.ownerId, account.mode, baseAsset, capUsd, async (currentUsd) => {
    const withoutOwn = Math.max(0, currentUsd - (own.notional ?? 0));
    const planned = await planWithExposure(ctx, account, signal, gateway, markets, { currentUsd: withoutOwn, capUsd }, own.tradeDay);
    const refused = planned.kind === 'planned' ? await conflict(ctx, account, planned.symbol, signal.side, false) : null;
    const result = refused ? skip(refused) : planned;
    return { result, addedUsd: result.kind === 'planned' ? result.notional : 0 };
  });
}

async function planWithExposure(
  ctx: AccountExecutionContext,
  account: Account,
  signal: Signal,
  gateway: ExchangeGateway,
  markets: ReadonlyMap<string, MarketRules>,
  exposure: { currentUsd: number; capUsd: number | null },
  reservedDay: string | null = null,
) {
  const now = ctx.clock.now();
  const [day, pnls] = await Promise.all([
    ctx.store.dayFigures(account.id, utcDayKey(now)),
    account.sizingMode === 'kelly'
      ? ctx.store.closedTradePnls(account.id, ctx.settings.kelly.lookbackTrades)
      : Promise.resolve(undefined),
  ]);
  // A price for sizing market entries and for the stop check (a price already past the stop refuses
  // any entry); one quote per symbol per batch, shared by every account.
  const prices = new Map<string, number>();
  {
    for (const symbol of candidateSymbols(signal.symbol, account.marketType, markets)) {
      const price = await ctx.quote(gateway, account, symbol);
      if (price !== undefined) prices.set(symbol, price);
      break;
    }
  }
  const balance = balanceOf(account);
  return planAccountOrder({
    signalId: signal.id,
    accountId: account.id,
    signal: toTradeSignal(signal),
    signalTimeMs: signal.createdAt.getTime(),
    nowMs: now,
    account: accountSettingsOf(account),
    markets,
    // The cycle syncs one balance per account, in its settlement stablecoin.
    balances: { get: () => balance },
    maxBalanceAgeMs: ctx.settings.balanceMaxAgeMs,
    prices,
    day: dayOf(account, day, reservedDay, now),
    pausedUntilMs: account.pausedUntil?.getTime() ?? null,
    exposure,
    maxSignalLagMs: ctx.settings.maxSignalLagMs,
    ...(pnls ? { closedTradePnls: pnls } : {}),
    kelly: {
      lookbackTrades: ctx.settings.kelly.lookbackTrades,
      fraction: ctx.settings.kelly.fraction,
      cap: ctx.settings.kelly.cap,
    },
    takeProfitWeights: account.takeProfitSplit,
  });
}

/**
 * Why an order for `side` may not open on a futures account (src/domain/netting.ts), or null. One
 * that may is added to the batch's view at once (no await between the check and the addition), so
 * two signals of one account on one symbol in the same batch cannot both pass. Copy orders follow
 * their master's position (adds included): only the other side is refused for them.
 */
export async function conflict(
  ctx: AccountExecutionContext,
  account: Account,
  symbol: string,
  side: 'long' | 'short',
  copy: boolean,
): Promise<SkipReason | null> {
  if (account.marketType !== 'futures') return null;
  const open = await ctx.openExposures(account.id);
  const reason = exposureConflict(symbol, side, account.positionMode, open);
  if (reason === 'opposite-position-open' || (reason !== null && !copy)) return reason;
  open.push({ symbol, side });
  return null;
}

/** The market the planner will resolve first (spot pair or linear perpetual), for the price lookup. */
function candidateSymbols(symbol: string, marketType: Account['marketType'], markets: ReadonlyMap<string, MarketRules>) {
  const pair = parsePair(symbol);
  if (!pair) return [];
  const quotes = [pair.quote, 'USDT', 'USDC', 'USD'];
  return quotes
    .map((quote) => (marketType === 'spot' ? `${pair.base}/${quote}` : `${pair.base}/${quote}:${quote}`))
    .filter((candidate) => markets.has(candidate));
}
