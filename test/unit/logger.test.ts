import { describe, expect, it } from 'vitest';
import {
  createLogger,
  isSecretKeyName,
  REDACT_PATHS,
  scrubForLog,
  scrubText,
  serializeError,
} from '../../src/logger';
import { REDACTED, Secret } from '../../src/vault/secret';
import { Capture } from './vault/helpers';

const S = 'S3CRET-value-xyz';

function logged(write: (log: ReturnType<typeof createLogger>) => void) {
  const out = new Capture();
  write(createLogger({ destination: out }));
  return out;
}

describe('createLogger redaction', () => {
  it('declares redact paths for every secret-bearing name', () => {
    for (const path of [
      'apiKey',
      'secret',
      'passphrase',
      'password',
      'token',
      'authorization',
      'signature',
      '["X-MBX-APIKEY"]',
      'headers.authorization',
      '*.apiKey',
      '*.secret',
      '*.*.secret',
      'DISCORD_TOKEN',
      'VAULT_KEYS',
    ]) {
      expect(REDACT_PATHS).toContain(path);
    }
  });

  it('redacts secret fields at any depth and keeps everything else', () => {
    const out = logged((log) =>
      log.info(
        {
          accountId: 'acc-1',
          apiKey: S,
          apiKeyHint: 'abcd…wxyz',
          secret: S,
          passphrase: S,
          password: S,
          token: S,
          signature: S,
          authorization: `Bearer ${S}`,
          'X-MBX-APIKEY': S,
          headers: { authorization: `Bot ${S}`, 'X-MBX-APIKEY': S, 'content-type': 'application/json' },
          exchange: { options: { creds: { apiKey: S, secret: S, nested: { deeper: { privateKey: S } } } } },
          env: {
            DISCORD_TOKEN: S,
            VAULT_KEYS: S,
            ACCOUNT_7_SECRET: S,
            ACCOUNT_7_API_KEY: S,
            ACCOUNT_7_PASSWORD: S,
            NODE_ENV: 'test',
          },
          list: [{ secret: S }, { apiSecret: S }],
          map: new Map([['apiKey', S]]),
          bytes: Buffer.from(S),
          wrapped: new Secret(S),
          field: 'apiKey',
          tokenCount: 3,
        },
        'placed order',
      ),
    );
    expect(out.text).not.toContain(S);
    const [line] = out.lines;
    expect(line).toMatchObject({
      msg: 'placed order',
      accountId: 'acc-1',
      apiKey: REDACTED,
      apiKeyHint: 'abcd…wxyz',
      headers: { authorization: REDACTED, 'content-type': 'application/json' },
      env: { DISCORD_TOKEN: REDACTED, ACCOUNT_7_SECRET: REDACTED, NODE_ENV: 'test' },
      field: 'apiKey',
      tokenCount: 3,
      wrapped: REDACTED,
      bytes: `[${S.length} bytes]`,
    });
  });

  it('redacts child bindings', () => {
    const out = logged((log) => log.child({ apiKey: S, account: { secret: S }, accountId: 'a' }).info('hi'));
    expect(out.text).not.toContain(S);
    expect(out.lines[0]).toMatchObject({ accountId: 'a', apiKey: REDACTED, msg: 'hi' });
  });

  it('handles cycles and very deep objects', () => {
    const cyclic: Record<string, unknown> = { name: 'x' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { apiKey: S };
    for (let i = 0; i < 20; i += 1) deep = { next: deep };
    const out = logged((log) => log.info({ cyclic, deep }, 'shapes'));
    expect(out.text).not.toContain(S);
    expect(out.lines[0]).toMatchObject({ cyclic: { name: 'x', self: '[Circular]' } });
  });

  it('honours the level option', () => {
    const out = new Capture();
    const log = createLogger({ destination: out, level: 'warn' });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines.map((line) => line.msg)).toEqual(['shown']);
    expect(createLogger().level).toBe('info');
  });
});

