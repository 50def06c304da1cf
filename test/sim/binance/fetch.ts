/**
 * The `fetchImplementation` handed to ccxt: production URLs are kept (so ccxt's URL-based error
 * mapping is the production one) and only the transport is redirected to the simulator. Any host
 * that is not one of Binance's spot / USDⓈ-M hosts throws, so a test can never reach the network.
 */

import { plainHeaders, undiciTransport, type FetchImplementation, type FetchInit } from '../../../src/exchange/ccxt/transport';

/** Hosts ccxt's binance class uses for spot, sapi and USDⓈ-M futures, live, sandbox and demo. */
export const BINANCE_HOSTS: ReadonlySet<string> = new Set([
  'api.binance.com',
  'fapi.binance.com',
  'testnet.binance.vision',
  'testnet.binancefuture.com',
  'demo-api.binance.com',
  'demo-fapi.binance.com',
]);

/** Header that tells the simulator which Binance host the request was meant for. */
export const HOST_HEADER = 'x-sim-binance-host';

export type { FetchImplementation, FetchInit };

export class StrayHostError extends Error {
  constructor(host: string) {
    super(`binance simulator: refusing request to ${host}; only Binance spot and USDⓈ-M hosts are simulated`);
    this.name = 'StrayHostError';
  }
}

/**
 * The transport is the production one (undici's request on a keep-alive pool); only the URL is
 * redirected, so tests and benchmarks measure what production sends.
 */
export const makeFetchImplementation = (baseUrl: string): FetchImplementation => {
  const base = baseUrl.replace(/\/$/, '');
  const transport = undiciTransport();
  return async (input, init) => {
    const url = new URL(input);
    if (url.protocol !== 'https:' || !BINANCE_HOSTS.has(url.hostname)) throw new StrayHostError(url.host || input);
    const headers = { ...plainHeaders(init?.headers), [HOST_HEADER]: url.hostname };
    return transport(`${base}${url.pathname}${url.search}`, {
      method: init?.method ?? 'GET',
      headers,
      body: init?.body ?? null,
      signal: init?.signal ?? null,
    });
  };
};
