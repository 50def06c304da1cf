/**
 * Markets are loaded ONCE per (exchange, mode) by a keyless instance and shared BY REFERENCE with
 * every account instance (`setMarketsFromExchange` copies references, not the 2,500 market objects),
 * so a thousand accounts cost one market table. They are reloaded lazily after `ttlMs`; an account
 * instance picks up the new table on its next call (generation check).
 */
import type { Exchange, MarketInterface } from 'ccxt';
import type { MarketType, TradingMode } from '../../domain/account';
import type { MarketRules } from '../../domain/market';
import { buildExchange } from './exchange';
import type { FetchImplementation } from './exchange';
import type { RateLimiterRegistry } from './rateLimiter';
import { translateError } from './translate';
import { inSignalLane } from '../requestLane';

const DECIMAL_PLACES = 2;
const SIGNIFICANT_DIGITS = 3;

/** A ccxt precision value as a decimal step (0.001), whatever the exchange's precision mode. */
export function stepOf(value: number | undefined, precisionMode: number): number | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  if (precisionMode === DECIMAL_PLACES) return Number(`1e-${value}`);
  if (precisionMode === SIGNIFICANT_DIGITS) return undefined;
  return value;
}

/** Without leverage brackets (signed) we assume a modest cap rather than promise 125×. */
export const FALLBACK_MAX_LEVERAGE = 20;

/**
 * Binance's MAX_NUM_ALGO_ORDERS filter from the raw market (USDⓈ-M: `limit`, spot: `maxNumAlgoOrders`);
 * null for exchanges that publish none.
 */
export function maxConditionalOrdersOf(info: unknown): number | null {
  const filters = typeof info === 'object' && info !== null ? (info as { filters?: unknown }).filters : undefined;
  if (!Array.isArray(filters)) return null;
  for (const filter of filters as unknown[]) {
    if (typeof filter !== 'object' || filter === null) continue;
    const f = filter as Record<string, unknown>;
    if (f['filterType'] !== 'MAX_NUM_ALGO_ORDERS') continue;
    const limit = Number(f['limit'] ?? f['maxNumAlgoOrders']);
    return Number.isInteger(limit) && limit > 0 ? limit : null;
  }
  return null;
}

export function toMarketRules(market: MarketInterface, precisionMode: number, maxLeverage?: number): MarketRules | null {
  const isSpot = market.spot === true;
  const isLinearSwap = market.swap === true && market.linear === true;
  if (!isSpot && !isLinearSwap) return null;
  const amountStep = stepOf(market.precision?.amount, precisionMode);
  const priceStep = stepOf(market.precision?.price, precisionMode);
  if (amountStep === undefined || priceStep === undefined || amountStep <= 0 || priceStep <= 0) return null;
  const limits = market.limits ?? {};
  return {
    symbol: market.symbol,
    base: market.base,
    quote: market.quote,
    type: isSpot ? 'spot' : 'swap',
    amountStep,
    priceStep,
    minAmount: limits.amount?.min ?? amountStep,
    maxAmount: limits.amount?.max ?? null,
    minNotional: limits.cost?.min ?? 0,
    maxLeverage: isSpot ? 1 : (maxLeverage ?? limits.leverage?.max ?? FALLBACK_MAX_LEVERAGE),
    contractSize: market.contractSize ?? 1,
    maxConditionalOrders: maxConditionalOrdersOf(market.info),
    ...(typeof market.taker === 'number' && Number.isFinite(market.taker) ? { takerFee: market.taker } : {}),
  };
}

interface Loaded {
  source: Exchange;
  generation: number;
  loadedAt: number;
  rules: Map<MarketType, ReadonlyMap<string, MarketRules>>;
}

interface Slot {
  loaded?: Loaded;
  loading?: Promise<Loaded> | undefined;
  /** Highest initial leverage per unified symbol (Binance leverage brackets), when known. */
  maxLeverage?: ReadonlyMap<string, number>;
}

export interface SharedMarketsOptions {
  fetchImplementation: FetchImplementation;
  rateLimiters: RateLimiterRegistry;
  now: () => number;
  /** Reload after this long (default 1 h). */
  ttlMs?: number;
}

