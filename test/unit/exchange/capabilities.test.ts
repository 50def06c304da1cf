import { describe, expect, it } from 'vitest';
import { describedExchanges } from '../../../src/exchange/ccxt/capabilities';
import { demoDescription, exchangeCapabilities, listExchangeIds } from '../../../src/exchange/factory';

describe('exchange capabilities', () => {
  it('binance: live spot and futures, demo trading, separate SL/TP orders, key audit', () => {
    expect(exchangeCapabilities('binance')).toEqual({
      exchangeId: 'binance',
      listed: true,
      liveMarketTypes: ['spot', 'futures'],
      liveBlockers: [],
      demo: 'demo-trading',
      needsPassphrase: false,
      protection: 'separate-orders',
      keyAudit: true,
    });
  });

  it('bybit attaches SL/TP to the entry and has demo trading', () => {
    expect(exchangeCapabilities('bybit')).toMatchObject({
      liveMarketTypes: ['spot', 'futures'],
      demo: 'demo-trading',
      protection: 'attached-to-entry',
      keyAudit: true,
    });
  });

  it('okx needs a passphrase and has a sandbox; its key permissions are unknown to us', () => {
    expect(exchangeCapabilities('okx')).toMatchObject({
      needsPassphrase: true,
      demo: 'sandbox',
      keyAudit: false,
    });
  });

  it('exchanges without client-order-id lookup are paper-only, said plainly', () => {
    const kraken = exchangeCapabilities('kraken');
    expect(kraken.liveMarketTypes).toEqual([]);
    expect(kraken.liveBlockers.join(' ')).toMatch(/client order id/);
    expect(demoDescription(kraken)).toMatch(/neither demo trading nor a sandbox/);
  });

  it('unknown ids are not listed', () => {
    expect(exchangeCapabilities('nosuchexchange')).toMatchObject({ listed: false, liveMarketTypes: [] });
  });

  it('lists ccxt exchange ids, sorted, for autocomplete', () => {
    const ids = listExchangeIds();
    expect(ids).toContain('binance');
    expect(ids).toContain('bybit');
    expect(ids.length).toBeGreaterThan(50);
    expect([...ids].sort()).toEqual(ids);
  });

  it('caches the answer (one throwaway instance per id)', () => {
    expect(exchangeCapabilities('binance')).toBe(exchangeCapabilities('binance'));
  });

  it('names that are no exchange are answered, never kept: typed text cannot grow the cache', () => {
    exchangeCapabilities('binance');
    const before = describedExchanges();
    for (let i = 0; i < 2_000; i += 1)
      expect(exchangeCapabilities(`no-such-exchange-${i}`).listed).toBe(false);
    expect(describedExchanges()).toBe(before);
  });
});
