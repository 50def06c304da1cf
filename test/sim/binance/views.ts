/** JSON shapes Binance answers with, built from the engine's records. */
import { fmt, plain, r8 } from './decimal';
import type { Account, AlgoOrder, Engine, FuturesOrder, FuturesTrade, Position, SpotOrder, SpotTrade } from './engine';
import { isOpen } from './engine';
import type { MarketDef } from './markets';

const px = (m: MarketDef, n: number): string => n.toFixed(m.pricePrecision);
const qx = (m: MarketDef, n: number): string => n.toFixed(m.quantityPrecision);

export const spotOrderJson = (o: SpotOrder): Record<string, unknown> => ({
  symbol: o.symbol,
  orderId: o.orderId,
  orderListId: -1,
  clientOrderId: o.clientOrderId,
  price: fmt(o.price),
  origQty: fmt(o.origQty),
  executedQty: fmt(o.executedQty),
  cummulativeQuoteQty: fmt(o.cumQuote),
  status: o.status,
  timeInForce: o.timeInForce,
  type: o.type,
  side: o.side,
  stopPrice: fmt(o.stopPrice),
  icebergQty: fmt(0),
  time: o.time,
  updateTime: o.updateTime,
  isWorking: o.workingTime !== -1,
  workingTime: o.workingTime,
  origQuoteOrderQty: fmt(o.origQuoteOrderQty),
  selfTradePreventionMode: 'EXPIRE_MAKER',
});

const conditionalSpot = (o: SpotOrder): boolean => o.type !== 'LIMIT' && o.type !== 'MARKET' && o.type !== 'LIMIT_MAKER';

/** POST /api/v3/order answer in the asked response type (MARKET and LIMIT default to FULL, others to ACK). */
export const spotNewOrderJson = (o: SpotOrder, fills: readonly SpotTrade[], respType: string | undefined): Record<string, unknown> => {
  const type = respType ?? (o.type === 'MARKET' || o.type === 'LIMIT' ? 'FULL' : 'ACK');
  const ack = { symbol: o.symbol, orderId: o.orderId, orderListId: -1, clientOrderId: o.clientOrderId, transactTime: o.time };
  if (type === 'ACK') return ack;
  const result: Record<string, unknown> = {
    ...ack,
    price: fmt(o.price),
    origQty: fmt(o.origQty),
    executedQty: fmt(o.executedQty),
    origQuoteOrderQty: fmt(o.origQuoteOrderQty),
    cummulativeQuoteQty: fmt(o.cumQuote),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    ...(conditionalSpot(o) ? { stopPrice: fmt(o.stopPrice) } : {}),
    workingTime: o.workingTime,
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
  if (type === 'FULL') {
    result.fills = fills.map((t) => ({
      price: fmt(t.price),
      qty: fmt(t.qty),
      commission: fmt(t.commission),
      commissionAsset: t.commissionAsset,
      tradeId: t.id,
    }));
  }
  return result;
};

export const spotCancelJson = (o: SpotOrder, cancelClientId: string): Record<string, unknown> => ({
  symbol: o.symbol,
  origClientOrderId: o.clientOrderId,
  orderId: o.orderId,
  orderListId: -1,
  clientOrderId: cancelClientId,
  transactTime: o.updateTime,
  price: fmt(o.price),
  origQty: fmt(o.origQty),
  executedQty: fmt(o.executedQty),
  origQuoteOrderQty: fmt(o.origQuoteOrderQty),
  cummulativeQuoteQty: fmt(o.cumQuote),
  status: o.status,
  timeInForce: o.timeInForce,
  type: o.type,
  side: o.side,
  ...(conditionalSpot(o) ? { stopPrice: fmt(o.stopPrice) } : {}),
  selfTradePreventionMode: 'EXPIRE_MAKER',
});

export const spotTradeJson = (t: SpotTrade): Record<string, unknown> => ({
  symbol: t.symbol,
  id: t.id,
  orderId: t.orderId,
  orderListId: -1,
  price: fmt(t.price),
  qty: fmt(t.qty),
  quoteQty: fmt(t.quoteQty),
  commission: fmt(t.commission),
  commissionAsset: t.commissionAsset,
  time: t.time,
  isBuyer: t.isBuyer,
  isMaker: t.isMaker,
  isBestMatch: true,
});

export const spotAccountJson = (acc: Account, fees: { maker: number; taker: number }): Record<string, unknown> => ({
  makerCommission: Math.round(fees.maker * 10_000),
  takerCommission: Math.round(fees.taker * 10_000),
  buyerCommission: 0,
  sellerCommission: 0,
  commissionRates: { maker: fmt(fees.maker), taker: fmt(fees.taker), buyer: fmt(0), seller: fmt(0) },
  canTrade: acc.restrictions.enableSpotAndMarginTrading,
  canWithdraw: acc.restrictions.enableWithdrawals,
  canDeposit: true,
  brokered: false,
  requireSelfTradePrevention: false,
  preventSor: false,
  updateTime: acc.spotUpdateTime,
  accountType: 'SPOT',
  balances: [...acc.spot.entries()].map(([asset, b]) => ({ asset, free: fmt(b.free), locked: fmt(b.locked) })),
  permissions: ['SPOT'],
  uid: 350_000_000 + hash(acc.apiKey),
});

const hash = (s: string): number => {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) % 1_000_000;
  return h;
};

