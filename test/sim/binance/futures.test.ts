import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBinanceSim } from './index';
import type { BinanceSim } from './index';
import { binanceClient, caught, idOf } from './testkit';
import type { Binance } from './testkit';

const SOL = 'SOL/USDT:USDT';
const BTC = 'BTC/USDT:USDT';

describe('binance simulator: USDⓈ-M futures through the real ccxt client', () => {
  let sim: BinanceSim;
  let fx: Binance;

  beforeAll(async () => {
    // The positions test's fee model: taker 0.04 %, maker 0.02 %, zero slippage.
    sim = await startBinanceSim({ fees: { maker: 0.0002, taker: 0.0004 } });
    sim.addAccount({ apiKey: 'fut', secret: 'fut-secret', futures: { USDT: 1_000 } });
    sim.addAccount({ apiKey: 'hedge', secret: 'hedge-secret', futures: { USDT: 5_000 }, hedgeMode: true });
    sim.setPrices({ SOLUSDT: 100, BTCUSDT: 50_000 });
    fx = binanceClient(sim.fetchImplementation, 'fut', 'fut-secret', 'swap');
    await fx.loadMarkets();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('sets leverage and margin mode, and reads the position mode', async () => {
    expect(await fx.setLeverage(10, SOL)).toMatchObject({ leverage: 10, symbol: 'SOLUSDT' });
    expect(await caught(() => fx.setLeverage(101, SOL))).toBeInstanceOf(ccxt.BadRequest);
    expect(await fx.setMarginMode('isolated', BTC)).toMatchObject({ code: 200 });
    // "Already set" is -4046 "No need to change margin type.", which ccxt names MarginModeAlreadySet.
    expect(await caught(() => fx.setMarginMode('isolated', BTC))).toBeInstanceOf(ccxt.MarginModeAlreadySet);
    expect(await fx.fetchPositionMode(SOL)).toMatchObject({ hedged: false });
    const leverages = (await fx.fapiPrivateGetSymbolConfig({ symbol: 'SOLUSDT' })) as Array<Record<string, unknown>>;
    expect(leverages[0]).toMatchObject({ symbol: 'SOLUSDT', leverage: 10, marginType: 'CROSSED' });
  });

  it('runs a long with take-profit and stop-loss legs (ccxt sends them to /fapi/v1/algoOrder) to the cent', async () => {
    const entry = await fx.createOrder(SOL, 'market', 'buy', 2, undefined, { clientOrderId: 'sigAentry' });
    expect(entry).toMatchObject({ status: 'closed', filled: 2, average: 100, clientOrderId: 'sigAentry' });
    const tp1 = await fx.createOrder(SOL, 'market', 'sell', 1, undefined, { takeProfitPrice: 105, reduceOnly: true, clientOrderId: 'sigAtp1' });
    const tp2 = await fx.createOrder(SOL, 'market', 'sell', 1, undefined, { takeProfitPrice: 110, reduceOnly: true, clientOrderId: 'sigAtp2' });
    const sl = await fx.createOrder(SOL, 'market', 'sell', 2, undefined, { stopLossPrice: 95, reduceOnly: true, clientOrderId: 'sigAsl' });
    expect(sim.requestLog.filter((e) => e.path === '/fapi/v1/algoOrder' && e.method === 'POST')).toHaveLength(3);
    expect(sim.requestLog.find((e) => e.params.clientAlgoId === 'sigAtp1')?.params).toMatchObject({
      algoType: 'CONDITIONAL',
      type: 'TAKE_PROFIT_MARKET',
      triggerPrice: '105',
      reduceOnly: 'true',
    });
    expect(tp1).toMatchObject({ status: 'open', triggerPrice: 105, clientOrderId: 'sigAtp1', reduceOnly: true });
    expect((await fx.fetchOpenOrders(SOL, undefined, undefined, { trigger: true })).map((o) => o.clientOrderId)).toEqual(['sigAtp1', 'sigAtp2', 'sigAsl']);

    const [pos] = await fx.fetchPositions([SOL]);
    expect(pos).toMatchObject({ side: 'long', contracts: 2, entryPrice: 100 });

    sim.setPrice('SOLUSDT', 105);
    expect((await fx.fetchOrder(idOf(tp1), SOL, { trigger: true })).status).toBe('closed');
    expect((await fx.fetchPositions([SOL]))[0]).toMatchObject({ contracts: 1, entryPrice: 100 });
    // Move the stop to break-even: cancel by client id, place a new one.
    await fx.cancelOrder('', SOL, { trigger: true, clientOrderId: 'sigAsl' });
    const be = await fx.createOrder(SOL, 'market', 'sell', 1, undefined, { stopLossPrice: 100, reduceOnly: true, clientOrderId: 'sigAsl2' });
    sim.setPrice('SOLUSDT', 100);
    const stopped = await fx.fetchOrder('', SOL, { trigger: true, clientOrderId: 'sigAsl2' });
    expect(stopped.status).toBe('closed');
    expect(stopped.info.actualOrderId).not.toBe('');
    const actual = await fx.fetchOrder(String(stopped.info.actualOrderId), SOL);
    expect(actual).toMatchObject({ status: 'closed', filled: 1, average: 100, reduceOnly: true });
    expect(await fx.fetchPositions([SOL])).toEqual([]);
    await fx.cancelOrder(idOf(tp2), SOL, { trigger: true });
    expect(await fx.fetchOpenOrders(SOL, undefined, undefined, { trigger: true })).toEqual([]);
    expect(be.id).not.toBe(sl.id);

    const trades = await fx.fetchMyTrades(SOL);
    expect(trades.map((t) => [t.side, t.price, t.amount, t.fee?.cost, t.info.realizedPnl])).toEqual([
      ['buy', 100, 2, 0.08, '0.00000000'],
      ['sell', 105, 1, 0.042, '5.00000000'],
      ['sell', 100, 1, 0.04, '0.00000000'],
    ]);
    // 1000 + 5 realised − (0.08 + 0.042 + 0.04) fees
    expect((await fx.fetchBalance()).USDT?.total).toBe(1_004.838);
  });

  it('fills a resting limit as maker and looks orders up by client order id', async () => {
    const o = await fx.createOrder(SOL, 'limit', 'buy', 1, 99, { clientOrderId: 'limA' });
    expect(o.status).toBe('open');
    expect((await fx.fetchOrder('', SOL, { clientOrderId: 'limA' })).status).toBe('open');
    sim.setPrice('SOLUSDT', 98.5);
    const filled = await fx.fetchOrder(idOf(o), SOL);
    expect(filled).toMatchObject({ status: 'closed', filled: 1, average: 99 });
    const t = (await fx.fetchMyTrades(SOL)).at(-1);
    expect(t).toMatchObject({ takerOrMaker: 'maker', fee: { cost: 0.0198 } });
    await fx.createOrder(SOL, 'market', 'sell', 1, undefined, { reduceOnly: true });
  });

  it('rejects duplicate client order ids with -4116, small orders with -4164, bad reduce-only with -2022, and margin with -2019', async () => {
    await fx.createOrder(SOL, 'limit', 'buy', 1, 96, { clientOrderId: 'dupF' });
    const dup = await caught(() => fx.createOrder(SOL, 'limit', 'buy', 1, 96, { clientOrderId: 'dupF' }));
    expect(dup).toBeInstanceOf(ccxt.InvalidOrder);
    expect(dup.message).toContain('{"code":-4116,"msg":"ClientOrderId is duplicated."}');
    await fx.cancelOrder('', SOL, { clientOrderId: 'dupF' });

    const small = await caught(() => fx.createOrder(BTC, 'market', 'buy', 0.001));
    expect(small).toBeInstanceOf(ccxt.InvalidOrder);
    expect(small.message).toContain('"code":-4164');
    const reduce = await caught(() => fx.createOrder(SOL, 'market', 'sell', 1, undefined, { reduceOnly: true }));
    expect(reduce.message).toContain('"code":-2022');
    const margin = await caught(() => fx.createOrder(BTC, 'market', 'buy', 1));
    expect(margin).toBeInstanceOf(ccxt.InsufficientFunds);
    const stopOnOrderEndpoint = await caught(() =>
      fx.fapiPrivatePostOrder({ symbol: 'SOLUSDT', side: 'SELL', type: 'STOP_MARKET', stopPrice: '90', quantity: '1', newOrderRespType: 'RESULT' }),
    );
    expect(stopOnOrderEndpoint.message).toContain('"code":-4120');
    const precision = await caught(() => fx.fapiPrivatePostOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'MARKET', quantity: '1.5', newOrderRespType: 'RESULT' }));
    expect(precision.message).toContain('{"code":-1111,"msg":"Precision is over the maximum defined for this asset."}');
    const limit = (price: string) =>
      fx.fapiPrivatePostOrder({ symbol: 'SOLUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '1', price, newOrderRespType: 'RESULT' });
    expect((await caught(() => limit('99.995'))).message).toContain('"code":-4014');
    expect((await caught(() => limit('99.00001'))).message).toContain('"code":-1111');
    expect((await caught(() => limit('120.00'))).message).toContain('"code":-4016');
    // Binance's futures code for a price above the filter's maximum is -4002 (-4015 is a bad client id).
    expect((await caught(() => limit('100001.00'))).message).toContain('{"code":-4002,"msg":"Price greater than max price."}');
    const immediate = await caught(() => fx.createOrder(SOL, 'market', 'sell', 1, undefined, { stopLossPrice: 120, reduceOnly: true }));
    expect(immediate).toBeInstanceOf(ccxt.OrderImmediatelyFillable);
  });

  it('keeps hedge-mode positions per side and requires the position side', async () => {
    const hx = binanceClient(sim.fetchImplementation, 'hedge', 'hedge-secret', 'swap');
    hx.setMarketsFromExchange(fx);
    expect(await hx.fetchPositionMode(SOL)).toMatchObject({ hedged: true });
    const oneWay = await caught(() => hx.createOrder(SOL, 'market', 'buy', 1));
    expect(oneWay.message).toContain('"code":-4061');
    await hx.createOrder(SOL, 'market', 'buy', 3, undefined, { hedged: true });
    await hx.createOrder(SOL, 'market', 'sell', 2, undefined, { hedged: true });
    const sides = (await hx.fetchPositions([SOL])).map((p) => [p.side, p.contracts, p.hedged]).sort();
    expect(sides).toEqual([
      ['long', 3, true],
      ['short', 2, true],
    ]);
    // Closing the long: SELL with positionSide LONG.
    await hx.createOrder(SOL, 'market', 'sell', 3, undefined, { hedged: true, reduceOnly: true });
    expect((await hx.fetchPositions([SOL])).map((p) => p.side)).toEqual(['short']);
    expect(await caught(() => hx.setPositionMode(false, SOL))).toBeInstanceOf(ccxt.ExchangeError);
  });

  it('closes a position outside the bot with a web_ order and reports unrealised PnL before that', async () => {
    await fx.createOrder(SOL, 'market', 'buy', 2);
    sim.setPrice('SOLUSDT', 110);
    const [open] = await fx.fetchPositions([SOL]);
    expect(open?.unrealizedPnl).toBeCloseTo(2 * (110 - 98.5), 8);
    sim.closePositionExternally('fut', 'SOLUSDT');
    expect(sim.positions('fut')).toEqual([]);
    expect(await fx.fetchPositions([SOL])).toEqual([]);
    const last = (await fx.fetchOrders(SOL)).at(-1);
    expect(last?.clientOrderId).toMatch(/^web_/);
    expect(last).toMatchObject({ side: 'sell', filled: 2, reduceOnly: true });
  });

  it('charges fees in BNB at the 10 % discount with feeBurn, pays funding, and lists both in the income history', async () => {
    sim.addAccount({ apiKey: 'bnb', secret: 'bnb-secret', futures: { USDT: 1_000, BNB: 1 } });
    sim.setBnbFeeBurn('bnb', 'futures', true);
    sim.setPrices({ SOLUSDT: 100, BNBUSDT: 600 });
    const bx = binanceClient(sim.fetchImplementation, 'bnb', 'bnb-secret', 'swap');
    bx.setMarketsFromExchange(fx);
    await bx.createOrder(SOL, 'market', 'buy', 3);
    sim.payFunding('SOLUSDT', 0.0001);
    sim.setPrice('SOLUSDT', 104);
    await bx.createOrder(SOL, 'market', 'sell', 3, undefined, { reduceOnly: true });
    // 300 USDT × 0.04 % × 0.9 = 0.108 USDT = 0.00018 BNB at 600; the exit 312 → 0.1123 USDT = 0.0001872 BNB.
    const trades = await bx.fetchMyTrades(SOL);
    expect(trades.map((t) => [t.fee?.cost, t.fee?.currency])).toEqual([
      [0.00018, 'BNB'],
      [0.0001872, 'BNB'],
    ]);
    // Funding: a long of 3 at 100 with +0.01 % pays 0.03 USDT.
    const funding = await bx.fetchFundingHistory(SOL);
    expect(funding.map((f) => [f.amount, f.code])).toEqual([[-0.03, 'USDT']]);
    const income = (await bx.fapiPrivateGetIncome({ symbol: 'SOLUSDT' })) as Array<Record<string, string>>;
    expect(income.map((r) => [r.incomeType, r.income, r.asset])).toEqual([
      ['COMMISSION', '-0.00018000', 'BNB'],
      ['FUNDING_FEE', '-0.03000000', 'USDT'],
      ['REALIZED_PNL', '12.00000000', 'USDT'],
      ['COMMISSION', '-0.00018720', 'BNB'],
    ]);
    expect(income[2]?.tradeId).toBe(String(trades[1]?.id));
    const wallet = await bx.fetchBalance();
    expect(wallet.USDT?.total).toBe(1_011.97);
    expect(wallet.BNB?.total).toBe(0.9996328);
    sim.setPrice('SOLUSDT', 110); // where the tests around this one left it
  });

  it('reports the futures balance with margin in use', async () => {
    await fx.createOrder(SOL, 'market', 'buy', 5);
    const b = await fx.fetchBalance();
    expect(b.USDT?.used).toBeCloseTo((5 * 110) / 10, 6);
    const v2 = (await fx.fapiPrivateV2GetPositionRisk({ symbol: 'SOLUSDT' })) as Array<Record<string, unknown>>;
    expect(v2[0]).toMatchObject({ symbol: 'SOLUSDT', leverage: '10', marginType: 'cross', positionAmt: '5' });
  });
});

describe('binance simulator: USDⓈ-M order lookups Binance no longer answers', () => {
  it('an order cancelled without a fill is "does not exist" once 3 days passed since it was made; a filled one stays', async () => {
    const sim = await startBinanceSim({ manualClock: Date.now() });
    try {
      sim.addAccount({ apiKey: 'old', secret: 'old-secret', futures: { USDT: 1_000 } });
      sim.setPrices({ SOLUSDT: 100 });
      const fx = binanceClient(sim.fetchImplementation, 'old', 'old-secret', 'swap');
      // Requests are signed on the simulator's clock, which stands still here and moves on by days.
      const onSimClock = <T>(request: () => Promise<T>): Promise<T> => {
        fx.options['timeDifference'] = Date.now() - sim.now();
        return request();
      };
      await fx.loadMarkets();
      const resting = await onSimClock(() => fx.createOrder(SOL, 'limit', 'buy', 1, 97, { clientOrderId: 'gone' }));
      await onSimClock(() => fx.cancelOrder(idOf(resting), SOL));
      await onSimClock(() => fx.createOrder(SOL, 'market', 'buy', 1, undefined, { clientOrderId: 'kept' }));
      sim.advanceClock(3 * 86_400_000 - 60_000);
      expect((await onSimClock(() => fx.fetchOrder('', SOL, { clientOrderId: 'gone' }))).status).toBe('canceled');
      sim.advanceClock(120_000);
      expect(await caught(() => onSimClock(() => fx.fetchOrder('', SOL, { clientOrderId: 'gone' })))).toBeInstanceOf(ccxt.OrderNotFound);
      expect((await onSimClock(() => fx.fetchOrder('', SOL, { clientOrderId: 'kept' }))).status).toBe('closed');
    } finally {
      await sim.close();
    }
  });
});
