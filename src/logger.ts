import pino from 'pino';
import pretty from 'pino-pretty';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';
import { REDACTED, Secret } from './vault/secret';

/**
 * Logging with three layers of secret protection, because one forgotten path must not leak a key:
 *
 * 1. pino `redact` over the known secret-bearing paths (cheap, declarative, first line).
 * 2. A deep scrub of every logged object and child binding (formatters): any property whose name
 *    looks secret (apiKey, *_SECRET, X-MBX-APIKEY, ...) at any depth, `Secret` wrappers, byte
 *    buffers, and Errors (serialized with their causes, message and stack scrubbed).
 * 3. A text scrub of the final line (hooks.streamWrite): signed query strings, `key: value`
 *    credentials in messages, URL passwords, Discord bot tokens.
 */

/** Property names that hold credentials. Compared case- and punctuation-insensitively. */
const SECRET_NAMES = [
  'apiKey',
  'api_key',
  'apiSecret',
  'secret',
  'secretKey',
  'passphrase',
  'password',
  'passwd',
  'privateKey',
  'token',
  'accessToken',
  'refreshToken',
  'authorization',
  'Authorization',
  'cookie',
  'set-cookie',
  'signature',
  'sign',
  'X-MBX-APIKEY',
  'x-mbx-apikey',
  'OK-ACCESS-KEY',
  'OK-ACCESS-SIGN',
  'OK-ACCESS-PASSPHRASE',
  'X-BAPI-API-KEY',
  'X-BAPI-SIGN',
  'DISCORD_TOKEN',
  'VAULT_KEYS',
] as const;

const pathSegment = (name: string): string => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`);
const withPrefix = (prefix: string, name: string): string => {
  const segment = pathSegment(name);
  return prefix === '' ? (segment.startsWith('.') ? segment.slice(1) : segment) : `${prefix}${segment}`;
};

/** pino redact paths: every secret name at the top level and two levels down, and in headers. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_NAMES.flatMap((name) => ['', '*', '*.*'].map((prefix) => withPrefix(prefix, name))),
  ...['headers', '*.headers', 'config.headers', 'request.headers', 'err.config.headers'].flatMap((prefix) =>
    ['authorization', 'Authorization', 'X-MBX-APIKEY', 'x-mbx-apikey', 'cookie'].map((name) =>
      withPrefix(prefix, name),
    ),
  ),
  'env.DISCORD_TOKEN',
  'env.VAULT_KEYS',
];

const normalize = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');
const EXACT_SECRET_NAMES = new Set([
  ...SECRET_NAMES.map(normalize),
  'authorization',
  'cookie',
  'setcookie',
  'vaultkeys',
  'okaccesskey',
]);
/** Suffixes that mark a credential, so `ACCOUNT_3_SECRET`, `binanceApiKey`, `botToken` match too. */
const SECRET_SUFFIXES = [
  'apikey',
  'secret',
  'secretkey',
  'password',
  'passphrase',
  'privatekey',
  'token',
  'signature',
  // A user-data stream's key opens the account's private stream to whoever holds it.
  'listenkey',
];

/** Whether a property of this name holds a credential (`apiKeyHint` does not; `ACCOUNT_1_SECRET` does). */
export function isSecretKeyName(name: string): boolean {
  const key = normalize(name);
  return EXACT_SECRET_NAMES.has(key) || SECRET_SUFFIXES.some((suffix) => key.endsWith(suffix));
}

const QUERY_SECRET =
  /(?:^|[?&;])(?:signature|sign|api[_-]?key|apikey|key|secret|passphrase|password|token|access_token|listenkey)=/i;
const URL_WITH_QUERY = /\b((?:https?|wss?):\/\/[^\s"'\\?#]+)\?([^\s"'\\#]*)/gi;
/** Binance's stream path form: `/ws/<listenKey>`. */
const STREAM_PATH_KEY = /(\/ws\/)[A-Za-z0-9_-]{16,}/g;
const ENV_NAME = String.raw`[A-Z0-9_]*_(?:SECRET|TOKEN|PASSWORD|PASSPHRASE|API_KEY)|VAULT_KEYS`;
const KEY_NAMES = String.raw`(?<![A-Za-z0-9_-])(?:api[_-]?key|api[_-]?secret|secret[_-]?key|secret|passphrase|password|passwd|private[_-]?key|access[_-]?token|refresh[_-]?token|token|signature|sign|listen[_-]?key)|${ENV_NAME}`;
const HEADER_NAMES = String.raw`x-mbx-apikey|ok-access-(?:key|sign|passphrase)|x-bapi-(?:api-key|sign)|authorization|cookie`;
/** `"apiKey":"v"`, `\"secret\":\"v\"`, `apiKey: 'v'`, `password="v"`. */
const QUOTED_VALUE = new RegExp(
  String.raw`((?:${KEY_NAMES}|${HEADER_NAMES})\\?["']?\s*[:=]\s*\\?["'])[^"'\\]*`,
  'gi',
);
/** `signature=v`, `DISCORD_TOKEN=v` (query strings, form bodies, env dumps). */
const ASSIGNED_VALUE = new RegExp(String.raw`((?:${KEY_NAMES})=)[^\s"'\\&,;]+`, 'gi');
/** `X-MBX-APIKEY: v`, `Authorization: Bot v` (header dumps, ccxt verbose output). */
const HEADER_VALUE = new RegExp(
  String.raw`((?<![A-Za-z0-9-])(?:${HEADER_NAMES})\\?["']?\s*:\s*(?:(?:bearer|basic|bot)\s+)?)(?!\\?["'])[^\s"'\\,;}]+`,
  'gi',
);
/** `postgres://user:password@host`. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"'\\]+:)[^\s@/?#"'\\]+@/gi;
/** Discord bot tokens: base64 user id, timestamp, HMAC. */
const DISCORD_TOKEN = /\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}\b/g;