export const futuresOrderJson = (e: Engine, o: FuturesOrder): Record<string, unknown> => {
  const m = e.futuresMarket(o.symbol);
  return {
    orderId: o.orderId,
    symbol: o.symbol,
    status: o.status,
    clientOrderId: o.clientOrderId,
    price: px(m, o.price),
    avgPrice: o.executedQty > 0 ? plain(r8(o.cumQuote / o.executedQty)) : '0',
    origQty: qx(m, o.origQty),
    executedQty: qx(m, o.executedQty),
    cumQty: qx(m, o.executedQty),
    cumQuote: plain(o.cumQuote),
    timeInForce: o.timeInForce,
    type: o.type,
    reduceOnly: o.reduceOnly,
    closePosition: o.closePosition,
    side: o.side,
    positionSide: o.positionSide,
    stopPrice: px(m, o.stopPrice),
    workingType: 'CONTRACT_PRICE',
    priceProtect: false,
    origType: o.origType,
    priceMatch: 'NONE',
    selfTradePreventionMode: 'EXPIRE_MAKER',
    goodTillDate: 0,
    time: o.time,
    updateTime: o.updateTime,
  };
};

export const algoOrderJson = (e: Engine, a: AlgoOrder): Record<string, unknown> => {
  const m = e.futuresMarket(a.symbol);
  return {
    algoId: a.algoId,
    clientAlgoId: a.clientAlgoId,
    algoType: 'CONDITIONAL',
    orderType: a.orderType,
    symbol: a.symbol,
    side: a.side,
    positionSide: a.positionSide,
    timeInForce: a.timeInForce,
    quantity: qx(m, a.quantity),
    algoStatus: a.algoStatus,
    // Binance may report the placed order's id later than the order exists.
    actualOrderId: a.actualOrderId === undefined || a.unlinkedLookups > 0 ? '' : String(a.actualOrderId),
    actualPrice: a.actualPrice === undefined || a.unlinkedLookups > 0 ? '' : plain(a.actualPrice),
    triggerPrice: px(m, a.triggerPrice),
    price: px(m, a.price),
    icebergQuantity: null,
    tpTriggerPrice: '0.000',
    tpPrice: '0.000',
    slTriggerPrice: '0.000',
    slPrice: '0.000',
    tpOrderType: '',
    selfTradePreventionMode: 'EXPIRE_MAKER',
    workingType: a.workingType,
    priceMatch: 'NONE',
    closePosition: a.closePosition,
    priceProtect: a.priceProtect,
    reduceOnly: a.reduceOnly,
    createTime: a.createTime,
    updateTime: a.updateTime,
    triggerTime: a.triggerTime,
    goodTillDate: 0,
  };
};

export const futuresTradeJson = (e: Engine, t: FuturesTrade): Record<string, unknown> => {
  const m = e.futuresMarket(t.symbol);
  return {
    buyer: t.side === 'BUY',
    commission: fmt(t.commission),
    commissionAsset: t.commissionAsset,
    id: t.id,
    maker: t.maker,
    orderId: t.orderId,
    price: px(m, t.price),
    qty: qx(m, t.qty),
    quoteQty: plain(t.quoteQty),
    realizedPnl: fmt(t.realizedPnl),
    side: t.side,
    positionSide: t.positionSide,
    symbol: t.symbol,
    time: t.time,
  };
};

