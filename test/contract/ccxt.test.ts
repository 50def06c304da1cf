/**
 * The real ccxt client against the Binance simulator, through the gateway factory: the contract
 * suite on spot and futures, then keys, audits, hedge mode, the shared rate limiter and the host
 * allow-list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExchangeError } from '../../src/exchange/errors';
import { createGatewayFactory, RateLimiterRegistry } from '../../src/exchange/factory';
import { MemoryPaperStore } from '../../src/exchange/paper';
import { inSignalLane } from '../../src/exchange/requestLane';
import type { ExchangeErrorKind } from '../../src/exchange/errors';
import { Secret } from '../../src/vault/secret';
import { StrayHostError } from '../sim/binance';
import { gatewayContract } from './gateway.contract';
import type { ContractHarness } from './gateway.contract';
import { silentLog, simSymbol, simWorld } from './harness';
import type { SimWorld } from './harness';

const LEVERAGE_PATHS = new Set(['/fapi/v1/leverage', '/fapi/v1/marginType']);

async function binanceHarness(marketType: 'spot' | 'futures'): Promise<ContractHarness> {
  const world = await simWorld();
  const symbol = marketType === 'spot' ? 'SOL/USDT' : 'SOL/USDT:USDT';
  const tiny = marketType === 'spot' ? { symbol: 'SOL/USDT', quantity: 0.01 } : { symbol: 'BTC/USDT:USDT', quantity: 0.001 };
  world.sim.setPrices({ SOLUSDT: 100, BTCUSDT: 50_000 });
  return {
    label: `ccxt binance ${marketType}`,
    marketType,
    symbol,
    price: 100,
    entryQuantity: marketType === 'spot' ? 1 : 2,
    // Spot buys pay their fee in the base asset, so the legs sell a little less than was bought.
    legQuantity: marketType === 'spot' ? 0.4 : 1,
    tiny,
    funded: 10_000,
    async setPrice(price) {
      world.sim.setPrice(simSymbol(symbol), price);
    },
    async subject() {
      const { apiKey, row } = world.account({ marketType });
      const gateway = world.factory.forAccount(row);
      return {
        gateway,
        settle: async () => {},
        leverageRequests: () => world.sim.requestLog.filter((e) => e.apiKey === apiKey && LEVERAGE_PATHS.has(e.path)).length,
      };
    },
    async close() {
      // Every spot request followed Binance's published spec (when ../shared has it).
      const violations = world.sim.specViolations;
      await world.close();
      if (violations.length > 0) throw new Error(`spot spec violations: ${JSON.stringify(violations)}`);
    },
  };
}

describe('gateway contract: ccxt binance spot (simulator)', () => {
  gatewayContract(() => binanceHarness('spot'));
});

describe('gateway contract: ccxt binance USDⓈ-M futures (simulator)', () => {
  gatewayContract(() => binanceHarness('futures'));
});

async function kindOf(run: () => Promise<unknown>): Promise<ExchangeErrorKind | string> {
  try {
    await run();
  } catch (error) {
    return isExchangeError(error) ? error.kind : `foreign: ${String(error)}`;
  }
  return 'no error';
}

describe('ccxt gateway on the simulator: keys, audits, modes, limits', () => {
  let world: SimWorld;

  beforeAll(async () => {
    world = await simWorld();
    world.sim.setPrices({ SOLUSDT: 100, BTCUSDT: 50_000 });
  });
  afterAll(async () => {
    await world.close();
  });

  it('a wrong secret is auth-failed (Binance -1022), and the message carries no secret', async () => {
    const { row } = world.account({ marketType: 'futures', storedSecret: 'not-the-secret' });
    const gateway = world.factory.forAccount(row);
    try {
      await gateway.balance();
      expect.unreachable();
    } catch (error) {
      expect(isExchangeError(error, 'auth-failed')).toBe(true);
      expect((error as Error).message).not.toContain('not-the-secret');
      expect((error as Error).message).not.toMatch(/signature=|\?timestamp/);
      expect((error as { exchangeCode?: string }).exchangeCode).toBe('-1022');
    }
  });

  it('spot equity counts the coins held at market, not the USDT alone (issue #12 item 7)', async () => {
    const { apiKey, row } = world.account({ marketType: 'spot', spotUsdt: 1_000 });
    world.sim.fund(apiKey, 'spot', 'BTC', 0.5);
    world.sim.fund(apiKey, 'spot', 'SOL', 10);
    const balance = await world.factory.forAccount(row).balance();
    // 1,000 USDT + 0.5 BTC at 50,000 + 10 SOL at 100; only the USDT is free to open with.
    expect(balance).toMatchObject({ currency: 'USDT', free: 1_000, equity: 27_000 });
  });

  it('a balance is as of its read, not of the account\'s last change (Binance\'s updateTime)', async () => {
    const { row } = world.account({ marketType: 'spot', spotUsdt: 1_000 });
    // Nothing happens on the account after it was opened; the read comes later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const readFrom = Date.now();
    const balance = await world.factory.forAccount(row).balance();
    expect(balance.asOf).toBeGreaterThanOrEqual(readFrom);
  });

  it('a failing price read values the coins at nothing rather than failing the balance read', async () => {
    const { apiKey, row } = world.account({ marketType: 'spot', spotUsdt: 1_000 });
    world.sim.fund(apiKey, 'spot', 'BTC', 0.5);
    world.sim.inject({ kind: 'http-5xx', path: '/api/v3/ticker/price', method: 'GET', count: 1 });
    const balance = await world.factory.forAccount(row).balance();
    expect(balance).toMatchObject({ currency: 'USDT', free: 1_000, equity: 1_000 });
  });

  for (const marketType of ['futures', 'spot'] as const)
    it(`${marketType}: last prices of several symbols come in one read of all symbols (weight ${marketType === 'futures' ? 2 : 4}), not one per symbol`, async () => {
      const { row } = world.account({ marketType });
      const gateway = world.factory.forAccount(row);
      const [btc, eth] = marketType === 'futures' ? ['BTC/USDT:USDT', 'ETH/USDT:USDT'] : ['BTC/USDT', 'ETH/USDT'];
      world.sim.setPrice('ETHUSDT', 3_100, 'both');
      await gateway.markets();
      const from = world.sim.requestLog.length;
      const prices = await gateway.lastPrices!([btc!, eth!, 'NOPE/USDT']);
      expect(Object.fromEntries(prices)).toEqual({ [btc!]: 50_000, [eth!]: 3_100 });
      const reads = world.sim.requestLog.slice(from).map((entry) => [entry.path, entry.weight]);
      expect(reads).toEqual([[marketType === 'futures' ? '/fapi/v2/ticker/price' : '/api/v3/ticker/price', marketType === 'futures' ? 2 : 4]]);
    });

  it('reads the futures mark price (premiumIndex) for unrealised PnL', async () => {
    const { row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    expect(await gateway.markPrice?.('BTC/USDT:USDT')).toBe(50_000);
    expect(world.sim.requestLog.some((entry) => entry.path === '/fapi/v1/premiumIndex')).toBe(true);
  });

  it('an unknown API key is auth-failed (-2015)', async () => {
    const gateway = world.factory.probe({
      exchangeId: 'binance',
      marketType: 'spot',
      mode: 'live',
      apiKey: new Secret('nobody'),
      secret: new Secret('nothing'),
    });
    expect(await kindOf(() => gateway.balance())).toBe('auth-failed');
    expect((await gateway.auditKey()).verdict).toBe('refused');
  });

  it('a key that can withdraw or transfer is refused; one without IP restriction is accepted with a warning', async () => {
    const withdraw = world.account({ marketType: 'spot' });
    world.sim.setRestrictions(withdraw.apiKey, { enableWithdrawals: true });
    const refused = await world.factory.forAccount(withdraw.row).auditKey();
    expect(refused).toMatchObject({ verdict: 'refused', canWithdraw: true });
    expect(refused.notes.join(' ')).toMatch(/Withdrawals are enabled/);

    const transfer = world.account({ marketType: 'spot' });
    world.sim.setRestrictions(transfer.apiKey, { permitsUniversalTransfer: true });
    expect(await world.factory.forAccount(transfer.row).auditKey()).toMatchObject({ verdict: 'refused', canTransfer: true });

    const internal = world.account({ marketType: 'spot' });
    world.sim.setRestrictions(internal.apiKey, { enableInternalTransfer: true });
    expect(await world.factory.forAccount(internal.row).auditKey()).toMatchObject({ verdict: 'refused', canTransfer: true });

    const open = world.account({ marketType: 'futures' });
    const expiresAt = Date.UTC(2026, 3, 5, 8, 0, 0);
    world.sim.setRestrictions(open.apiKey, { ipRestrict: false, tradingAuthorityExpirationTime: expiresAt });
    const warned = await world.factory.forAccount(open.row).auditKey();
    expect(warned).toMatchObject({ verdict: 'ok', canWithdraw: false, canTransfer: false, ipRestricted: false, futuresEnabled: true });
    expect(warned.notes.join(' ')).toMatch(/not restricted to trusted IPs/);
    // Binance reports when such a key loses its trading permission.
    expect(warned.tradingExpiresAt).toBe(expiresAt);
    expect(warned.notes.join(' ')).toContain("ends this key's trading permission on 2026-04-05");
    expect((await world.factory.forAccount(transfer.row).auditKey()).tradingExpiresAt).toBeNull();
  });

  it('fails closed: an audit endpoint that errors refuses the key', async () => {
    const { apiKey, row } = world.account({ marketType: 'spot' });
    const fault = world.sim.inject({ kind: 'http-5xx', path: '/sapi/v1/account/apiRestrictions', apiKey, status: 503, count: 1 });
    const audit = await world.factory.forAccount(row).auditKey();
    expect(audit.verdict).toBe('refused');
    expect(audit.canWithdraw).toBeNull();
    expect(audit.notes.join(' ')).toMatch(/could not be checked/);
    expect(fault).toBeGreaterThan(0);
  });

  it('fails closed: an audit answer of unknown shape refuses the key', async () => {
    // The transport is wired in code: answer the permission check with a shape Binance never sent.
    const factory = createGatewayFactory({
      vault: world.vault,
      fetchImplementation: async (url, init) =>
        new URL(url).pathname === '/sapi/v1/account/apiRestrictions'
          ? new Response(JSON.stringify({ enableReading: true, permissions: ['SPOT'] }), { status: 200, headers: { 'Content-Type': 'application/json' } })
          : world.sim.fetchImplementation(url, init),
      paperStore: new MemoryPaperStore(),
      now: Date.now,
      log: silentLog,
      paperSlippageBps: 0,
      paperStartingBalanceUsd: 0,
      rateLimiters: new RateLimiterRegistry(),
    });
    const audit = await factory.forAccount(world.account({ marketType: 'spot' }).row).auditKey();
    expect(audit.verdict).toBe('refused');
    expect(audit.notes.join(' ')).toMatch(/form we do not know/);
    factory.close();
  });

  it('demo mode talks to the demo hosts and does not audit demo keys', async () => {
    const { apiKey, row } = world.account({ marketType: 'futures', mode: 'demo' });
    const gateway = world.factory.forAccount(row);
    expect((await gateway.balance()).free).toBe(10_000);
    const hosts = new Set(world.sim.requestLog.filter((e) => e.apiKey === apiKey).map((e) => e.host));
    expect([...hosts]).toEqual(['demo-fapi.binance.com']);
    expect((await gateway.auditKey()).verdict).toBe('ok');
  });

  it('hedge mode: preflight reads it, explains a mismatch, and orders carry the position side', async () => {
    const stale = world.account({ marketType: 'futures', hedgeMode: true, positionMode: 'one-way' });
    const preflight = await world.factory.forAccount(stale.row).preflight();
    expect(preflight).toMatchObject({ positionMode: 'hedge', futuresEnabled: true });
    expect(preflight.problems.join(' ')).toMatch(/Hedge position mode.*-4061/);

    const hedged = world.account({ marketType: 'futures', hedgeMode: true, positionMode: 'hedge' });
    const gateway = world.factory.forAccount(hedged.row);
    expect((await gateway.preflight()).problems).toEqual([]);
    const symbol = 'SOL/USDT:USDT';
    await gateway.placeOrder({ clientOrderId: 'hedgeopen1', symbol, side: 'buy', type: 'market', quantity: 2, reduceOnly: false });
    await gateway.placeOrder({
      clientOrderId: 'hedgesl1',
      symbol,
      side: 'sell',
      type: 'stop-loss',
      triggerPrice: 90,
      quantity: 2,
      reduceOnly: true,
    });
    const sent = world.sim.requestLog.filter((e) => e.apiKey === hedged.apiKey && e.method === 'POST' && e.path === '/fapi/v1/order');
    expect(sent.find((e) => e.params.newClientOrderId === 'hedgeopen1')?.params).toMatchObject({ positionSide: 'LONG' });
    expect(world.sim.requestLog.find((e) => e.params.clientAlgoId === 'hedgesl1')?.params).toMatchObject({ positionSide: 'LONG' });
    expect(world.sim.requestLog.find((e) => e.params.clientAlgoId === 'hedgesl1')?.params.reduceOnly).toBeUndefined();
    await gateway.placeOrder({ clientOrderId: 'hedgeclose1', symbol, side: 'sell', type: 'market', quantity: 2, reduceOnly: true });
    expect(await gateway.positions()).toEqual([]);

    // The same account set up as one-way sends no position side: Binance's -4061, in plain words.
    const wrong = world.factory.forAccount({ ...stale.row });
    const error = await wrong
      .placeOrder({ clientOrderId: 'hedgewrong1', symbol, side: 'buy', type: 'market', quantity: 1, reduceOnly: false })
      .catch((e: unknown) => e);
    expect(isExchangeError(error, 'invalid-order')).toBe(true);
    expect((error as { exchangeCode?: string }).exchangeCode).toBe('-4061');
    expect((error as Error).message).toMatch(/position mode \(one-way vs hedge\)/);
  });

  it('preflight reports a key without futures permission in plain words', async () => {
    const { apiKey, row } = world.account({ marketType: 'futures' });
    world.sim.setRestrictions(apiKey, { enableFutures: false });
    const preflight = await world.factory.forAccount(row).preflight();
    expect(preflight.futuresEnabled).toBe(false);
    expect(preflight.problems.join(' ')).toMatch(/not allowed to trade futures/);
    expect((await world.factory.forAccount(row).auditKey()).futuresEnabled).toBe(false);
  });

  it('preflight reads Multi-Assets mode: cross margin, in plain words; ensureLeverage trades such an account cross', async () => {
    const single = world.account({ marketType: 'futures' });
    expect(await world.factory.forAccount(single.row).preflight()).toMatchObject({ multiAssets: false });

    const multi = world.account({ marketType: 'futures' });
    world.sim.setAccountRules(multi.apiKey, { multiAssetsMargin: true });
    const gateway = world.factory.forAccount(multi.row);
    const preflight = await gateway.preflight();
    expect(preflight).toMatchObject({ multiAssets: true, marginMode: 'cross', futuresEnabled: true });
    expect(preflight.problems.join(' ')).toMatch(/Multi-Assets mode.*trades it in cross margin/);

    // Binance refuses isolated here (-4168): the gateway trades cross instead of failing the signal.
    await gateway.ensureLeverage('SOL/USDT:USDT', 5, 'isolated');
    const simAccount = world.sim.engine.account(multi.apiKey);
    expect(world.sim.engine.marginTypeOf(simAccount, 'SOLUSDT')).toBe('CROSSED');
    expect(world.sim.engine.leverageOf(simAccount, 'SOLUSDT')).toBe(5);
    expect(world.sim.requestLog.filter((e) => e.apiKey === multi.apiKey && e.code === -4168)).toHaveLength(1);
  });

  it('"already set" answers for leverage and margin mode are not errors', async () => {
    const { row } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await gateway.ensureLeverage('BTC/USDT:USDT', 10, 'isolated');
    // A new instance has no cache: the exchange answers -4046 "No need to change margin type."
    world.factory.invalidate(row.id);
    await world.factory.forAccount(row).ensureLeverage('BTC/USDT:USDT', 10, 'isolated');
  });

  it('a stray host throws and never reaches the network', async () => {
    await expect(world.sim.fetchImplementation('https://example.com/api/v3/time')).rejects.toBeInstanceOf(StrayHostError);
    const before = world.sim.requestLog.length;
    // bybit is a real exchange, but the simulator serves Binance only: its request must throw.
    const bybit = world.factory.probe({
      exchangeId: 'bybit',
      marketType: 'spot',
      mode: 'live',
      apiKey: new Secret('k'),
      secret: new Secret('s'),
    });
    const error = await bybit.balance().catch((e: unknown) => e);
    expect(isExchangeError(error)).toBe(true);
    expect((error as Error).message).toMatch(/refusing request to api\.bybit\.com/);
    expect(world.sim.requestLog.length).toBe(before);
  });
});

describe('ccxt gateway on the simulator: one rate limiter per exchange', () => {
  let world: SimWorld;

  beforeAll(async () => {
    world = await simWorld();
    world.sim.setPrices({ SOLUSDT: 100, BTCUSDT: 50_000 });
  });
  afterAll(async () => {
    await world.close();
  });

  it('after a 429 with Retry-After, no request from ANY account reaches the exchange until it expires', async () => {
    const a = world.factory.forAccount(world.account({ marketType: 'futures' }).row);
    const b = world.factory.forAccount(world.account({ marketType: 'spot' }).row);
    const c = world.factory.forAccount(world.account({ marketType: 'futures' }).row);
    await Promise.all([a.markets(), b.balance(), c.balance()]);

    world.sim.inject({ kind: 'rate-limit', path: '/fapi/v3/account', retryAfterSec: 2, count: 1 });
    const limited = await a.balance().catch((e: unknown) => e);
    expect(isExchangeError(limited, 'rate-limited')).toBe(true);
    expect((limited as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(1000);
    const blockedAt = world.sim.requestLog.length;

    const attempts = await Promise.all([
      b.balance().catch((e: unknown) => e),
      c.quote('SOL/USDT:USDT').catch((e: unknown) => e),
      a.placeOrder({ clientOrderId: 'rl1', symbol: 'SOL/USDT:USDT', side: 'buy', type: 'market', quantity: 1, reduceOnly: false }).catch((e: unknown) => e),
      b.serverTime().catch((e: unknown) => e),
    ]);
    for (const attempt of attempts) {
      expect(isExchangeError(attempt, 'rate-limited'), String(attempt)).toBe(true);
      expect((attempt as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    }
    expect(world.sim.requestLog.length).toBe(blockedAt);

    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await b.balance()).currency).toBe('USDT');
    expect(await c.quote('SOL/USDT:USDT')).toMatchObject({ last: 100 });
    // The simulator saw no request inside its Retry-After window, so it never escalated to a 418 ban.
    expect(world.sim.requestLog.filter((e) => e.status === 418)).toEqual([]);
  });

  it('with the minute budget short, a signal read and a stop go ahead of a background read that waits', async () => {
    // Windows are minutes of the real clock: not too near the end of one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoMinute));
    const { row, apiKey } = world.account({ marketType: 'futures' });
    const gateway = world.factory.forAccount(row);
    await gateway.placeOrder({ clientOrderId: 'laneEntry1', symbol: 'SOL/USDT:USDT', side: 'buy', type: 'market', quantity: 1, reduceOnly: false });
    for (let i = 0; i < 7; i += 1) await gateway.positions();
    // Room for about 30 weight more: the background share (60 %) of it is already spent.
    const limiter = world.rateLimiters.get('binance');
    const used = limiter.snapshot().pools['fapi']!.used;
    limiter.setLimit('fapi', Math.ceil((used + 30) / 0.9));
    const sent = (path: string) => world.sim.requestLog.filter((e) => e.apiKey === apiKey && e.path === path).length;
    const positionReads = sent('/fapi/v3/positionRisk');

    let backgroundDone = false;
    void gateway.positions().then(
      () => (backgroundDone = true),
      () => (backgroundDone = true),
    );
    const balance = await inSignalLane(() => gateway.balance());
    expect(balance.currency).toBe('USDT');
    // Background code placing a stop: writes never wait behind reads.
    const stop = await gateway.placeOrder({
      clientOrderId: 'laneStop1',
      symbol: 'SOL/USDT:USDT',
      side: 'sell',
      type: 'stop-loss',
      triggerPrice: 90,
      quantity: 1,
      reduceOnly: true,
    });
    expect(stop).toMatchObject({ clientOrderId: 'laneStop1', status: 'open' });
    expect(backgroundDone).toBe(false);
    expect(sent('/fapi/v3/positionRisk')).toBe(positionReads);
    limiter.setLimit('fapi', 2400);
  });

  it("follows the exchange's used-weight header", async () => {
    const gateway = world.factory.forAccount(world.account({ marketType: 'spot' }).row);
    await gateway.balance();
    const snapshot = world.rateLimiters.get('binance').snapshot();
    expect(snapshot.pools['api']?.used).toBeGreaterThanOrEqual(world.sim.usedWeight('spot'));
    expect(snapshot.pools['api']?.limit).toBe(6000);
    expect(snapshot.pools['fapi']?.limit).toBe(2400);
  });
});
