import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { ExchangeError } from '../../../src/exchange/errors';
import {
  annotateError,
  isAlreadySet,
  isOrderNotFound,
  matchRow,
  safeMessage,
  TRANSLATION_TABLE,
  translateError,
} from '../../../src/exchange/ccxt/translate';
import type { TranslationRow } from '../../../src/exchange/ccxt/translate';

type CcxtErrorClass = new (message: string) => Error;
const ccxtClass = (name: string): CcxtErrorClass => (ccxt as unknown as Record<string, CcxtErrorClass>)[name] as CcxtErrorClass;

/** A message that satisfies a row's message condition and no earlier row's. */
const messageFor = (row: TranslationRow): string => row.match.message ?? 'Filter failure: something';

/** ccxt errors as ccxt's binance class throws them: "<id> <body>". */
const binanceError = (code: string, msg: string, Class = ccxt.ExchangeError as CcxtErrorClass): Error =>
  new Class(`binance ${JSON.stringify({ code: Number(code), msg })}`);

/** Every concrete input that must land on `row`. */
function samples(row: TranslationRow): Array<{ label: string; error: Error }> {
  const { match } = row;
  if (match.status) {
    return match.status.map((status) => {
      const error = new ccxt.DDoSProtection(`binance ${status} Too Many Requests {"code":-1003,"msg":"Way too many requests"}`);
      annotateError(error, { status, body: '{"code":-1003,"msg":"Way too many requests"}' });
      return { label: `HTTP ${status}`, error };
    });
  }
  if (match.codes) {
    return match.codes.map((code) => {
      // Bybit / OKX codes arrive in their own body shapes.
      if (/^\d{5,6}$/.test(code) && code.startsWith('5')) {
        const error = new ccxt.ExchangeError(`okx ${JSON.stringify({ code: '1', msg: '', data: [{ sCode: code, sMsg: messageFor(row) }] })}`);
        return { label: `okx ${code}`, error };
      }
      if (/^\d+$/.test(code)) {
        return { label: `bybit ${code}`, error: new ccxt.ExchangeError(`bybit ${JSON.stringify({ retCode: Number(code), retMsg: messageFor(row) })}`) };
      }
      return { label: `binance ${code}`, error: binanceError(code, messageFor(row)) };
    });
  }
  const name = match.ccxtClass as string;
  return [{ label: name, error: new (ccxtClass(name))(`binance something went wrong`) }];
}

