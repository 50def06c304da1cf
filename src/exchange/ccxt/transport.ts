/**
 * The HTTP transport under every ccxt instance: undici's `request` on one keep-alive pool, instead of
 * Node's fetch. At a thousand accounts the WHATWG layer of fetch (streams, Headers, AbortSignal
 * plumbing) costs more CPU than signing and parsing together; `request` is the same engine without
 * it. Redirects are never followed (exchange APIs do not redirect legitimately) and compressed bodies
 * are inflated, as fetch would.
 */
import { STATUS_CODES } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';

/** What ccxt and our limiter read of an answer: a WHATWG Response has all of it too. */
export interface TransportResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: HeaderReader;
  text(): Promise<string>;
}

export interface HeaderReader {
  get(name: string): string | null;
  forEach(callback: (value: string, key: string) => void): void;
}

/** What ccxt hands a user-supplied fetchImplementation (plus legacy `timeout`, ignored). */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string | undefined> | Headers;
  body?: string | null;
  signal?: AbortSignal | null;
}

/** A fetch, as ccxt calls it. Production uses undiciTransport; tests inject the simulator's. */
export type FetchImplementation = (input: string, init?: FetchInit) => Promise<TransportResponse>;

class PlainHeaders implements HeaderReader {
  constructor(private readonly raw: Record<string, string | string[] | undefined>) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
  forEach(callback: (value: string, key: string) => void): void {
    for (const key of Object.keys(this.raw)) {
      const value = this.get(key);
      if (value !== null) callback(value, key);
    }
  }
}

class PlainResponse implements TransportResponse {
  readonly statusText: string;
  readonly ok: boolean;
  constructor(
    readonly status: number,
    readonly headers: PlainHeaders,
    private readonly body: string,
  ) {
    this.statusText = STATUS_CODES[status] ?? '';
    this.ok = status >= 200 && status < 300;
  }
  text(): Promise<string> {
    return Promise.resolve(this.body);
  }
}

const inflate = (encoding: string | null, bytes: Buffer): Buffer => {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(bytes);
    case 'br':
      return brotliDecompressSync(bytes);
    case 'deflate':
      return inflateSync(bytes);
    default:
      return bytes;
  }
};

/** Request headers as a plain record, whichever form ccxt (or a caller) gave them in. */
export const plainHeaders = (headers: FetchInit['headers']): Record<string, string> => {
  const out: Record<string, string> = {};
  if (headers instanceof Headers) headers.forEach((value, key) => (out[key] = value));
  else if (headers) for (const [key, value] of Object.entries(headers)) if (value !== undefined) out[key] = value;
  return out;
};

/** Keep-alive pool like ccxt's own: one request per socket, idle sockets kept for a minute. */
export const createTransportPool = (): Agent =>
  new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000, connections: 256, pipelining: 1 });

export function undiciTransport(dispatcher: Dispatcher = createTransportPool()): FetchImplementation {
  return async (input, init) => {
    const response = await request(input, {
      method: (init?.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: plainHeaders(init?.headers),
      body: init?.body ?? null,
      signal: init?.signal ?? null,
      dispatcher,
    });
    const headers = new PlainHeaders(response.headers);
    if (response.statusCode >= 300 && response.statusCode < 400 && headers.get('location') !== null) {
      await response.body.dump();
      // ccxt turns a TypeError from the transport into a NetworkError, as it does fetch's.
      throw new TypeError(`redirect to ${headers.get('location')} not followed (HTTP ${response.statusCode})`);
    }
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const body = response.statusCode === 204 || response.statusCode === 304 ? '' : inflate(headers.get('content-encoding'), bytes).toString('utf8');
    return new PlainResponse(response.statusCode, headers, body);
  };
}
