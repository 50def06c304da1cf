import ccxt, { type Exchange } from 'ccxt';
import { describe, expect, it } from 'vitest';
import type { OrderIntent } from '../../../src/exchange/gateway';
import { venueFor, type VenueAccount, type VenueCalls } from '../../../src/exchange/ccxt/venues';

const account = (over: Partial<VenueAccount>): VenueAccount => ({
  exchangeId: 'binance',
  marketType: 'futures',
  mode: 'live',
  positionMode: 'one-way',
  exchangeNow: () => 1_700_000_000_000,
  ...over,
});

const stop: OrderIntent = { clientOrderId: 'sl1', symbol: 'BTC/USDT:USDT', side: 'sell', type: 'stop-loss', quantity: 1, triggerPrice: 90, reduceOnly: false };
const entry: OrderIntent = { clientOrderId: 'e1', symbol: 'BTC/USDT:USDT', side: 'buy', type: 'market', quantity: 1, reduceOnly: false };

/** Calls that hand the dialect this instance, as the gateway would once markets and clock are ready. */
const callsOn = (exchange: Exchange): VenueCalls => ({
  call: (_action, run) => run(exchange),
  ready: async () => exchange,
  leverageCaps: async () => new Map(),
});

describe('venue dialects', () => {
  it('Binance names the position side in hedge mode (never reduceOnly) and reduceOnly in one-way mode', () => {
    const hedge = venueFor(account({ positionMode: 'hedge' }));
    expect(hedge.positionParams(stop)).toEqual({ positionSide: 'LONG' });
    expect(hedge.positionParams(entry)).toEqual({ positionSide: 'LONG' });
    const oneWay = venueFor(account({}));
    expect(oneWay.positionParams(stop)).toEqual({ reduceOnly: true });
    expect(oneWay.positionParams(entry)).toEqual({});
  });

  it('Binance futures keeps stops and targets in the algo service; spot and other venues do not', () => {
    expect(venueFor(account({})).isConditional(stop)).toBe(true);
    expect(venueFor(account({})).isConditional(entry)).toBe(false);
    expect(venueFor(account({ marketType: 'spot' })).isConditional(stop)).toBe(false);
    expect(venueFor(account({ exchangeId: 'okx' })).isConditional(stop)).toBe(false);
    expect(venueFor(account({ exchangeId: 'binanceusdm' })).conditionalOrdersApart).toBe(true);
  });

  it("other venues use ccxt's unified hedge flag and reduceOnly", () => {
    const okx = venueFor(account({ exchangeId: 'okx', positionMode: 'hedge' }));
    expect(okx.positionParams(stop)).toEqual({ reduceOnly: true, hedged: true });
    expect(okx.positionParams(entry)).toEqual({ hedged: true });
    expect(venueFor(account({ exchangeId: 'okx' })).positionParams(entry)).toEqual({});
  });

  it('reads income and leverage caps on Binance futures only', () => {
    expect(venueFor(account({})).readsIncome).toBe(true);
    expect(venueFor(account({ marketType: 'spot' })).readsIncome).toBe(false);
    expect(venueFor(account({ exchangeId: 'bybit' })).readsIncome).toBe(false);
    expect(venueFor(account({ exchangeId: 'bybit' })).readsLeverageCaps).toBe(false);
  });

  it('Bybit looks an order up by orderLinkId among open orders, then among finished ones', async () => {
    const exchange = new ccxt.bybit();
    const asked: string[] = [];
    Object.assign(exchange, {
      market: () => ({ id: 'BTCUSDT', spot: false, symbol: 'BTC/USDT:USDT' }),
      privateGetV5OrderRealtime: async (request: Record<string, unknown>) => {
        asked.push(`realtime ${String(request['category'])} ${String(request['orderLinkId'])}`);
        return { result: { list: [] } };
      },
      privateGetV5OrderHistory: async (request: Record<string, unknown>) => {
        asked.push(`history ${String(request['category'])} ${String(request['orderLinkId'])}`);
        return { result: { list: [{ orderLinkId: 'abc', orderStatus: 'Filled' }] } };
      },
      parseOrder: (raw: Record<string, unknown>) => ({ clientOrderId: raw['orderLinkId'], status: 'closed' }),
    });
    const found = await venueFor(account({ exchangeId: 'bybit' })).fetchByClientId(exchange, 'BTC/USDT:USDT', 'abc', false);
    expect(asked).toEqual(['realtime linear abc', 'history linear abc']);
    expect(found).toMatchObject({ clientOrderId: 'abc', status: 'closed' });
  });

  it('Bybit refuses a key that can withdraw or transfer, and one it cannot read', async () => {
    const exchange = new ccxt.bybit();
    let answer: unknown = { result: { readOnly: 0, ips: ['1.2.3.4'], permissions: { Wallet: ['AccountTransfer', 'Withdraw'], ContractTrade: ['Order'] } } };
    Object.assign(exchange, { privateGetV5UserQueryApi: async () => answer });
    const bybit = venueFor(account({ exchangeId: 'bybit' }));
    const audit = await bybit.auditKey(callsOn(exchange));
    expect(audit).toMatchObject({ verdict: 'refused', canWithdraw: true, canTransfer: true, ipRestricted: true, futuresEnabled: true });
    answer = { result: { readOnly: 0, ips: ['*'], permissions: { Wallet: [], ContractTrade: ['Order'] } } };
    expect(await bybit.auditKey(callsOn(exchange))).toMatchObject({ verdict: 'ok', canWithdraw: false, ipRestricted: false });
    answer = { result: { permissions: {} } };
    expect((await bybit.auditKey(callsOn(exchange))).verdict).toBe('refused');
  });

  it('a venue without a key-permission endpoint leaves the verdict to the owner', async () => {
    const audit = await venueFor(account({ exchangeId: 'okx' })).auditKey(callsOn(new ccxt.okx()));
    expect(audit.verdict).toBe('unknown');
    expect(audit.notes[0]).toMatch(/withdrawals are off/);
  });

  it('Binance refuses a key whose permission answer it does not know', async () => {
    const exchange = new ccxt.binance();
    Object.assign(exchange, { sapiGetAccountApiRestrictions: async () => ({ enableWithdrawals: false }) });
    const audit = await venueFor(account({})).auditKey(callsOn(exchange));
    expect(audit.verdict).toBe('refused');
  });
});