describe('translation table', () => {
  it.each(TRANSLATION_TABLE.map((row, index) => [index, row.note, row] as const))('row %i (%s) decides its inputs', (_index, _note, row) => {
    for (const { label, error } of samples(row)) {
      expect(matchRow(error), label).toBe(row);
      const translated = translateError(error, { exchangeId: 'binance', action: 'placing order mbX' });
      expect(translated, label).toBeInstanceOf(ExchangeError);
      expect(translated.kind, label).toBe(row.kind);
      expect(translated.name).toBe(`ExchangeError[${row.kind}]`);
      if (row.kind === 'rate-limited') expect(translated.retryAfterMs).toBeGreaterThan(0);
    }
  });

  it('covers every kind of our vocabulary', () => {
    const kinds = new Set(TRANSLATION_TABLE.map((row) => row.kind));
    for (const kind of [
      'retryable',
      'unknown-outcome',
      'rate-limited',
      'insufficient-funds',
      'invalid-order',
      'duplicate-client-id',
      'auth-failed',
      'not-permitted',
      'not-supported',
    ] as const) {
      expect(kinds.has(kind), kind).toBe(true);
    }
  });

  it('-2010 is a duplicate only when Binance says "Duplicate order sent."', () => {
    expect(translateError(binanceError('-2010', 'Duplicate order sent.', ccxt.InvalidOrder), { exchangeId: 'binance' }).kind).toBe(
      'duplicate-client-id',
    );
    expect(translateError(binanceError('-2010', 'Stop price would trigger immediately.', ccxt.InvalidOrder), { exchangeId: 'binance' }).kind).toBe(
      'invalid-order',
    );
    expect(
      translateError(binanceError('-2010', 'Account has insufficient balance for requested action.', ccxt.InsufficientFunds), { exchangeId: 'binance' })
        .kind,
    ).toBe('insufficient-funds');
  });

  it('codes win over the ccxt class: -2015 after a first success is auth-failed, not DDoSProtection', () => {
    const error = binanceError('-2015', 'Invalid API-key, IP, or permissions for action.', ccxt.DDoSProtection);
    expect(translateError(error, { exchangeId: 'binance' })).toMatchObject({ kind: 'auth-failed', exchangeCode: '-2015' });
  });

  it('a refused ACCOUNT is not-permitted with its reason; only a refused KEY is auth-failed', () => {
    const leverage = binanceError('-4202', 'Intermediate Personal Verification is required for adjusting leverage over 20x', ccxt.PermissionDenied);
    expect(translateError(leverage, { exchangeId: 'binance' })).toMatchObject({ kind: 'not-permitted', reason: 'leverage-not-allowed', exchangeCode: '-4202' });
    const reduceOnly = binanceError('-4400', 'Futures Trading Quantitative Rules violated, only reduceOnly order is allowed, please try again later.', ccxt.PermissionDenied);
    expect(translateError(reduceOnly, { exchangeId: 'binance' })).toMatchObject({ kind: 'not-permitted', reason: 'trading-restricted' });
    // Any other PermissionDenied (or a suspended account) keeps the key too.
    expect(translateError(new ccxt.PermissionDenied('okx permission'), { exchangeId: 'okx' }).kind).toBe('not-permitted');
    expect(translateError(new ccxt.AccountSuspended('binance suspended'), { exchangeId: 'binance' }).kind).toBe('not-permitted');
    // A locked key, or this IP not on the key's allow-list, disables: ccxt calls the last PermissionDenied too.
    for (const [code, msg] of [
      ['-2017', 'API Keys are locked on this account.'],
      ['-1005', 'No such IP has been white listed'],
      ['-1011', 'This IP cannot access this route.'],
    ] as const) {
      expect(translateError(binanceError(code, msg, ccxt.PermissionDenied), { exchangeId: 'binance' }).kind, code).toBe('auth-failed');
    }
    expect(translateError(new ccxt.AuthenticationError('binance bad key'), { exchangeId: 'binance' }).reason).toBeUndefined();
  });

  it('-1021 is retryable (definite rejection before matching), -1006 / -1007 are unknown outcomes', () => {
    const ts = binanceError('-1021', 'Timestamp for this request is outside of the recvWindow.', ccxt.InvalidNonce);
    expect(translateError(ts, { exchangeId: 'binance' })).toMatchObject({ kind: 'retryable', exchangeCode: '-1021' });
    expect(translateError(binanceError('-1007', 'Timeout waiting for response from backend server.', ccxt.RequestTimeout), { exchangeId: 'binance' }).kind).toBe(
      'unknown-outcome',
    );
    expect(translateError(binanceError('-1006', 'An unexpected response was received.', ccxt.OperationFailed), { exchangeId: 'binance' }).kind).toBe(
      'unknown-outcome',
    );
  });

  it('messages carry no query strings, signatures or keys', () => {
    const url =
      'https://fapi.binance.com/fapi/v1/order?symbol=BTCUSDT&timestamp=1700000000000&recvWindow=10000&signature=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
    const timeout = new ccxt.RequestTimeout(`binance GET ${url} request timed out (10000 ms)`);
    const network = new ccxt.NetworkError(`binance POST ${url} fetch failed: ECONNRESET X-MBX-APIKEY: abcdefKEY123`);
    for (const error of [timeout, network]) {
      const translated = translateError(error, { exchangeId: 'binance' });
      expect(translated.kind).toBe('unknown-outcome');
      expect(translated.message).not.toContain('?');
      expect(translated.message).not.toContain('signature');
      expect(translated.message).not.toContain('9f86d081');
      expect(translated.message).not.toContain('abcdefKEY123');
      expect(translated.message).toContain('https://fapi.binance.com/fapi/v1/order');
      expect(translated.cause).toBeUndefined();
    }
    expect(safeMessage('see https://api.binance.com/api/v3/account?timestamp=1&signature=abc done')).toBe(
      'see https://api.binance.com/api/v3/account done',
    );
  });

  it('the shared limiter\'s wait is the retry-after of a rate-limited error', () => {
    const error = new ccxt.RateLimitExceeded('binance 429');
    expect(translateError(error, { exchangeId: 'binance', retryAfterMs: 12_000 })).toMatchObject({ kind: 'rate-limited', retryAfterMs: 12_000 });
    annotateError(error, { status: 429, retryAfterMs: 7000 });
    expect(translateError(error, { exchangeId: 'binance' }).retryAfterMs).toBe(7000);
  });

  it('our own errors pass through; foreign errors are unknown outcomes', () => {
    const ours = new ExchangeError('not-supported', 'no');
    expect(translateError(ours, { exchangeId: 'binance' })).toBe(ours);
    expect(translateError(new TypeError('boom'), { exchangeId: 'binance' }).kind).toBe('unknown-outcome');
    expect(translateError('weird', { exchangeId: 'binance' }).kind).toBe('unknown-outcome');
  });

  it('reports the HTTP status as the code when the exchange gave none', () => {
    const error = new ccxt.ExchangeNotAvailable('binance GET https://api.binance.com/api/v3/order 503 Service Unavailable');
    annotateError(error, { status: 503, body: 'Service Unavailable' });
    expect(translateError(error, { exchangeId: 'binance' })).toMatchObject({ kind: 'unknown-outcome', exchangeCode: 'http-503' });
  });

  it('recognises "does not exist" and "already set" answers', () => {
    expect(isOrderNotFound(binanceError('-2013', 'Order does not exist.', ccxt.OrderNotFound))).toBe(true);
    expect(isOrderNotFound(binanceError('-2011', 'Unknown order sent.', ccxt.OperationRejected))).toBe(true);
    expect(isOrderNotFound(binanceError('-2010', 'Duplicate order sent.', ccxt.InvalidOrder))).toBe(false);
    expect(isAlreadySet(binanceError('-4046', 'No need to change margin type.', ccxt.MarginModeAlreadySet))).toBe(true);
    expect(isAlreadySet(binanceError('-4059', 'No need to change position side.', ccxt.OperationRejected))).toBe(true);
    expect(isAlreadySet(new ccxt.ExchangeError('bybit {"retCode":110043,"retMsg":"Set leverage not modified"}'))).toBe(true);
    expect(isAlreadySet(binanceError('-4048', 'Margin type cannot be changed if there exists position.', ccxt.OperationRejected))).toBe(false);
  });
});
