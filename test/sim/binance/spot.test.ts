import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared } from '../../support/shared';
import { startBinanceSim } from './index';
import type { BinanceSim } from './index';
import { binanceClient, caught, idOf } from './testkit';
import type { Binance } from './testkit';

describe('binance simulator: spot through the real ccxt client', () => {
  let sim: BinanceSim;
  let ex: Binance;

  beforeAll(async () => {
    sim = await startBinanceSim({ seed: 7 });
    sim.addAccount({ apiKey: 'spot-key', secret: 'spot-secret', spot: { USDT: 10_000, BTC: 0.5 } });
    ex = binanceClient(sim.fetchImplementation, 'spot-key', 'spot-secret');
    await ex.loadMarkets();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('loads spot and linear markets with precision and limits from the exchange filters', () => {
    const btc = ex.market('BTC/USDT');
    expect(btc.spot).toBe(true);
    expect(btc.precision.amount).toBe(0.00001);
    expect(btc.precision.price).toBe(0.01);
    expect(btc.limits.cost?.min).toBe(5);
    const perp = ex.market('BTC/USDT:USDT');
    expect(perp.linear).toBe(true);
    expect(perp.precision.amount).toBe(0.001);
    expect(perp.limits.cost?.min).toBe(100);
    expect(Object.values(ex.markets ?? {}).some((m) => m?.inverse === true)).toBe(false);
    // Only the two exchangeInfo calls: no currencies, no margin pairs.
    expect(sim.requestLog.map((e) => e.path).sort()).toEqual(['/api/v3/exchangeInfo', '/fapi/v1/exchangeInfo']);
  });

  it('serves the simulator clock and every answer carries the used weight', async () => {
    expect(Math.abs(((await ex.fetchTime()) ?? 0) - sim.now())).toBeLessThan(1000);
    await ex.fetchTime();
    expect(ex.last_response_headers?.['X-Mbx-Used-Weight-1m']).toBeDefined();
    expect(Number(ex.last_response_headers?.['X-Mbx-Used-Weight-1m'])).toBe(sim.usedWeight('spot'));
  });

  it('fetches the spot balance', async () => {
    const b = await ex.fetchBalance();
    expect(b.USDT).toMatchObject({ free: 10_000, used: 0, total: 10_000 });
    expect(b.BTC?.free).toBe(0.5);
  });

  it('fills a market buy at the current price and reports the trade with its commission', async () => {
    sim.setPrice('BTCUSDT', 50_000);
    const o = await ex.createOrder('BTC/USDT', 'market', 'buy', 0.01, undefined, { clientOrderId: 'spotMkt1' });
    expect(o).toMatchObject({ status: 'closed', filled: 0.01, average: 50_000, clientOrderId: 'spotMkt1' });
    const trades = await ex.fetchMyTrades('BTC/USDT');
    expect(trades).toHaveLength(1);
    expect(trades[0]).toMatchObject({ side: 'buy', price: 50_000, amount: 0.01, takerOrMaker: 'taker', fee: { currency: 'BTC', cost: 0.00001 } });
    const b = await ex.fetchBalance();
    expect(b.USDT?.free).toBe(9_500);
    expect(b.BTC?.free).toBe(0.50999);
  });

  it('charges the fee in BNB at the 25 % discount with BNB burn on, and in the usual asset once BNB runs out', async () => {
    sim.addAccount({ apiKey: 'bnb-spot', secret: 'bnb-spot-secret', spot: { USDT: 1_000, BNB: 0.0001 } });
    sim.setBnbFeeBurn('bnb-spot', 'spot', true);
    sim.setPrices({ ETHUSDT: 3_000, BNBUSDT: 600 }, 'spot');
    const bx = binanceClient(sim.fetchImplementation, 'bnb-spot', 'bnb-spot-secret');
    bx.setMarketsFromExchange(ex);
    // 0.02 ETH at 3,000 = 60 USDT; 0.1 % × 0.75 = 0.045 USDT = 0.000075 BNB at 600.
    await bx.createOrder('ETH/USDT', 'market', 'buy', 0.02);
    // Only 0.000025 BNB left: the next fee is taken in ETH, as Binance does.
    await bx.createOrder('ETH/USDT', 'market', 'buy', 0.02);
    const trades = await bx.fetchMyTrades('ETH/USDT');
    expect(trades.map((t) => [t.fee?.cost, t.fee?.currency])).toEqual([
      [0.000075, 'BNB'],
      [0.00002, 'ETH'],
    ]);
    const b = await bx.fetchBalance();
    expect([b.BNB?.free, b.ETH?.free, b.USDT?.free]).toEqual([0.000025, 0.03998, 880]);
  });

  it('rests a limit order, locks its funds, and fills it as maker when the price crosses', async () => {
    const o = await ex.createOrder('BTC/USDT', 'limit', 'buy', 0.002, 49_000, { clientOrderId: 'spotLim1' });
    expect(o.status).toBe('open');
    expect((await ex.fetchOpenOrders('BTC/USDT')).map((x) => x.clientOrderId)).toEqual(['spotLim1']);
    expect((await ex.fetchBalance()).USDT).toMatchObject({ free: 9_402, used: 98 });
    sim.setPrice('BTCUSDT', 49_500);
    expect((await ex.fetchOrder(idOf(o), 'BTC/USDT')).status).toBe('open');
    sim.setPrice('BTCUSDT', 48_990);
    const done = await ex.fetchOrder('', 'BTC/USDT', { clientOrderId: 'spotLim1' });
    expect(done).toMatchObject({ status: 'closed', filled: 0.002, price: 49_000 });
    const last = (await ex.fetchMyTrades('BTC/USDT')).at(-1);
    expect(last).toMatchObject({ takerOrMaker: 'maker', price: 49_000, order: o.id });
    expect((await ex.fetchBalance()).USDT).toMatchObject({ free: 9_402, used: 0 });
  });

  it('pages own trades with fromId and since', async () => {
    const all = await ex.fetchMyTrades('BTC/USDT');
    expect(all.length).toBe(2);
    const fromSecond = await ex.fetchMyTrades('BTC/USDT', undefined, undefined, { fromId: all[1]?.id });
    expect(fromSecond.map((t) => t.id)).toEqual([all[1]?.id]);
    const since = await ex.fetchMyTrades('BTC/USDT', all[0]?.timestamp, 1);
    expect(since.map((t) => t.id)).toEqual([all[0]?.id]);
    const orders = await ex.fetchOrders('BTC/USDT');
    expect(orders.map((o) => o.clientOrderId)).toEqual(['spotMkt1', 'spotLim1']);
  });

  it('cancels an order and frees its funds', async () => {
    const o = await ex.createOrder('ETH/USDT', 'limit', 'buy', 0.1, 2_900, { clientOrderId: 'spotCancel1' });
    const c = await ex.cancelOrder(idOf(o), 'ETH/USDT');
    expect(c.status).toBe('canceled');
    expect((await ex.fetchBalance()).USDT?.used).toBe(0);
    expect(await caught(() => ex.cancelOrder(idOf(o), 'ETH/USDT'))).toBeInstanceOf(ccxt.OrderNotFound);
    expect(await caught(() => ex.fetchOrder('999', 'ETH/USDT'))).toBeInstanceOf(ccxt.OrderNotFound);
  });

  it('rejects a duplicate client order id among open orders with -2010 "Duplicate order sent."', async () => {
    await ex.createOrder('BTC/USDT', 'limit', 'sell', 0.001, 52_000, { clientOrderId: 'spotDup1' });
    const e = await caught(() => ex.createOrder('BTC/USDT', 'limit', 'sell', 0.001, 52_500, { clientOrderId: 'spotDup1' }));
    expect(e).toBeInstanceOf(ccxt.InvalidOrder);
    expect(e.message).toContain('{"code":-2010,"msg":"Duplicate order sent."}');
    await ex.cancelOrder('', 'BTC/USDT', { clientOrderId: 'spotDup1' });
    // Once the first is no longer open, the id may be reused (as on Binance).
    const again = await ex.createOrder('BTC/USDT', 'limit', 'sell', 0.001, 52_000, { clientOrderId: 'spotDup1' });
    expect(again.status).toBe('open');
    await ex.cancelOrder(idOf(again), 'BTC/USDT');
  });

  it('enforces LOT_SIZE, PRICE_FILTER, NOTIONAL and balance with Binance codes', async () => {
    const send = (params: Record<string, string>) => ex.privatePostOrder({ symbol: 'BTCUSDT', newOrderRespType: 'FULL', ...params });
    const lot = await caught(() => send({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.000015', price: '49000' }));
    expect(lot.message).toContain('"code":-1013,"msg":"Filter failure: LOT_SIZE"');
    const tick = await caught(() => send({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.001', price: '49000.005' }));
    expect(tick.message).toContain('Filter failure: PRICE_FILTER');
    const notional = await caught(() => send({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.00001', price: '49000' }));
    expect(notional.message).toContain('"code":-1013,"msg":"Filter failure: NOTIONAL"');
    const precision = await caught(() => send({ side: 'BUY', type: 'MARKET', quantity: '0.000000001' }));
    expect(precision.message).toContain('-1111');
    const poor = await caught(() => ex.createOrder('BTC/USDT', 'market', 'buy', 1));
    expect(poor).toBeInstanceOf(ccxt.InsufficientFunds);
    expect(poor.message).toContain('Account has insufficient balance for requested action.');
  });

  it('triggers a spot stop-loss (STOP_LOSS) on price and rejects one that would trigger at once', async () => {
    sim.setPrice('BTCUSDT', 50_000);
    const immediate = await caught(() => ex.createOrder('BTC/USDT', 'market', 'sell', 0.001, undefined, { stopLossPrice: 51_000 }));
    expect(immediate).toBeInstanceOf(ccxt.OrderImmediatelyFillable);
    const sl = await ex.createOrder('BTC/USDT', 'market', 'sell', 0.001, undefined, { stopLossPrice: 45_000, clientOrderId: 'spotSl1' });
    expect((await ex.fetchOrder(idOf(sl), 'BTC/USDT')).status).toBe('open');
    sim.setPrice('BTCUSDT', 44_000);
    const done = await ex.fetchOrder(idOf(sl), 'BTC/USDT');
    expect(done).toMatchObject({ status: 'closed', filled: 0.001, triggerPrice: 45_000 });
    expect((await ex.fetchMyTrades('BTC/USDT')).at(-1)).toMatchObject({ side: 'sell', price: 44_000, fee: { currency: 'USDT', cost: 0.044 } });
  });

  it('returns the configured key restrictions from sapiGetAccountApiRestrictions', async () => {
    sim.addAccount({ apiKey: 'risky', secret: 'risky-secret', restrictions: { enableWithdrawals: true, ipRestrict: false } });
    const risky = binanceClient(sim.fetchImplementation, 'risky', 'risky-secret');
    const r = (await risky.sapiGetAccountApiRestrictions()) as Record<string, unknown>;
    expect(r).toMatchObject({ enableWithdrawals: true, ipRestrict: false, enableReading: true, enableInternalTransfer: false, permitsUniversalTransfer: false });
    const safe = (await ex.sapiGetAccountApiRestrictions()) as Record<string, unknown>;
    expect(safe).toMatchObject({ enableWithdrawals: false, ipRestrict: true, enableFutures: true, enableSpotAndMarginTrading: true });
    // Only a key without IP restriction has a date when its trading permission ends: 90 days after creation.
    expect(r['tradingAuthorityExpirationTime']).toBe(Number(r['createTime']) + 90 * 86_400_000);
    expect(safe['tradingAuthorityExpirationTime']).toBeUndefined();
    // /sapi counts in its own budget and says so in its own header only, as Binance does.
    expect(Number(ex.last_response_headers?.['X-Sapi-Used-Ip-Weight-1m'])).toBe(sim.usedWeight('sapi'));
    expect(ex.last_response_headers?.['X-Mbx-Used-Weight-1m']).toBeUndefined();
  });

  it('serves tickers, order books and trading fees', async () => {
    expect(await ex.fetchTicker('ETH/USDT')).toMatchObject({ last: sim.price('ETHUSDT', 'spot') });
    expect((await ex.fetchOrderBook('ETH/USDT', 5)).bids).toHaveLength(5);
    expect(await ex.fetchTradingFee('ETH/USDT')).toMatchObject({ maker: 0.001, taker: 0.001 });
  });

  it('logs requests with parameters but never the signature', () => {
    const order = sim.requestLog.find((e) => e.method === 'POST' && e.path === '/api/v3/order' && e.status === 200);
    expect(order).toMatchObject({ host: 'api.binance.com', apiKey: 'spot-key', weight: 1 });
    expect(order?.params.symbol).toBe('BTCUSDT');
    expect(order?.params.timestamp).toBeDefined();
    expect(sim.requestLog.every((e) => !('signature' in e.params))).toBe(true);
  });

  it.runIf(hasShared)('sent nothing outside the published spot spec', () => {
    expect(sim.specViolations).toEqual([]);
  });
});

describe.runIf(hasShared)('binance simulator: spot spec check', () => {
  it('answers an unknown or malformed parameter with an error and records a spec violation', async () => {
    const sim = await startBinanceSim();
    sim.addAccount({ apiKey: 'a', secret: 'sa', spot: { USDT: 1_000 } });
    const ex = binanceClient(sim.fetchImplementation, 'a', 'sa');
    const unknown = await caught(() => ex.privateGetAccount({ colour: 'blue' }));
    expect(unknown).toBeInstanceOf(ccxt.BadRequest);
    expect(unknown.message).toContain('-1104');
    const malformed = await caught(() =>
      ex.privatePostOrder({ symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '1e-3', price: '50000' }),
    );
    expect(malformed.message).toContain('-1100');
    const badEnum = await caught(() => ex.privatePostOrder({ symbol: 'BTCUSDT', side: 'HOLD', type: 'MARKET', quantity: '0.001' }));
    expect(badEnum.message).toContain('-1117');
    expect(sim.specViolations.map((v) => [v.problem, v.param])).toEqual([
      ['unknown-param', 'colour'],
      ['malformed-param', 'quantity'],
      ['malformed-param', 'side'],
    ]);
    await sim.close();
  });
});
