import { describe, expect, it } from 'vitest';
import { isExchangeError } from '../../../src/exchange/errors';
import { apiHosts, buildExchange, guardedFetch } from '../../../src/exchange/ccxt/exchange';
import { ExchangeRateLimiter, RateLimiterRegistry } from '../../../src/exchange/ccxt/rateLimiter';

const limiter = () =>
  new ExchangeRateLimiter({
    exchangeId: 'binance',
    pools: { api: { limit: 6000, windowMs: 60_000 }, fapi: { limit: 2400, windowMs: 60_000 } },
    now: () => 0,
    sleep: async () => {},
  });

describe('ccxt instances', () => {
  it('refuse any host outside the exchange URL table before sending anything', async () => {
    const calls: string[] = [];
    const fetch = guardedFetch({
      exchangeId: 'binance',
      limiter: limiter(),
      inner: async (url) => {
        calls.push(url);
        return new Response('{}', { status: 200 });
      },
      hosts: () => new Set(['api.binance.com']),
    });
    for (const url of ['https://evil.example/api/v3/order', 'http://api.binance.com/api/v3/time', 'https://api.binance.com.evil.example/x']) {
      const error = await fetch(url).catch((e: unknown) => e);
      expect(isExchangeError(error, 'not-supported'), url).toBe(true);
    }
    expect(calls).toEqual([]);
    await fetch('https://api.binance.com/api/v3/time');
    expect(calls).toEqual(['https://api.binance.com/api/v3/time']);
  });

  it('feed the shared limiter with the used-weight header and Retry-After', async () => {
    const rl = limiter();
    const fetch = guardedFetch({
      exchangeId: 'binance',
      limiter: rl,
      inner: async () => new Response('{"code":-1003}', { status: 429, headers: { 'Retry-After': '7', 'X-MBX-USED-WEIGHT-1M': '6100' } }),
      hosts: () => new Set(['fapi.binance.com']),
    });
    await fetch('https://fapi.binance.com/fapi/v1/positionSide/dual');
    expect(rl.snapshot().pools['fapi']?.used).toBe(6100);
    expect(rl.blockedForMs()).toBe(7000);
  });

  it('are built with verbose pinned off, ccxt retries and token bucket off, and only spot + linear markets', () => {
    const exchange = buildExchange({
      exchangeId: 'binance',
      mode: 'live',
      marketType: 'futures',
      limiter: new RateLimiterRegistry().get('binance'),
      fetchImplementation: async () => new Response('{}'),
      credentials: { apiKey: 'k', secret: 's' },
    });
    expect(exchange.enableRateLimit).toBe(false);
    expect(exchange.verbose).toBe(false);
    expect(() => {
      (exchange as { verbose: boolean }).verbose = true;
    }).toThrow();
    expect(exchange.options['maxRetriesOnFailure']).toBe(0);
    expect(exchange.options['fetchMarkets']).toMatchObject({ types: ['spot', 'linear'] });
    expect(exchange.options['fetchCurrencies']).toBe(false);
    expect(exchange.options['fetchMargins']).toBe(false);
    expect(exchange.options['defaultType']).toBe('swap');
    expect([...apiHosts(exchange)].sort()).toEqual(expect.arrayContaining(['api.binance.com', 'fapi.binance.com']));
  });

  it('demo mode switches to the demo hosts (binance demo trading)', () => {
    const exchange = buildExchange({
      exchangeId: 'binance',
      mode: 'demo',
      marketType: 'spot',
      limiter: new RateLimiterRegistry().get('binance'),
      fetchImplementation: async () => new Response('{}'),
    });
    const hosts = apiHosts(exchange);
    expect(hosts.has('demo-api.binance.com')).toBe(true);
    expect(hosts.has('api.binance.com')).toBe(false);
  });

  it('demo mode is refused where ccxt has neither demo trading nor a sandbox', () => {
    const error = (() => {
      try {
        buildExchange({
          exchangeId: 'kraken',
          mode: 'demo',
          marketType: 'spot',
          limiter: new RateLimiterRegistry().get('kraken'),
          fetchImplementation: async () => new Response('{}'),
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isExchangeError(error, 'not-supported')).toBe(true);
  });
});

describe('ccxt instances and the shared limiter', () => {
  it('reserve request weight before ccxt signs (a wait after signing could outlive the recvWindow)', async () => {
    const registry = new RateLimiterRegistry();
    const limiter = registry.get('binance');
    const seen: number[] = [];
    const exchange = buildExchange({
      exchangeId: 'binance',
      mode: 'live',
      marketType: 'futures',
      limiter,
      fetchImplementation: async () => {
        seen.push(limiter.snapshot().pools['fapi']?.used ?? 0);
        return new Response(JSON.stringify({ serverTime: 1 }), { headers: { 'Content-Type': 'application/json' } });
      },
    });
    expect(await exchange.fetchTime({ type: 'swap' })).toBe(1);
    expect(seen).toEqual([1]);
  });

  it('price a request with its parameters: a ticker with its symbol costs 1, the whole list 40 (Binance futures)', async () => {
    const registry = new RateLimiterRegistry();
    const limiter = registry.get('binance');
    const reserved: number[] = [];
    let before = 0;
    const exchange = buildExchange({
      exchangeId: 'binance',
      mode: 'live',
      marketType: 'futures',
      limiter,
      fetchImplementation: async () => {
        const used = limiter.snapshot().pools['fapi']?.used ?? 0;
        reserved.push(used - before);
        before = used;
        return new Response(JSON.stringify({ symbol: 'BTCUSDT', lastPrice: '50000' }), { headers: { 'Content-Type': 'application/json' } });
      },
    });
    const fapi = exchange as unknown as { fapiPublicGetTicker24hr(params: Record<string, unknown>): Promise<unknown> };
    await fapi.fapiPublicGetTicker24hr({ symbol: 'BTCUSDT' });
    await fapi.fapiPublicGetTicker24hr({});
    expect(reserved).toEqual([1, 40]);
  });

  it('do not send while the exchange is blocked', async () => {
    const registry = new RateLimiterRegistry();
    registry.get('binance').block(30_000);
    let sent = 0;
    const exchange = buildExchange({
      exchangeId: 'binance',
      mode: 'live',
      marketType: 'spot',
      limiter: registry.get('binance'),
      fetchImplementation: async () => {
        sent += 1;
        return new Response('{}');
      },
    });
    const error = await exchange.fetchTime().catch((e: unknown) => e);
    expect(isExchangeError(error, 'rate-limited')).toBe(true);
    expect(sent).toBe(0);
  });
});