export class SharedMarkets {
  private readonly slots = new Map<string, Slot>();
  private generationCounter = 0;

  constructor(private readonly options: SharedMarketsOptions) {}

  private slot(exchangeId: string, mode: Exclude<TradingMode, 'paper'>): Slot {
    const key = `${exchangeId}:${mode}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = {};
      this.slots.set(key, slot);
    }
    return slot;
  }

  /** The loaded source instance (keyless), loading or reloading it when needed. Concurrent callers share one load. */
  async load(exchangeId: string, mode: Exclude<TradingMode, 'paper'>): Promise<Loaded> {
    const slot = this.slot(exchangeId, mode);
    const ttl = this.options.ttlMs ?? 3_600_000;
    const fresh = slot.loaded && this.options.now() - slot.loaded.loadedAt < ttl;
    if (slot.loaded && fresh) return slot.loaded;
    if (!slot.loading) {
      // Shared: whoever waits for it (a signal's order, say) must not wait behind background reads.
      slot.loading = inSignalLane(async () => {
        const source = buildExchange({
          exchangeId,
          mode,
          marketType: 'spot',
          limiter: this.options.rateLimiters.get(exchangeId),
          fetchImplementation: this.options.fetchImplementation,
        });
        try {
          await source.loadMarkets();
        } catch (error) {
          throw translateError(error, { exchangeId, action: 'loading markets' });
        }
        const loaded: Loaded = { source, generation: ++this.generationCounter, loadedAt: this.options.now(), rules: new Map() };
        slot.loaded = loaded;
        return loaded;
      }).finally(() => {
        slot.loading = undefined;
      });
    }
    // A stale table still serves while the reload runs, unless there is none yet.
    if (slot.loaded) {
      slot.loading.catch(() => undefined);
      return slot.loaded;
    }
    return slot.loading;
  }

  /** Gives `target` the shared markets (references only) when it does not have this generation yet. */
  async attach(target: Exchange & { __marketsGeneration?: number }, exchangeId: string, mode: Exclude<TradingMode, 'paper'>): Promise<void> {
    const loaded = await this.load(exchangeId, mode);
    if (target.__marketsGeneration === loaded.generation) return;
    target.setMarketsFromExchange(loaded.source);
    target.__marketsGeneration = loaded.generation;
  }

  /** The market rules of one market type, built once per generation and shared. */
  async rules(exchangeId: string, mode: Exclude<TradingMode, 'paper'>, marketType: MarketType): Promise<ReadonlyMap<string, MarketRules>> {
    const slot = this.slot(exchangeId, mode);
    const loaded = await this.load(exchangeId, mode);
    const cached = loaded.rules.get(marketType);
    if (cached) return cached;
    const out = new Map<string, MarketRules>();
    const precisionMode = loaded.source.precisionMode ?? 4;
    for (const market of Object.values(loaded.source.markets ?? {})) {
      if (!market || market.active === false) continue;
      if (marketType === 'spot' ? market.spot !== true : !(market.swap === true && market.linear === true)) continue;
      const rules = toMarketRules(market, precisionMode, slot.maxLeverage?.get(market.symbol));
      if (rules) out.set(rules.symbol, rules);
    }
    loaded.rules.set(marketType, out);
    return out;
  }

  hasLeverageBrackets(exchangeId: string, mode: Exclude<TradingMode, 'paper'>): boolean {
    return this.slot(exchangeId, mode).maxLeverage !== undefined;
  }

  /** Leverage caps learnt by any account (brackets are signed); the futures rules are rebuilt with them. */
  setLeverageBrackets(exchangeId: string, mode: Exclude<TradingMode, 'paper'>, maxLeverage: ReadonlyMap<string, number>): void {
    const slot = this.slot(exchangeId, mode);
    slot.maxLeverage = maxLeverage;
    slot.loaded?.rules.delete('futures');
  }

  /** The keyless instance of (exchange, mode), for public market data. */
  async publicInstance(exchangeId: string, mode: Exclude<TradingMode, 'paper'>): Promise<Exchange> {
    return (await this.load(exchangeId, mode)).source;
  }
}
