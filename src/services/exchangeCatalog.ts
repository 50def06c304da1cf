import type { MarketType, TradingMode } from '../domain/account';
import { demoDescription, exchangeCapabilities, listExchangeIds } from '../exchange/factory';

/** What the account flow needs to know about an exchange before it asks for a key. */
export interface ExchangeInfo {
  exchangeId: string;
  listed: boolean;
  /** Market types live (and demo) trading is offered for; empty = paper only. */
  liveMarketTypes: readonly MarketType[];
  /** Plain words: why live trading is not offered. */
  liveBlockers: readonly string[];
  demo: 'demo-trading' | 'sandbox' | 'none';
  needsPassphrase: boolean;
  /** Plain words about practice accounts on this exchange. */
  demoText: string;
}

export interface ExchangeCatalog {
  /** Every exchange id, sorted (autocomplete). */
  ids(): readonly string[];
  info(exchangeId: string): ExchangeInfo;
}

/** The catalog from ccxt's own description of each exchange class. */
export function ccxtExchangeCatalog(): ExchangeCatalog {
  let ids: readonly string[] | null = null;
  return {
    ids: () => (ids ??= listExchangeIds()),
    info(exchangeId) {
      const caps = exchangeCapabilities(exchangeId);
      return {
        exchangeId: caps.exchangeId,
        listed: caps.listed,
        liveMarketTypes: caps.liveMarketTypes,
        liveBlockers: caps.liveBlockers,
        demo: caps.demo,
        needsPassphrase: caps.needsPassphrase,
        demoText: demoDescription(caps),
      };
    },
  };
}

/** Why an (exchange, type, mode) combination cannot be added, in plain words; null when it can. */
export function unsupportedReason(info: ExchangeInfo, marketType: MarketType, mode: TradingMode): string | null {
  if (!info.listed) return `"${info.exchangeId}" is not an exchange the bot knows. Pick one from the list.`;
  if (mode === 'paper') return null;
  if (!info.liveMarketTypes.includes(marketType)) {
    const why = info.liveBlockers[0];
    return `${marketType === 'futures' ? 'Futures' : 'Spot'} trading on ${info.exchangeId} is not supported${why ? ` (${why})` : ''}. Use paper mode to practise.`;
  }
  if (mode === 'demo' && info.demo === 'none') return `${info.demoText}.`;
  return null;
}