describe('error serialization', () => {
  const signedUrl = `https://api.binance.com/api/v3/order?symbol=BTCUSDT&side=BUY&timestamp=1700000000000&signature=${S}`;

  it('strips signed query strings from ccxt-style messages, stacks and extras', () => {
    const error = Object.assign(new Error(`binance POST ${signedUrl} 400 Bad Request {"code":-1013}`), {
      url: signedUrl,
      code: 'EXCHANGE',
      config: { headers: { 'X-MBX-APIKEY': S } },
    });
    const out = logged((log) => log.error({ err: error }, 'order failed'));
    expect(out.text).not.toContain(S);
    const err = out.lines[0]?.err as Record<string, unknown>;
    expect(err.type).toBe('Error');
    expect(err.message).toBe(
      `binance POST https://api.binance.com/api/v3/order?${REDACTED} 400 Bad Request {"code":-1013}`,
    );
    expect(err.url).toBe(`https://api.binance.com/api/v3/order?${REDACTED}`);
    expect(err.code).toBe('EXCHANGE');
    expect(String(err.stack)).toContain('logger.test.ts');
  });

  it('scrubs the message pino lifts from a bare Error, and causes, and aggregate errors', () => {
    const inner = new Error(`GET https://x.test/a?apiKey=${S}&b=1`);
    const error = new Error(`outer X-MBX-APIKEY: ${S}`, { cause: inner });
    const aggregate = new AggregateError([error, new Error(`token=${S}`)], 'all failed');
    const out = logged((log) => {
      log.error(error);
      log.error({ err: aggregate }, 'many');
      log.warn({ error: inner, other: { failure: error } }, 'other keys');
    });
    expect(out.text).not.toContain(S);
    expect(out.lines[0]?.msg).toBe(`outer X-MBX-APIKEY: ${REDACTED}`);
    expect(out.lines[1]?.err).toMatchObject({
      type: 'AggregateError',
      aggregateErrors: [{ cause: { message: expect.any(String) } }, { message: `token=${REDACTED}` }],
    });
  });

  it('serializeError leaves non-errors to the object scrubber', () => {
    expect(serializeError({ apiKey: S, n: 1 })).toEqual({ apiKey: REDACTED, n: 1 });
    expect(serializeError('plain')).toBe('plain');
  });
});

describe('scrubText', () => {
  it.each([
    [
      `see ${'https://api.binance.com/sapi/v1/x'}?timestamp=1&signature=${S}#frag`,
      `see https://api.binance.com/sapi/v1/x?${REDACTED}#frag`,
    ],
    [`symbol=BTCUSDT&signature=${S}`, `symbol=BTCUSDT&signature=${REDACTED}`],
    [`{"apiKey":"${S}","symbol":"BTC"}`, `{"apiKey":"${REDACTED}","symbol":"BTC"}`],
    [`{ secret: '${S}', n: 1 }`, `{ secret: '${REDACTED}', n: 1 }`],
    [`X-MBX-APIKEY: ${S}\n`, `X-MBX-APIKEY: ${REDACTED}\n`],
    [`Authorization: Bot ${S}`, `Authorization: Bot ${REDACTED}`],
    [`DISCORD_TOKEN=${S} ACCOUNT_2_SECRET=${S}`, `DISCORD_TOKEN=${REDACTED} ACCOUNT_2_SECRET=${REDACTED}`],
    [`postgres://bot:${S}@db:5432/bot`, `postgres://bot:${REDACTED}@db:5432/bot`],
    ['MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.abcdefghijklmnopqrstuvwxyz0123', REDACTED],
    // A user-data stream's listenKey, in the three forms it travels in.
    [`wss://fstream.binance.com/private/ws?listenKey=${S}`, `wss://fstream.binance.com/private/ws?${REDACTED}`],
    [`{"e":"listenKeyExpired","listenKey":"${S}"}`, `{"e":"listenKeyExpired","listenKey":"${REDACTED}"}`],
    [`wss://fstream.binance.com/ws/${'pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1'}`, `wss://fstream.binance.com/ws/${REDACTED}`],
  ])('%s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
    expect(scrubText(expected)).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    for (const text of [
      'Signature for this request is not valid.',
      'https://api.binance.com/api/v3/exchangeInfo?symbol=BTCUSDT',
      '{"field":"apiKey","accountId":"a"}',
      'design: ok',
    ]) {
      expect(scrubText(text)).toBe(text);
    }
  });
});

describe('isSecretKeyName', () => {
  it.each([
    'apiKey',
    'API_KEY',
    'secret',
    'apiSecret',
    'passphrase',
    'password',
    'token',
    'botToken',
    'authorization',
    'X-MBX-APIKEY',
    'OK-ACCESS-SIGN',
    'ACCOUNT_12_SECRET',
    'ACCOUNT_1_API_KEY',
    'ACCOUNT_1_PASSWORD',
    'VAULT_KEYS',
    'DISCORD_TOKEN',
    'signature',
    'privateKey',
  ])('%s is secret', (name) => expect(isSecretKeyName(name)).toBe(true));
  it.each([
    'apiKeyHint',
    'accountId',
    'field',
    'tokenCount',
    'keyId',
    'symbol',
    'secretField',
    'ACCOUNT_1_EXCHANGE',
  ])('%s is not', (name) => expect(isSecretKeyName(name)).toBe(false));
  it('scrubForLog copies without mutating', () => {
    const input = { apiKey: S, inner: { secret: S } };
    expect(scrubForLog(input)).toEqual({ apiKey: REDACTED, inner: { secret: REDACTED } });
    expect(input.apiKey).toBe(S);
  });
});
