import { randomUUID } from 'node:crypto';
import type { AccountSettings } from '../domain/account';
import { stopLeg, takeProfitLeg } from '../domain/clientOrderId';
import { copyInstructionFor } from '../domain/copy';
import type { MarketRules } from '../domain/market';
import { planAccountOrder, type AccountOrderPlan } from '../domain/planOrder';
import { roundToStep } from '../domain/precision';
import { exposureConflict, type OpenExposure } from '../domain/netting';
import { skip, type ReasonCode, type SkipReason } from '../domain/reasons';
import { utcDayKey } from '../domain/risk';
import { parsePair } from '../domain/symbols';
import { targetLegBudget, targetSplit } from '../domain/lifecycle/exits';
import { heldQuantity } from '../domain/takeProfits';
import type { AccountRow, AccountsRepository } from '../db/repositories/accounts';
import type { NewOutboxRow } from '../db/repositories/outbox';
import { toTradeSignal, type SignalRow } from '../db/repositories/signals';
import type {
  ExecutionOutcome,
  ExecutionRow,
  NewOrder,
  OrderRow,
  TradingRepository,
} from '../db/repositories/trading';
import type { UsersRepository } from '../db/repositories/users';
import { isExchangeError } from '../exchange/errors';
import type { ExchangeGateway, OrderIntent } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Clock } from './clock';
import { positionFeedEvent, type FeedEvent, type OrderFeedEvent, type OrderOutcome } from './feedEvents';
import { planCopyOrder } from './copyOrder';
import type { ExposureLedger } from './exposureLedger';
import { orderIntent, reconcileOrder, sendOrder, type Placement, type ProtocolContext } from './orderProtocol';

/** What executing one account needs; built once per cycle by the engine. */
export interface AccountExecutionContext {
  accounts: AccountsRepository;
  users: UsersRepository;
  trading: TradingRepository;
  gatewayFor: (account: AccountRow) => ExchangeGateway;
  /** Member exposure per base asset for the batch; plans of one member's accounts pass through it in turn. */
  exposure: ExposureLedger;
  /** What the account has open by symbol and side (positions and working entries), for the netting rule. */
  openExposures: (accountId: string) => Promise<OpenExposure[]>;
  /** Live conditional orders of the account on the symbol (the exchange caps them per symbol). */
  conditionalOrders: (accountId: string, symbol: string) => Promise<number>;
  /** Shared per cycle: one quote per (exchange, mode, symbol), not one per account. */
  quote: (gateway: ExchangeGateway, account: AccountRow, symbol: string) => Promise<number | undefined>;
  clock: Clock;
  log: Logger;
  settings: {
    maxSignalLagMs: number;
    balanceMaxAgeMs: number;
    lookupWindowMs: number;
    kelly: { lookbackTrades: number; fraction: number; cap: number };
  };
  /**
   * Writes the outcome (and the summary when it is the signal's last) in one transaction; throws
   * LostClaim, writing nothing, when another process has taken the execution over.
   */
  finalize: (execution: ExecutionRow, outcome: ExecutionOutcome) => Promise<void>;
  /**
   * Whether this process still holds the execution's claim (and its heartbeat is fresh): asked before
   * every order is sent or resent, so a process whose claim was taken over sends nothing more.
   */
  holdsClaim: (executionId: string) => Promise<boolean>;
  /** Called when an account's key stops working: disable it and tell its owner. */
  onAuthFailure: (account: AccountRow) => Promise<void>;
}

