/**
 * THE translation table: ccxt errors and exchange codes → our kinds (src/exchange/errors.ts), named by
 * what the caller does. One ordered list of rows; the first row that matches wins. Exchange codes come
 * before ccxt classes because ccxt's class for a code is sometimes the wrong action for us (Binance
 * -2015 after a first success becomes DDoSProtection in ccxt; -1021 is InvalidNonce, -4116 InvalidOrder).
 *
 * Messages never carry URL query strings, signatures or keys: ccxt puts the signed URL into network
 * and timeout messages, so every message is cut down to the exchange's own `msg` or scrubbed text.
 */
import ccxt from 'ccxt';
import type { FailureReason } from '../../domain/reasons';
import { ExchangeError } from '../errors';
import type { ExchangeErrorKind } from '../errors';
import { scrubText } from '../../logger';

/** What the response looked like, attached to ccxt's error by our exchange subclass (see client.ts). */
export interface ResponseFacts {
  status?: number;
  body?: string;
  retryAfterMs?: number;
}

const facts = new WeakMap<object, ResponseFacts>();

/** Called from the ccxt subclass hooks: remembers the HTTP status and body behind an error. */
export function annotateError(error: unknown, fact: ResponseFacts): void {
  if (typeof error === 'object' && error !== null && !facts.has(error)) facts.set(error, fact);
}

export function responseFactsOf(error: unknown): ResponseFacts | undefined {
  return typeof error === 'object' && error !== null ? facts.get(error) : undefined;
}