interface PositionFigures {
  readonly m: MarketDef;
  readonly mark: number;
  readonly notional: number;
  readonly unrealized: number;
  readonly leverage: number;
  readonly initialMargin: number;
  readonly maintMargin: number;
  readonly openOrderMargin: number;
  readonly isolated: boolean;
}

const figures = (e: Engine, acc: Account, p: Position): PositionFigures => {
  const m = e.futuresMarket(p.symbol);
  const mark = e.futuresPrice(p.symbol);
  const notional = r8(p.amt * mark);
  const leverage = e.leverageOf(acc, p.symbol);
  let openOrderMargin = 0;
  for (const o of acc.futuresOrders) {
    if (o.symbol === p.symbol && o.positionSide === p.positionSide && isOpen(o) && !o.reduceOnly && o.type === 'LIMIT')
      openOrderMargin += ((o.origQty - o.executedQty) * o.price) / leverage;
  }
  return {
    m,
    mark,
    notional,
    unrealized: r8(p.amt * (mark - p.entryPrice)),
    leverage,
    initialMargin: r8(Math.abs(notional) / leverage),
    maintMargin: r8(Math.abs(notional) * 0.004),
    openOrderMargin: r8(openOrderMargin),
    isolated: e.marginTypeOf(acc, p.symbol) === 'ISOLATED',
  };
};

/** GET /fapi/v3/positionRisk rows (V3 dropped leverage and marginType). */
export const positionRiskV3 = (e: Engine, acc: Account, p: Position): Record<string, unknown> => {
  const f = figures(e, acc, p);
  const isolatedWallet = f.isolated ? f.initialMargin : 0;
  return {
    symbol: p.symbol,
    positionSide: p.positionSide,
    positionAmt: qx(f.m, p.amt),
    entryPrice: plain(r8(p.entryPrice)),
    breakEvenPrice: plain(r8(p.entryPrice)),
    markPrice: plain(f.mark),
    unRealizedProfit: fmt(f.unrealized),
    liquidationPrice: '0',
    isolatedMargin: fmt(f.isolated ? isolatedWallet + f.unrealized : 0),
    notional: plain(f.notional),
    marginAsset: f.m.quote,
    isolatedWallet: fmt(isolatedWallet),
    initialMargin: fmt(f.initialMargin + f.openOrderMargin),
    maintMargin: fmt(f.maintMargin),
    positionInitialMargin: fmt(f.initialMargin),
    openOrderInitialMargin: fmt(f.openOrderMargin),
    adl: 0,
    bidNotional: '0',
    askNotional: '0',
    updateTime: p.updateTime,
  };
};

/** GET /fapi/v2/positionRisk rows. */
export const positionRiskV2 = (e: Engine, acc: Account, p: Position): Record<string, unknown> => {
  const f = figures(e, acc, p);
  return {
    symbol: p.symbol,
    positionAmt: qx(f.m, p.amt),
    entryPrice: plain(r8(p.entryPrice)),
    breakEvenPrice: plain(r8(p.entryPrice)),
    markPrice: plain(f.mark),
    unRealizedProfit: fmt(f.unrealized),
    liquidationPrice: '0',
    leverage: String(f.leverage),
    maxNotionalValue: String(e.maxNotional(f.m, f.leverage)),
    marginType: f.isolated ? 'isolated' : 'cross',
    isolatedMargin: fmt(f.isolated ? f.initialMargin + f.unrealized : 0),
    isAutoAddMargin: 'false',
    positionSide: p.positionSide,
    notional: plain(f.notional),
    isolatedWallet: fmt(f.isolated ? f.initialMargin : 0),
    updateTime: p.updateTime,
  };
};

const assetRows = (e: Engine, acc: Account): Array<Record<string, unknown>> =>
  [...acc.futures.keys()].map((asset) => {
    const v = e.futuresView(acc, asset);
    return {
      asset,
      walletBalance: fmt(v.wallet),
      unrealizedProfit: fmt(v.unrealized),
      marginBalance: fmt(v.wallet + v.unrealized),
      maintMargin: fmt(v.maintMargin),
      initialMargin: fmt(v.positionMargin + v.orderMargin),
      positionInitialMargin: fmt(v.positionMargin),
      openOrderInitialMargin: fmt(v.orderMargin),
      crossWalletBalance: fmt(v.wallet),
      crossUnPnl: fmt(v.unrealized),
      availableBalance: fmt(v.available),
      maxWithdrawAmount: fmt(Math.min(v.available, v.wallet)),
      marginAvailable: true,
      updateTime: acc.futuresUpdateTime,
    };
  });