export const accountSettingsOf = (row: AccountRow): AccountSettings => ({
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


const entryOrders = (orders: OrderRow[]) => orders.filter((order) => order.leg.startsWith('e'));
const exitOrders = (orders: OrderRow[]) => orders.filter((order) => /^[st]/.test(order.leg));

/**
 * Runs one (signal, account) to a definite outcome, or leaves it in flight for the next cycle when
 * the exchange cannot tell yet. Resumable: everything it decides is read back from the database, so
 * a crash at any point continues where it stopped without sending anything twice.
 */
export async function executeAccount(
  ctx: AccountExecutionContext,
  execution: ExecutionRow,
  signal: SignalRow,
): Promise<void> {
  const account = await ctx.accounts.byId(execution.accountId);
  const log = ctx.log.child({ signalId: signal.id, accountId: execution.accountId });
  if (!account) return; // removed meanwhile: the cascade removed the execution too
  const base = { ctx, execution, signal, account, log };

  let orders = await ctx.trading.ordersOfExecution(execution.id);
  let gateway: ExchangeGateway;
  try {
    gateway = ctx.gatewayFor(account);
  } catch (error) {
    log.warn({ err: error }, 'no gateway for account');
    return finish(base, { status: 'failed', reason: 'exchange-error', plan: null, orders });
  }
  const protocol: ProtocolContext = {
    gateway,
    repo: ctx.trading,
    clock: ctx.clock,
    log,
    lookupWindowMs: ctx.settings.lookupWindowMs,
    withinLag: () => ctx.clock.now() - signal.createdAt.getTime() <= ctx.settings.maxSignalLagMs,
    holdsClaim: () => ctx.holdsClaim(execution.id),
  };
  const extra: Pick<OrderIntent, 'positionSide'> =
    account.positionMode === 'hedge' ? { positionSide: signal.side } : {};

  let plan: AccountOrderPlan | null = null;
  if (orders.length === 0) {
    if (!account.enabled && signal.source !== 'copy') {
      return finish(base, { status: 'skipped', reason: 'account-disabled', plan: null, orders });
    }
    let markets: ReadonlyMap<string, MarketRules>;
    try {
      markets = await gateway.markets();
    } catch (error) {
      return failFromError(base, error, orders);
    }
    // COPY TRADING: the follow link sets this follower's quantity (or the share of its position to
    // close) instead of the account's sizing; dry-run records what would be placed and sends nothing.
    const copyOrder = signal.source === 'copy' ? copyInstructionFor(signal.copy, account.id) : null;
    const planned = copyOrder
      ? await planCopyOrder(signal, account, copyOrder, gateway, markets, (symbol) => ctx.quote(gateway, account, symbol)).catch(
          (error: unknown) => ({ kind: 'error' as const, error }),
        )
      : await planFor(ctx, account, signal, gateway, markets);
    if (planned.kind === 'error') return failFromError(base, planned.error, orders);
    if (planned.kind === 'skipped') {
      return finish(base, { status: 'skipped', reason: planned.reason, plan: null, orders });
    }
    plan = planned;
    const refused = copyOrder && !copyOrder.reduceOnly ? await conflict(ctx, account, plan.symbol, signal.side, true) : null;
    if (refused) return finish(base, { status: 'skipped', reason: refused, plan: null, orders });
    if (copyOrder?.dryRun) return finish(base, { status: 'dry-run', reason: null, plan, orders });
    if (account.marketType === 'futures') {
      try {
        await gateway.ensureLeverage(plan.symbol, plan.leverage, account.marginMode ?? 'isolated');
      } catch (error) {
        return failFromError(base, error, orders);
      }
    }
    const owner = { executionId: execution.id, signalId: signal.id, accountId: account.id, ownerId: account.ownerId };
    const intents: NewOrder[] = plan.legs
      .filter((leg) => leg.role === 'entry')
      .map((leg) =>
        orderIntent(owner, leg.leg, {
          symbol: plan!.symbol,
          side: leg.side,
          type: leg.type,
          reduceOnly: leg.reduceOnly,
          quantity: leg.qty,
          price: leg.price,
          triggerPrice: leg.triggerPrice,
        }),
      );
    await ctx.trading.touchExecution(execution.id, {
      symbol: plan.symbol,
      leverage: plan.leverage,
      leverageCapped: plan.leverageCapped,
      quantity: plan.qty,
      notional: plan.notional,
      margin: plan.margin,
      notes: [...plan.notes],
    });
    await ctx.trading.insertOrders(intents);
    orders = await ctx.trading.ordersOfExecution(execution.id);
    // Fresh intents are sent; anything else found here is reconciled below.
    const placements = await Promise.all(entryOrders(orders).map((order) => sendOrder(protocol, order, extra)));
    return afterEntries(base, protocol, extra, plan, placements);
  }

  // Resumed after a crash or a lost answer: reconcile what is in flight, never send blindly.
  const placements = await Promise.all(
    entryOrders(orders).map((order): Promise<Placement> => {
      if (order.status === 'intent' || order.status === 'unknown') return reconcileOrder(protocol, order, extra);
      return Promise.resolve(placementOfRow(order));
    }),
  );
  return afterEntries(base, protocol, extra, null, placements);
}

interface Base {
  ctx: AccountExecutionContext;
  execution: ExecutionRow;
  signal: SignalRow;
  account: AccountRow;
  log: Logger;
}

function placementOfRow(order: OrderRow): Placement {
  if (order.status === 'rejected') return { kind: 'rejected', reason: asFailure(order.reason), errorKind: 'invalid-order' };
  if (order.status === 'not-placed') return { kind: 'not-placed', reason: 'not-placed' };
  return {
    kind: 'placed',
    state: {
      clientOrderId: order.clientOrderId,
      exchangeOrderId: order.exchangeOrderId ?? '',
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      status: order.status === 'intent' || order.status === 'unknown' ? 'open' : order.status,
      quantity: order.quantity,
      filledQuantity: order.filledQuantity,
      averagePrice: order.averagePrice,
      fee: order.fee,
      feeCurrency: order.feeCurrency,
      updatedAt: order.updatedAt.getTime(),
    },
  };
}

const asFailure = (reason: string | null) =>
  (reason ?? 'exchange-error') as Extract<Placement, { kind: 'rejected' }>['reason'];

async function planFor(
  ctx: AccountExecutionContext,
  account: AccountRow,
  signal: SignalRow,
  gateway: ExchangeGateway,
  markets: ReadonlyMap<string, MarketRules>,
) {
  const pair = parsePair(signal.symbol);
  const baseAsset = pair?.base ?? signal.symbol.split('/')[0] ?? '';
  const owner = await ctx.users.get(account.ownerId);
  const capUsd = owner?.exposureCapUsd ?? null;
  return ctx.exposure.plan(account.ownerId, baseAsset, capUsd, async (currentUsd) => {
    const planned = await planWithExposure(ctx, account, signal, gateway, markets, { currentUsd, capUsd });
    const refused = planned.kind === 'planned' ? await conflict(ctx, account, planned.symbol, signal.side, false) : null;
    const result = refused ? skip(refused) : planned;
    return { result, addedUsd: result.kind === 'planned' ? result.notional : 0 };
  });
}

async function planWithExposure(
  ctx: AccountExecutionContext,
  account: AccountRow,
  signal: SignalRow,
  gateway: ExchangeGateway,
  markets: ReadonlyMap<string, MarketRules>,
  exposure: { currentUsd: number; capUsd: number | null },
) {
  const now = ctx.clock.now();
  const [day, pnls] = await Promise.all([
    ctx.trading.dayFigures(account.id, utcDayKey(now)),
    account.sizingMode === 'kelly'
      ? ctx.trading.closedTradePnls(account.id, ctx.settings.kelly.lookbackTrades)
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
  const balance =
    account.lastBalanceUsd === null || account.balanceAt === null
      ? undefined
      : {
          asset: 'USD',
          available: account.lastBalanceUsd,
          equity: account.lastEquityUsd ?? account.lastBalanceUsd,
          asOf: account.balanceAt.getTime(),
        };
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
    day: {
      trades: day.trades,
      realisedPnl: day.realizedPnl,
      startingEquity: day.startEquity ?? account.lastEquityUsd ?? 0,
    },
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
async function conflict(
  ctx: AccountExecutionContext,
  account: AccountRow,
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
function candidateSymbols(symbol: string, marketType: AccountRow['marketType'], markets: ReadonlyMap<string, MarketRules>) {
  const pair = parsePair(symbol);
  if (!pair) return [];
  const quotes = [pair.quote, 'USDT', 'USDC', 'USD'];
  return quotes
    .map((quote) => (marketType === 'spot' ? `${pair.base}/${quote}` : `${pair.base}/${quote}:${quote}`))
    .filter((candidate) => markets.has(candidate));
}

async function afterEntries(
  base: Base,
  protocol: ProtocolContext,
  extra: Pick<OrderIntent, 'positionSide'>,
  plan: AccountOrderPlan | null,
  placements: Placement[],
): Promise<void> {
  const { ctx, execution, account } = base;
  if (placements.some((p) => p.kind === 'unknown')) {
    // The exchange could not tell yet: stay in flight; the next cycle reconciles again.
    await ctx.trading.touchExecution(execution.id);
    return;
  }
  const placed = placements.filter((p): p is Extract<Placement, { kind: 'placed' }> => p.kind === 'placed');
  const orders = await ctx.trading.ordersOfExecution(execution.id);
  if (placed.length === 0) {
    const first = placements[0];
    if (first?.kind === 'rejected' && first.reason === 'key-revoked') await ctx.onAuthFailure(account);
    const reason: ReasonCode = first && first.kind !== 'placed' && first.kind !== 'unknown' ? first.reason : 'exchange-error';
    const status = first?.kind === 'not-placed' ? 'not-placed' : 'failed';
    return finish(base, { status, reason, plan, orders });
  }

  const filledQty = placed.reduce((sum, p) => sum + p.state.filledQuantity, 0);
  // Copy signals place no exits of their own: the master's exits arrive as copy signals too.
  if (filledQty > 0 && base.signal.source !== 'copy') await placeExits(base, protocol, extra, orders, filledQty);
  return finish(base, { status: 'placed', reason: null, plan, orders: await ctx.trading.ordersOfExecution(execution.id) });
}

/**
 * Exits for what has filled: a reduce-only stop and take-profits split across the targets. Spot has
 * no reduce-only stop order here: take-profits rest as limit sells and the engine watches the stop.
 */
async function placeExits(
  base: Base,
  protocol: ProtocolContext,
  extra: Pick<OrderIntent, 'positionSide'>,
  orders: OrderRow[],
  filledQty: number,
): Promise<void> {
  const { ctx, execution, signal, account, log } = base;
  const entries = entryOrders(orders);
  const symbol = entries[0]?.symbol;
  if (!symbol) return;
  const markets = await protocol.gateway.markets();
  const market = markets.get(symbol);
  if (!market) return;
  const exitSide = signal.side === 'long' ? 'sell' : 'buy';
  const futures = account.marketType === 'futures';
  const filledValue = entries.reduce((sum, o) => sum + o.filledQuantity * (o.averagePrice ?? 0), 0);
  const averageEntry = filledValue > 0 ? filledValue / filledQty : null;
  const stopPrice = roundToStep(signal.stopLoss, market.priceStep);

  await ctx.trading.insertPosition({
    id: randomUUID(),
    accountId: account.id,
    ownerId: account.ownerId,
    signalId: signal.id,
    symbol,
    side: signal.side,
    leverage: execution.leverage ?? 1,
    quantity: filledQty,
    entryQuantity: filledQty,
    averageEntryPrice: averageEntry,
    stopLoss: stopPrice,
    takeProfits: signal.takeProfits.map((tp) => roundToStep(tp, market.priceStep)),
  });

  const existing = new Set(exitOrders(orders).map((order) => order.leg));
  const owner = { executionId: execution.id, signalId: signal.id, accountId: account.id, ownerId: account.ownerId };
  const intent = (leg: string, fields: Pick<NewOrder, 'type' | 'quantity' | 'price' | 'triggerPrice'>): NewOrder =>
    orderIntent(owner, leg, { symbol, side: exitSide, reduceOnly: futures, ...fields });
  const wanted: NewOrder[] = [];
  if (futures && !existing.has(stopLeg(0))) {
    wanted.push(intent(stopLeg(0), { type: 'stop-loss', quantity: filledQty, price: null, triggerPrice: stopPrice }));
  }
  // Spot targets sell what is held: Binance takes a buy's fee from the coin, so the gross fill is unsellable.
  const sellable = futures ? filledQty : heldQuantity(entries, 0, market.base);
  // Within the conditional orders the exchange allows on the symbol, beside the account's others.
  const budget = futures ? targetLegBudget(market.maxConditionalOrders ?? null, await ctx.conditionalOrders(account.id, symbol)) : null;
  const split = targetSplit(
    sellable,
    signal.takeProfits.map((tp) => roundToStep(tp, market.priceStep)),
    new Set(),
    market,
    account.takeProfitSplit,
    budget,
  );
  if (split?.folded) log.info({ targets: signal.takeProfits.length, legs: split.legs.length }, 'take-profits merged or folded to fit');
  if (split) {
    for (const leg of split.legs) {
      const id = takeProfitLeg(leg.index);
      if (existing.has(id)) continue;
      wanted.push(
        futures
          ? intent(id, { type: 'take-profit', quantity: leg.qty, price: null, triggerPrice: leg.price })
          : intent(id, { type: 'limit', quantity: leg.qty, price: leg.price, triggerPrice: null }),
      );
    }
  }
  await ctx.trading.insertOrders(wanted);
  const all = await ctx.trading.ordersOfExecution(execution.id);
  const fresh = new Set(wanted.map((order) => order.leg));
  const results = await Promise.all(
    exitOrders(all).map((order) => {
      if (fresh.has(order.leg)) return sendOrder(protocol, order, extra);
      if (order.status === 'intent' || order.status === 'unknown') return reconcileOrder(protocol, order, extra);
      return Promise.resolve(placementOfRow(order));
    }),
  );
  const stopIndex = exitOrders(all).findIndex((order) => order.leg === stopLeg(0));
  const stop = stopIndex >= 0 ? results[stopIndex] : undefined;
  if (stop && (stop.kind === 'rejected' || stop.kind === 'not-placed')) {
    log.error({ reason: stop.reason }, 'stop-loss could not be placed');
    await ctx.trading.insertFeed([
      feedRow(base, positionFeedEvent(account, { symbol, side: signal.side }, 'stop-failed', { reason: stop.reason })),
    ]);
  }
}

function feedRow(base: Base, event: FeedEvent, kind: NewOutboxRow['kind'] = 'event'): NewOutboxRow {
  return {
    guildId: base.signal.guildId,
    kind,
    signalId: base.signal.id,
    accountId: base.account.id,
    payload: event,
  };
}

async function failFromError(base: Base, error: unknown, orders: OrderRow[]): Promise<void> {
  const kind = isExchangeError(error) ? error.kind : 'unexpected';
  base.log.warn({ err: error, kind }, 'account could not trade this signal');
  if (kind === 'auth-failed') {
    await base.ctx.onAuthFailure(base.account);
    return finish(base, { status: 'failed', reason: 'key-revoked', plan: null, orders });
  }
  if (isExchangeError(error, 'not-permitted')) {
    // The key works; the exchange will not let this account do it (e.g. leverage above 20× before
    // verification). Nothing was sent: the account skips this signal and stays enabled.
    return finish(base, { status: 'skipped', reason: error.reason ?? 'trading-restricted', plan: null, orders });
  }
  const reason: ReasonCode =
    kind === 'unknown-outcome' ? 'exchange-timeout' : kind === 'rate-limited' ? 'rate-limited' : 'exchange-error';
  return finish(base, { status: 'failed', reason, plan: null, orders });
}

async function finish(
  base: Base,
  result: {
    status: ExecutionOutcome['status'];
    reason: string | null;
    plan: AccountOrderPlan | null;
    orders: OrderRow[];
  },
): Promise<void> {
  const { ctx, execution, signal, account } = base;
  const entries = entryOrders(result.orders);
  const filledQty = entries.reduce((sum, o) => sum + o.filledQuantity, 0);
  const filledValue = entries.reduce((sum, o) => sum + o.filledQuantity * (o.averagePrice ?? 0), 0);
  const outcome: OrderOutcome =
    result.status === 'placed' ? (filledQty > 0 ? 'filled' : 'placed') : (result.status as OrderOutcome);
  const share = account.shareAmounts;
  const quantity = result.plan?.qty ?? execution.quantity ?? (filledQty || null);
  const event: OrderFeedEvent = {
    type: 'order',
    signalId: signal.id,
    accountId: account.id,
    accountName: account.name,
    ownerId: account.ownerId,
    exchangeId: account.exchangeId,
    symbol: result.plan?.symbol ?? execution.symbol ?? signal.symbol,
    side: signal.side,
    outcome,
    reason: (result.reason as ReasonCode | null) ?? null,
    entryType: signal.entryType,
    price: filledQty > 0 ? filledValue / filledQty : (entries[0]?.price ?? null),
    leverage: result.plan?.leverage ?? execution.leverage,
    leverageCapped: result.plan?.leverageCapped ?? execution.leverageCapped,
    stopLoss: result.plan?.stopLoss ?? signal.stopLoss,
    takeProfits: [...(result.plan?.takeProfits ?? signal.takeProfits)],
    quantity: share ? quantity : null,
    notional: share ? (result.plan?.notional ?? execution.notional) : null,
  };
  await ctx.finalize(execution, {
    status: result.status,
    reason: result.reason,
    feed: [feedRow(base, event, 'order')],
    countsAsTrade: result.status === 'placed',
    day: utcDayKey(ctx.clock.now()),
  });
}
