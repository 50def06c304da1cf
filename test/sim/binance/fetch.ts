/**
 * The `fetchImplementation` handed to ccxt: production URLs are kept (so ccxt's URL-based error
 * mapping is the production one) and only the transport is redirected to the simulator. Any host
 * that is not one of Binance's spot / USDⓈ-M hosts throws, so a test can never reach the network.
 */

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

export type FetchImplementation = (input: string | URL, init?: FetchInit) => Promise<Response>;

/** What ccxt passes as the second argument (plus legacy `timeout` / `agent`, ignored here). */
export interface FetchInit {
  readonly method?: string;
  readonly headers?: Record<string, string | undefined> | Headers;
  readonly body?: string | null;
  readonly signal?: AbortSignal | null;
}

export class StrayHostError extends Error {
  constructor(host: string) {
    super(`binance simulator: refusing request to ${host}; only Binance spot and USDⓈ-M hosts are simulated`);
    this.name = 'StrayHostError';
  }
}

export const makeFetchImplementation = (baseUrl: string): FetchImplementation => {
  const base = baseUrl.replace(/\/$/, '');
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input.href);
    if (url.protocol !== 'https:' || !BINANCE_HOSTS.has(url.hostname)) throw new StrayHostError(url.host || String(input));
    const headers = new Headers();
    const given = init?.headers;
    if (given instanceof Headers) given.forEach((v, k) => headers.set(k, v));
    else if (given) for (const [k, v] of Object.entries(given)) if (v !== undefined) headers.set(k, v);
    headers.set(HOST_HEADER, url.hostname);
    return fetch(`${base}${url.pathname}${url.search}`, {
      method: init?.method ?? 'GET',
      headers,
      body: init?.body ?? null,
      signal: init?.signal ?? null,
      redirect: 'error',
    });
  };
};