/**
 * Removes credentials from free text (messages, stacks, URLs, whole log lines). URLs whose query
 * string carries a signature or key lose the whole query string. Idempotent.
 */
export function scrubText(text: string): string {
  return text
    .replace(URL_WITH_QUERY, (whole: string, base: string, query: string) =>
      QUERY_SECRET.test(`?${query}`) ? `${base}?${REDACTED}` : whole,
    )
    .replace(QUOTED_VALUE, `$1${REDACTED}`)
    .replace(ASSIGNED_VALUE, `$1${REDACTED}`)
    .replace(HEADER_VALUE, `$1${REDACTED}`)
    .replace(URL_PASSWORD, `$1${REDACTED}@`)
    .replace(STREAM_PATH_KEY, `$1${REDACTED}`)
    .replace(DISCORD_TOKEN, REDACTED);
}

const MAX_DEPTH = 8;

interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  [key: string]: unknown;
}

function scrubError(error: Error, seen: WeakSet<object>, depth: number): SerializedError {
  seen.add(error);
  const out: SerializedError = {
    type:
      error.constructor?.name && error.constructor.name !== 'Object' ? error.constructor.name : error.name,
    message: scrubText(String(error.message)),
  };
  if (error.name && error.name !== out.type) out.name = scrubText(String(error.name));
  if (typeof error.stack === 'string') out.stack = scrubText(error.stack);
  // Own enumerable extras (code, status, ccxt's fields, ...), scrubbed like any object.
  for (const [key, value] of Object.entries(error)) {
    if (key === 'message' || key === 'stack' || key === 'cause') continue;
    out[key] = isSecretKeyName(key) && value != null ? REDACTED : scrubValue(value, seen, depth + 1);
  }
  if ('cause' in error && error.cause !== undefined) out.cause = scrubValue(error.cause, seen, depth + 1);
  if (error instanceof AggregateError && Array.isArray(error.errors)) {
    out.aggregateErrors = error.errors.map((inner: unknown) => scrubValue(inner, seen, depth + 1));
  }
  return out;
}

function scrubValue(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Secret) return REDACTED;
  if (seen.has(value)) return '[Circular]';
  if (depth > MAX_DEPTH) return '[Object]';
  if (value instanceof Error) return scrubError(value, seen, depth);
  // Raw bytes may be key material; their size is all a log needs.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item: unknown) => scrubValue(item, seen, depth + 1));
    if (value instanceof Map) {
      return Object.fromEntries(
        [...value].map(([key, inner]: [unknown, unknown]) => [
          String(key),
          isSecretKeyName(String(key)) && inner != null ? REDACTED : scrubValue(inner, seen, depth + 1),
        ]),
      );
    }
    const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return scrubValue(toJSON.call(value), seen, depth + 1);
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = isSecretKeyName(key) && inner != null ? REDACTED : scrubValue(inner, seen, depth + 1);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** A scrubbed copy of anything about to be logged or shown: see the module comment. */
export function scrubForLog(value: unknown): unknown {
  return scrubValue(value, new WeakSet(), 0);
}

/** pino error serializer: type, message and stack (scrubbed), causes, extras without credentials. */
export function serializeError(error: unknown): unknown {
  return error instanceof Error ? scrubError(error, new WeakSet(), 0) : scrubForLog(error);
}

const scrubRecord = (record: Record<string, unknown>): Record<string, unknown> => {
  const scrubbed = scrubForLog(record);
  return typeof scrubbed === 'object' && scrubbed !== null ? (scrubbed as Record<string, unknown>) : {};
};

export interface CreateLoggerOptions {
  /** pino level; default `info`. */
  level?: string;
  /** Where lines go; default stdout. Tests pass a capturing stream. */
  destination?: DestinationStream;
  /** Bound as `name` on every line. */
  name?: string;
}

export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: serializeError, error: serializeError },
    formatters: { log: scrubRecord, bindings: scrubRecord },
    hooks: { streamWrite: scrubText },
    ...(opts.name === undefined ? {} : { name: opts.name }),
  };
  if (opts.destination) return pino(options, opts.destination);
  // A person at a terminal reads lines, not JSON; anything else (a container, a file, a pipe to a log
  // shipper) gets JSON. The same redaction and scrubbing run before either is written.
  if (process.stdout.isTTY) return pino(options, prettyLines());
  return pino(options);
}

function prettyLines(): DestinationStream {
  return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', singleLine: true, sync: true });
}

export type { Logger };
