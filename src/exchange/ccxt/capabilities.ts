/**
 * What the bot can do on an exchange, from ccxt's own description of its class (`has`, `urls`,
 * `requiredCredentials`) plus what we verified in the ccxt source: the order-safety protocol needs a
 * client order id sent on create AND usable for lookup, reduce-only orders, and leverage for futures.
 * `has` says nothing about the client-order-id lookup, so that part is a list we checked by reading
 * each class's fetchOrder (ccxt 4.5): others are paper-only, said plainly.
 */
import type { Exchange } from 'ccxt';
import type { MarketType } from '../../domain/account';
import { ccxtExchangeIds, demoKindOf, exchangeClass, isListed } from './exchange';
import type { DemoKind } from './exchange';

export type { DemoKind };

/** Where stop-loss and take-profit live: separate conditional orders, or attached to the entry. */
export type ProtectionStyle = 'separate-orders' | 'attached-to-entry';

export interface ExchangeCapabilities {
  exchangeId: string;
  /** ccxt has a class for it. */
  listed: boolean;
  /** Market types live (and demo) trading is offered for; empty = paper only. */
  liveMarketTypes: MarketType[];
  /** Plain words: why live trading is not offered (empty when it is). */
  liveBlockers: string[];
  demo: DemoKind;
  needsPassphrase: boolean;
  protection: ProtectionStyle;
  /** The exchange reports a key's permissions (withdrawal, transfer, IP restriction). */
  keyAudit: boolean;
}

/**
 * Classes whose fetchOrder/cancelOrder accept our client order id (params.clientOrderId, mapped to
 * origClientOrderId / clientAlgoId, orderLinkId, clOrdId, clientOid) and whose createOrder sends it.
 */
const CLIENT_ORDER_ID_LOOKUP: ReadonlySet<string> = new Set([
  'binance',
  'binanceusdm',
  'bybit',
  'okx',
  'bitget',
  'bingx',
]);

/** Classes whose createOrder passes `reduceOnly` through for linear swaps. */
const REDUCE_ONLY: ReadonlySet<string> = new Set([
  'binance',
  'binanceusdm',
  'bybit',
  'okx',
  'bitget',
  'bingx',
]);

/** Exchanges that attach SL/TP to the entry order in their own API. */
const ATTACHED_PROTECTION: ReadonlySet<string> = new Set(['bybit']);

/** Exchanges with a key-permission endpoint we read (auditKey). */
const KEY_AUDIT: ReadonlySet<string> = new Set(['binance', 'binanceusdm', 'bybit']);

const cache = new Map<string, ExchangeCapabilities>();

/** Exchanges described so far (ccxt's, at most): for tests and diagnostics. */
export const describedExchanges = (): number => cache.size;

/** Ids for autocomplete: every ccxt exchange, sorted. */
export function listExchangeIds(): string[] {
  return [...ccxtExchangeIds()].sort();
}

export function exchangeCapabilities(exchangeId: string): ExchangeCapabilities {
  const cached = cache.get(exchangeId);
  if (cached) return cached;
  if (!isListed(exchangeId)) {
    const unknown: ExchangeCapabilities = {
      exchangeId,
      listed: false,
      liveMarketTypes: [],
      liveBlockers: [`${exchangeId} is not an exchange ccxt supports`],
      demo: 'none',
      needsPassphrase: false,
      protection: 'separate-orders',
      keyAudit: false,
    };
    // Not cached: any text a member types is an id here, and a cache of them would grow without end.
    return unknown;
  }
  // One throwaway instance per id (describe() needs one); the result is cached.
  const Ctor = exchangeClass(exchangeId);
  const exchange: Exchange = new Ctor({ enableRateLimit: false });
  const has = exchange.has as Record<string, boolean | 'emulated' | undefined>;
  const yes = (name: string): boolean => has[name] === true || has[name] === 'emulated';
  const blockers: string[] = [];
  for (const method of [
    'createOrder',
    'fetchOrder',
    'cancelOrder',
    'fetchOpenOrders',
    'fetchMyTrades',
    'fetchBalance',
  ]) {
    if (!yes(method))
      blockers.push(`ccxt's ${exchangeId} cannot ${method.replace(/^fetch/, 'fetch ').toLowerCase()}`);
  }
  if (!CLIENT_ORDER_ID_LOOKUP.has(exchangeId)) {
    blockers.push(
      `orders cannot be looked up by our client order id on ${exchangeId} through ccxt, which the exactly-once order protocol needs`,
    );
  }
  const types: MarketType[] = [];
  if (blockers.length === 0) {
    if (yes('spot')) types.push('spot');
    const futuresOk =
      yes('swap') && yes('setLeverage') && yes('fetchPositions') && REDUCE_ONLY.has(exchangeId);
    if (futuresOk) types.push('futures');
    else if (yes('swap'))
      blockers.push(`futures on ${exchangeId} lack leverage, positions or reduce-only support in ccxt`);
  }
  const required = exchange.requiredCredentials as Record<string, boolean | undefined>;
  const result: ExchangeCapabilities = {
    exchangeId,
    listed: true,
    liveMarketTypes: types,
    liveBlockers: types.length === 0 ? blockers : [],
    demo: demoKindOf(exchange),
    needsPassphrase: required['password'] === true,
    protection: ATTACHED_PROTECTION.has(exchangeId) ? 'attached-to-entry' : 'separate-orders',
    keyAudit: KEY_AUDIT.has(exchangeId),
  };
  cache.set(exchangeId, result);
  return result;
}

/** Plain words for the owner about practice accounts on this exchange. */
export function demoDescription(capabilities: ExchangeCapabilities): string {
  switch (capabilities.demo) {
    case 'demo-trading':
      return `${capabilities.exchangeId} demo trading (a practice account with its own demo API key)`;
    case 'sandbox':
      return `${capabilities.exchangeId} sandbox / testnet (its own testnet API key)`;
    default:
      return `${capabilities.exchangeId} has neither demo trading nor a sandbox in ccxt: use paper mode to practise`;
  }
}