/** The exchange's own code and message, from the response body or the JSON ccxt put into the message. */
export interface ExchangeAnswer {
  code: string | undefined;
  msg: string | undefined;
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

function answerFromJson(json: unknown): ExchangeAnswer | undefined {
  const record = Array.isArray(json) ? asRecord(json[0]) : asRecord(json);
  if (!record) return undefined;
  // Binance: {code, msg}; Bybit: {retCode, retMsg}; OKX: {code, msg, data: [{sCode, sMsg}]}.
  const okxData = Array.isArray(record.data) ? asRecord(record.data[0]) : undefined;
  const okxCode = str(okxData?.sCode);
  if (okxCode !== undefined && okxCode !== '0') return { code: okxCode, msg: str(okxData?.sMsg) };
  const code = str(record.code) ?? str(record.retCode);
  const msg = str(record.msg) ?? str(record.retMsg) ?? str(record.message);
  if (code === undefined && msg === undefined) return undefined;
  return { code, msg };
}

function parseJsonObject(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
}

export function exchangeAnswer(error: unknown): ExchangeAnswer {
  const body = responseFactsOf(error)?.body;
  const fromBody = body === undefined ? undefined : answerFromJson(parseJsonObject(body));
  if (fromBody) return fromBody;
  const message = error instanceof Error ? error.message : '';
  return answerFromJson(parseJsonObject(message)) ?? { code: undefined, msg: undefined };
}

/** What one row matches on. All given conditions must hold. */
export interface Match {
  /** The exchange's own error code (as text: '-2010', '110072'). */
  codes?: readonly string[];
  /** A substring of the exchange's message (case-insensitive). */
  message?: string;
  /** HTTP statuses. */
  status?: readonly number[];
  /** ccxt error class name (the error is an instance of it, subclasses included). */
  ccxtClass?: keyof typeof ccxt;
}

export interface TranslationRow {
  match: Match;
  kind: ExchangeErrorKind;
  /** What the owner is told when the kind alone says too little (see ExchangeError.reason). */
  reason?: FailureReason;
  /** Why, in a few words (shown in the table test and the docs). */
  note: string;
}

/** The table. Order matters: specific before general, codes before classes. */
export const TRANSLATION_TABLE: readonly TranslationRow[] = [
  // Rate limits first: whatever else the answer says, nothing was applied and everyone must wait.
  { match: { status: [429, 418] }, kind: 'rate-limited', note: 'HTTP 429 / 418 ban: wait Retry-After' },
  { match: { codes: ['-1003', '-1015', '10006'] }, kind: 'rate-limited', note: 'too much request weight / too many orders' },
  // Definite, may be retried at once with the same client order id (DESIGN.md protocol step 3).
  { match: { codes: ['-1021', '10002'] }, kind: 'retryable', note: 'timestamp outside recvWindow: rejected before matching' },
  // Unknown outcome: the order may stand.
  { match: { codes: ['-1006', '-1007'] }, kind: 'unknown-outcome', note: 'Binance: execution status unknown' },
  // Duplicate client order id: the order already exists; adopt it.
  {
    match: { codes: ['-2010'], message: 'Duplicate order sent.' },
    kind: 'duplicate-client-id',
    note: 'Binance spot: an open order has this client order id',
  },
  { match: { codes: ['-4116'] }, kind: 'duplicate-client-id', note: 'Binance futures: DUPLICATED_CLIENT_ORDER_ID' },
  { match: { codes: ['110072'] }, kind: 'duplicate-client-id', note: 'Bybit: OrderLinkedID is duplicate' },
  { match: { codes: ['170141'] }, kind: 'duplicate-client-id', note: 'Bybit spot: duplicate clientOrderId' },
  { match: { codes: ['51016'] }, kind: 'duplicate-client-id', note: 'OKX: duplicated clOrdId' },
  // Conditional orders: the trigger is already passed; too many on the symbol.
  {
    // Spot's -2021 is another thing (a cancel-replace half done): the message tells them apart.
    match: { codes: ['-2021'], message: 'would immediately trigger' },
    kind: 'would-trigger',
    note: 'Binance futures: order would immediately trigger (price already past the trigger)',
  },
  { match: { codes: ['-4045'] }, kind: 'conditional-limit', note: 'Binance futures: reach max stop order limit (10 per symbol)' },
  // Keys: only a key the exchange refuses outright disables the account.
  {
    match: { codes: ['-2015', '-1022', '-2014', '-2008', '-1002', '-1099', '-2017', '-1005', '-1011', '10003', '10004', '10005', '50111', '50113'] },
    kind: 'auth-failed',
    note: 'bad or locked key, wrong signature, key without the permission, or this IP not on its allow-list',
  },
  // The key works, the account may not do this (ccxt: PermissionDenied, an AuthenticationError). Binance USDⓈ-M.
  {
    match: { codes: ['-4202', '-4203', '-4205', '-4206', '-4208', '-4403'] },
    kind: 'not-permitted',
    reason: 'leverage-not-allowed',
    note: 'leverage above 20× needs verification / a month-old account, or the region caps it',
  },
  {
    match: { codes: ['-4087', '-4088', '-4089', '-4090', '-4192', '-4400', '-4401', '-4402'] },
    kind: 'not-permitted',
    reason: 'trading-restricted',
    note: 'reduce-only restriction (risk rules), no orders at all, cooling-off period, region',
  },
  // Money.
  {
    match: { codes: ['-2010'], message: 'insufficient balance' },
    kind: 'insufficient-funds',
    note: 'Binance spot: account has insufficient balance',
  },
  {
    match: { codes: ['-2018', '-2019', '-2027', '-2028', '-4026', '110004', '110007', '170131', '51008'] },
    kind: 'insufficient-funds',
    note: 'balance or margin insufficient',
  },
  // Orders the exchange refused for what they are.
  {
    match: { codes: ['-2010', '-1013', '-1111', '-1116', '-1117', '-2022', '-4164', '-4061', '-4003', '-4005', '-4014', '-4024'] },
    kind: 'invalid-order',
    note: 'filters (lot size, price, notional), reduce-only rejected, position side mismatch',
  },
  // ccxt classes, most specific first.
  { match: { ccxtClass: 'RequestTimeout' }, kind: 'unknown-outcome', note: 'no answer in time: the order may stand' },
  { match: { ccxtClass: 'DDoSProtection' }, kind: 'rate-limited', note: 'ccxt: 418/429 or exchange throttling' },
  { match: { ccxtClass: 'RateLimitExceeded' }, kind: 'rate-limited', note: 'ccxt: rate limit exceeded' },
  { match: { ccxtClass: 'ExchangeNotAvailable' }, kind: 'unknown-outcome', note: '5xx / maintenance: the order may stand' },
  { match: { ccxtClass: 'InvalidNonce' }, kind: 'retryable', note: 'nonce / timestamp rejected before matching' },
  { match: { ccxtClass: 'NetworkError' }, kind: 'unknown-outcome', note: 'connection failed mid-request' },
  { match: { ccxtClass: 'BadResponse' }, kind: 'unknown-outcome', note: 'unparseable answer' },
  { match: { ccxtClass: 'CancelPending' }, kind: 'unknown-outcome', note: 'cancel still pending' },
  { match: { ccxtClass: 'OperationFailed' }, kind: 'unknown-outcome', note: 'ccxt: operation failed (may have been applied)' },
  // Before AuthenticationError, their parent: the account is refused something, the key is fine.
  { match: { ccxtClass: 'PermissionDenied' }, kind: 'not-permitted', reason: 'trading-restricted', note: 'ccxt: permission denied to this account' },
  { match: { ccxtClass: 'AccountSuspended' }, kind: 'not-permitted', reason: 'trading-restricted', note: 'ccxt: account suspended' },
  { match: { ccxtClass: 'AuthenticationError' }, kind: 'auth-failed', note: 'ccxt: the key is refused' },
  { match: { ccxtClass: 'InsufficientFunds' }, kind: 'insufficient-funds', note: 'ccxt: insufficient funds' },
  { match: { ccxtClass: 'DuplicateOrderId' }, kind: 'duplicate-client-id', note: 'ccxt: duplicate client order id' },
  { match: { ccxtClass: 'NotSupported' }, kind: 'not-supported', note: 'the exchange or ccxt class cannot do this' },
  { match: { ccxtClass: 'InvalidOrder' }, kind: 'invalid-order', note: 'ccxt: invalid order (includes OrderNotFound)' },
  { match: { ccxtClass: 'BadRequest' }, kind: 'invalid-order', note: 'ccxt: bad request / bad symbol' },
  { match: { ccxtClass: 'ArgumentsRequired' }, kind: 'invalid-order', note: 'ccxt: missing argument' },
  { match: { ccxtClass: 'OperationRejected' }, kind: 'invalid-order', note: 'ccxt: operation rejected' },
  { match: { ccxtClass: 'ExchangeError' }, kind: 'invalid-order', note: 'any other answer from the exchange: definite' },
];

const isCcxtInstance = (error: unknown, name: keyof typeof ccxt): boolean => {
  const ctor = (ccxt as unknown as Record<string, unknown>)[name];
  return typeof ctor === 'function' && error instanceof (ctor as abstract new (...args: never[]) => unknown);
};

function rowMatches(row: TranslationRow, error: unknown, answer: ExchangeAnswer, status: number | undefined): boolean {
  const { match } = row;
  if (match.codes && (answer.code === undefined || !match.codes.includes(answer.code))) return false;
  if (match.message !== undefined) {
    const msg = answer.msg ?? '';
    if (!msg.toLowerCase().includes(match.message.toLowerCase())) return false;
  }
  if (match.status && (status === undefined || !match.status.includes(status))) return false;
  if (match.ccxtClass && !isCcxtInstance(error, match.ccxtClass)) return false;
  return true;
}

/** Plain words for the codes an owner is most likely to meet (appended to the exchange's message). */
const PLAIN_WORDS: Readonly<Record<string, string>> = {
  '-4061':
    "the order's position side does not match the account's position mode (one-way vs hedge); verify the account again so the bot re-reads the mode",
  '-2015': "the API key is wrong, lacks the permission for this action, or this server's IP is not on the key's allow-list",
  '-1022': 'the API secret does not match the key',
  '-1021': 'the request reached the exchange outside its time window and was not executed',
  '-2019': 'not enough margin for this order',
  '-2022': 'a reduce-only order would not reduce a position',
  '-4164': "the order's value is below the market's minimum notional",
  '-2021': 'the price is already past the trigger, so the order would fire at once',
  '-4168': 'this futures account is in Multi-Assets mode, where Binance allows cross margin only',
  '-4045':
    'this account already has as many stop-loss and take-profit orders open on this market as the exchange allows (Binance USDⓈ-M: 10 per symbol, MAX_NUM_ALGO_ORDERS)',
};

/** Removes URLs' query strings (signed requests put timestamp, signature and key there), then scrubs. */
export function safeMessage(text: string): string {
  return scrubText(text.replace(/(https?:\/\/[^\s?#"'\\]+)\?[^\s"'\\]*/gi, '$1')).slice(0, 500);
}

export interface TranslateContext {
  exchangeId: string;
  /** What we were doing, in words: 'placing order mbXYZ', 'fetching balance'. */
  action?: string;
  /** From the shared rate limiter, when it knows how long the exchange asked us to wait. */
  retryAfterMs?: number;
}

/** The row that decides an error (exported for the table test). */
export function matchRow(error: unknown): TranslationRow | undefined {
  const answer = exchangeAnswer(error);
  const status = responseFactsOf(error)?.status;
  return TRANSLATION_TABLE.find((row) => rowMatches(row, error, answer, status));
}

/**
 * Translates anything thrown by ccxt (or our fetch layer) into an ExchangeError. Our own errors pass
 * through. Errors that are neither ours nor ccxt's (a bug, a stray host) are unknown-outcome: nothing
 * proves the request did not reach the exchange.
 */
export function translateError(error: unknown, context: TranslateContext): ExchangeError {
  if (error instanceof ExchangeError) return error;
  const answer = exchangeAnswer(error);
  const fact = responseFactsOf(error);
  const row = TRANSLATION_TABLE.find((candidate) => rowMatches(candidate, error, answer, fact?.status));
  const kind: ExchangeErrorKind = row?.kind ?? 'unknown-outcome';
  const detail =
    answer.msg !== undefined
      ? `${answer.msg}${answer.code !== undefined ? ` (code ${answer.code})` : ''}`
      : error instanceof Error
        ? `${error.constructor.name}: ${error.message}`
        : String(error);
  const action = context.action ? ` while ${context.action}` : '';
  const plain = answer.code === undefined ? undefined : PLAIN_WORDS[answer.code];
  const message = safeMessage(`${context.exchangeId}${action}: ${detail}${plain ? ` — ${plain}` : ''}`);
  const retryAfterMs = kind === 'rate-limited' ? (context.retryAfterMs ?? fact?.retryAfterMs ?? 60_000) : undefined;
  return new ExchangeError(kind, message, {
    ...(answer.code !== undefined ? { exchangeCode: answer.code } : fact?.status !== undefined ? { exchangeCode: `http-${fact.status}` } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(row?.reason !== undefined ? { reason: row.reason } : {}),
  });
}

/** Order lookups and cancels answer "does not exist" with these: null, not an error. */
export function isOrderNotFound(error: unknown): boolean {
  if (isCcxtInstance(error, 'OrderNotFound')) return true;
  const { code } = exchangeAnswer(error);
  return code === '-2013' || code === '-2011' || code === '110001' || code === '170213' || code === '51603';
}

/** Binance -4168: isolated margin refused because the futures account is in Multi-Assets mode (cross only). */
export function isMultiAssetsRefusal(error: unknown): boolean {
  return exchangeAnswer(error).code === '-4168';
}

/**
 * Binance: "Margin type cannot be changed if there exists position" (-4048) or open orders (-4047):
 * the symbol trades in the mode it has until they are gone.
 */
export function isMarginModeLocked(error: unknown): boolean {
  const { code } = exchangeAnswer(error);
  return code === '-4047' || code === '-4048';
}

/** "No need to change leverage / margin type / position mode": already set, not an error. */
export function isAlreadySet(error: unknown): boolean {
  if (isCcxtInstance(error, 'MarginModeAlreadySet') || isCcxtInstance(error, 'NoChange')) return true;
  const { code, msg } = exchangeAnswer(error);
  if (code === '-4046' || code === '-4059' || code === '110043' || code === '110025' || code === '110026') return true;
  return msg !== undefined && /no need to change/i.test(msg);
}