const totals = (e: Engine, acc: Account): Record<string, string> => {
  const v = e.futuresView(acc, 'USDT');
  return {
    totalInitialMargin: fmt(v.positionMargin + v.orderMargin),
    totalMaintMargin: fmt(v.maintMargin),
    totalWalletBalance: fmt(v.wallet),
    totalUnrealizedProfit: fmt(v.unrealized),
    totalMarginBalance: fmt(v.wallet + v.unrealized),
    totalPositionInitialMargin: fmt(v.positionMargin),
    totalOpenOrderInitialMargin: fmt(v.orderMargin),
    totalCrossWalletBalance: fmt(v.wallet),
    totalCrossUnPnl: fmt(v.unrealized),
    availableBalance: fmt(v.available),
    maxWithdrawAmount: fmt(Math.min(v.available, v.wallet)),
  };
};

/** GET /fapi/v3/account. */
export const futuresAccountV3 = (e: Engine, acc: Account): Record<string, unknown> => ({
  ...totals(e, acc),
  assets: assetRows(e, acc),
  positions: e
    .positionsOf(acc)
    .filter((p) => p.amt !== 0)
    .map((p) => {
      const f = figures(e, acc, p);
      return {
        symbol: p.symbol,
        positionSide: p.positionSide,
        positionAmt: qx(f.m, p.amt),
        unrealizedProfit: fmt(f.unrealized),
        isolatedMargin: fmt(f.isolated ? f.initialMargin + f.unrealized : 0),
        notional: plain(f.notional),
        isolatedWallet: fmt(f.isolated ? f.initialMargin : 0),
        initialMargin: fmt(f.initialMargin + f.openOrderMargin),
        maintMargin: fmt(f.maintMargin),
        updateTime: p.updateTime,
      };
    }),
});

/** GET /fapi/v2/account. */
export const futuresAccountV2 = (e: Engine, acc: Account): Record<string, unknown> => ({
  feeTier: 0,
  feeBurn: false,
  canTrade: acc.restrictions.enableFutures,
  canDeposit: true,
  canWithdraw: acc.restrictions.enableWithdrawals,
  updateTime: 0,
  multiAssetsMargin: acc.rules.multiAssetsMargin,
  tradeGroupId: -1,
  ...totals(e, acc),
  assets: assetRows(e, acc),
  positions: e.positionsOf(acc).map((p) => {
    const f = figures(e, acc, p);
    return {
      symbol: p.symbol,
      initialMargin: fmt(f.initialMargin + f.openOrderMargin),
      maintMargin: fmt(f.maintMargin),
      unrealizedProfit: fmt(f.unrealized),
      positionInitialMargin: fmt(f.initialMargin),
      openOrderInitialMargin: fmt(f.openOrderMargin),
      leverage: String(f.leverage),
      isolated: f.isolated,
      entryPrice: plain(r8(p.entryPrice)),
      breakEvenPrice: plain(r8(p.entryPrice)),
      maxNotional: String(e.maxNotional(f.m, f.leverage)),
      bidNotional: '0',
      askNotional: '0',
      positionSide: p.positionSide,
      positionAmt: qx(f.m, p.amt),
      updateTime: p.updateTime,
    };
  }),
});

/** GET /fapi/v2/balance and /fapi/v3/balance. */
export const futuresBalanceJson = (e: Engine, acc: Account): Array<Record<string, unknown>> =>
  [...acc.futures.keys()].map((asset) => {
    const v = e.futuresView(acc, asset);
    return {
      accountAlias: 'SgsR',
      asset,
      balance: fmt(v.wallet),
      crossWalletBalance: fmt(v.wallet),
      crossUnPnl: fmt(v.unrealized),
      availableBalance: fmt(v.available),
      maxWithdrawAmount: fmt(Math.min(v.available, v.wallet)),
      marginAvailable: true,
      updateTime: acc.futuresUpdateTime,
    };
  });
