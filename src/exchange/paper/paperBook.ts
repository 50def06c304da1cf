/**
 * A paper wallet's rules and matching, on its state (pure but for the clock): the market's filters,
 * the conditional-order cap, funds and margin, fills with their fees, and the one-way futures
 * position they net into. The paper gateway (paperGateway.ts) loads the state, asks this, saves it.
 */
import type { MarketType } from '../../domain/account';
import type { MarketRules } from '../../domain/market';
import { dec, roundToStep, toNumber } from '../../domain/precision';
import { ExchangeError } from '../errors';
import type { OrderIntent, Quote } from '../gateway';
import type { PaperOrder, PaperPosition, PaperState, PaperTrade } from './state';

export const DEFAULT_LEVERAGE = 1;

/** Money and quantities: exact decimals at a fixed scale (no 0.30000000000000004 in a wallet). */
export const fix = (value: number): number => toNumber(dec(value.toFixed(10)));

const isMultipleOf = (value: number, step: number): boolean => {
  const q = dec(value).div(dec(step));
  return q.eq(q.round(0, 0));
};

export const isOpen = (order: PaperOrder): boolean => order.status === 'open' || order.status === 'partially-filled';

export function nextId(state: PaperState): string {
  const id = state.nextId;
  state.nextId += 1;
  return String(id);
}

/** What a paper account trades on: its venue, fees and slippage (fractions), settlement currency, clock. */
export interface PaperTerms {
  exchangeId: string;
  marketType: MarketType;
  slippage: number;
  makerFee: number;
  takerFee: number;
  currency: string;
  now: () => number;
}

export class PaperBook {
  readonly exchangeId: string;
  readonly marketType: MarketType;
  /** Market fills move this fraction against the order. */
  readonly slippage: number;
  private readonly makerFee: number;
  private readonly takerFee: number;
  /** The settlement currency. */
  readonly currency: string;

  constructor(private readonly terms: PaperTerms) {
    this.exchangeId = terms.exchangeId;
    this.marketType = terms.marketType;
    this.slippage = terms.slippage;
    this.makerFee = terms.makerFee;
    this.takerFee = terms.takerFee;
    this.currency = terms.currency;
  }

  private now(): number {
    return this.terms.now();
  }

  validate(intent: OrderIntent, rule: MarketRules, quote: Quote): void {
    const reject = (why: string, code: string): never => {
      throw new ExchangeError('invalid-order', `${this.exchangeId} paper: ${why}`, { exchangeCode: code });
    };
    if (!(intent.quantity > 0) || !isMultipleOf(intent.quantity, rule.amountStep)) {
      reject(`quantity ${intent.quantity} is not a multiple of the step ${rule.amountStep} (LOT_SIZE)`, 'paper-lot-size');
    }
    if (intent.quantity < rule.minAmount) reject(`quantity ${intent.quantity} is below the minimum ${rule.minAmount} (LOT_SIZE)`, 'paper-lot-size');
    if (rule.maxAmount !== null && intent.quantity > rule.maxAmount) {
      reject(`quantity ${intent.quantity} is above the maximum ${rule.maxAmount} (LOT_SIZE)`, 'paper-lot-size');
    }
    if (intent.type === 'limit') {
      if (intent.price === undefined || !(intent.price > 0)) reject('a limit order needs a price', 'paper-price');
      if (!isMultipleOf(intent.price as number, rule.priceStep)) reject(`price ${intent.price} is not a multiple of the tick ${rule.priceStep} (PRICE_FILTER)`, 'paper-price');
    }
    if (intent.type === 'stop-loss' || intent.type === 'take-profit') {
      const trigger = intent.triggerPrice;
      if (trigger === undefined || !(trigger > 0)) reject(`a ${intent.type} order needs a trigger price`, 'paper-price');
      if (!isMultipleOf(trigger as number, rule.priceStep)) reject(`trigger ${trigger} is not a multiple of the tick ${rule.priceStep} (PRICE_FILTER)`, 'paper-price');
      if (triggered(intent.type, intent.side, trigger as number, quote.last)) {
        reject(`the ${intent.type} trigger ${trigger} would trigger immediately at the last price ${quote.last}`, 'paper-immediate-trigger');
      }
    }
    const reference = intent.type === 'limit' ? (intent.price as number) : intent.type === 'market' ? quote.last : (intent.triggerPrice as number);
    const reduceOnlyFutures = this.marketType === 'futures' && (intent.reduceOnly || intent.type !== 'market' && intent.type !== 'limit');
    if (!reduceOnlyFutures && intent.quantity * reference * rule.contractSize < rule.minNotional) {
      reject(
        `order value ${fix(intent.quantity * reference)} ${rule.quote} is below the minimum notional ${rule.minNotional} (NOTIONAL)`,
        'paper-min-notional',
      );
    }
  }

  /** The market's cap on open conditional orders per account (Binance MAX_NUM_ALGO_ORDERS, -4045). */
  checkConditionalLimit(state: PaperState, intent: OrderIntent, rule: MarketRules): void {
    const conditional = (type: OrderIntent['type']): boolean => type === 'stop-loss' || type === 'take-profit';
    if (!conditional(intent.type) || rule.maxConditionalOrders === null) return;
    const open = state.orders.filter((o) => isOpen(o) && o.symbol === intent.symbol && conditional(o.type)).length;
    if (open >= rule.maxConditionalOrders) {
      throw new ExchangeError(
        'conditional-limit',
        `${this.exchangeId} paper: ${intent.symbol} already has ${open} open stop-loss / take-profit orders, the most the exchange allows (MAX_NUM_ALGO_ORDERS)`,
        { exchangeCode: 'paper-max-conditional-orders' },
      );
    }
  }

  /** Spot: what open orders hold back of an asset. */
  locked(state: PaperState, asset: string): number {
    let total = 0;
    for (const order of state.orders) {
      if (!isOpen(order)) continue;
      const [base, quote] = splitSymbol(order.symbol);
      const remaining = order.quantity - order.filledQuantity;
      if (order.side === 'sell' && base === asset) total += remaining;
      if (order.side === 'buy' && order.type === 'limit' && quote === asset) total += remaining * (order.price ?? 0) * (1 + this.takerFee);
    }
    return total;
  }

  checkFunds(state: PaperState, order: PaperOrder, rule: MarketRules, quote: Quote): void {
    const insufficient = (why: string): never => {
      throw new ExchangeError('insufficient-funds', `${this.exchangeId} paper: ${why}`, { exchangeCode: 'paper-insufficient' });
    };
    if (this.marketType === 'spot') {
      const [base, quoteAsset] = splitSymbol(order.symbol);
      if (order.side === 'sell') {
        const free = (state.balances[base] ?? 0) - this.locked(state, base);
        if (free + 1e-12 < order.quantity) insufficient(`${order.quantity} ${base} to sell, ${fix(free)} free`);
      } else if (order.type === 'market' || order.type === 'limit') {
        const price = order.type === 'limit' ? (order.price ?? quote.ask) : marketPrice('buy', quote, this.slippage, rule.priceStep);
        const cost = order.quantity * price * (1 + this.takerFee);
        const free = (state.balances[quoteAsset] ?? 0) - this.locked(state, quoteAsset);
        if (free + 1e-9 < cost) insufficient(`${fix(cost)} ${quoteAsset} needed, ${fix(free)} free`);
      }
      return;
    }
    // Futures.
    const position = this.positionOf(state, order.symbol);
    if (order.reduceOnly && (order.type === 'market' || order.type === 'limit')) {
      const reduces = position !== undefined && position.side !== sideOpenedBy(order.side);
      if (!reduces) {
        throw new ExchangeError('invalid-order', `${this.exchangeId} paper: reduce-only order would not reduce a position (ReduceOnly Order is rejected)`, {
          exchangeCode: 'paper-reduce-only',
        });
      }
    }
    if (!order.reduceOnly && (order.type === 'market' || order.type === 'limit')) {
      const reducing = position !== undefined && position.side !== sideOpenedBy(order.side) ? Math.min(position.quantity, order.quantity) : 0;
      const opening = order.quantity - reducing;
      if (opening > 0) {
        const price = order.type === 'limit' ? (order.price ?? quote.last) : quote.last;
        const leverage = state.leverage[order.symbol]?.leverage ?? DEFAULT_LEVERAGE;
        const needed = (opening * price * rule.contractSize) / leverage + opening * price * this.takerFee;
        const available = this.futuresAvailable(state, quoteMap(quote));
        if (available + 1e-9 < needed) insufficient(`${fix(needed)} ${this.currency} margin needed, ${fix(available)} available`);
      }
    }
  }

  futuresAvailable(state: PaperState, quotes: Map<string, number>): number {
    let equity = state.balances[this.currency] ?? 0;
    let margin = 0;
    for (const position of state.positions) {
      const mark = quotes.get(position.symbol) ?? position.entryPrice;
      equity += pnl(position.side, position.entryPrice, mark, position.quantity);
      margin += (position.entryPrice * position.quantity) / position.leverage;
    }
    return equity - margin;
  }

  positionOf(state: PaperState, symbol: string): PaperPosition | undefined {
    return state.positions.find((p) => p.symbol === symbol);
  }

  // ---------------------------------------------------------------- matching

  /** Fills `order` completely at `price`. */
  fill(state: PaperState, order: PaperOrder, rule: MarketRules, price: number, maker: boolean): void {
    let quantity = order.quantity - order.filledQuantity;
    const feeRate = maker ? this.makerFee : this.takerFee;
    let realized = 0;
    if (this.marketType === 'futures') {
      const position = this.positionOf(state, order.symbol);
      const opens = sideOpenedBy(order.side);
      if (order.reduceOnly) {
        if (!position || position.side === opens) {
          // Nothing left to reduce (the position closed meanwhile): the order lapses, as on Binance.
          order.status = 'expired';
          order.updatedAt = this.now();
          return;
        }
        quantity = Math.min(quantity, position.quantity);
      }
      const fee = fix(quantity * price * rule.contractSize * feeRate);
      realized = this.applyFuturesFill(state, order.symbol, opens, quantity, price, rule);
      state.balances[this.currency] = fix((state.balances[this.currency] ?? 0) + realized - fee);
      this.record(state, order, price, quantity, fee, realized, maker);
      return;
    }
    const [base, quoteAsset] = splitSymbol(order.symbol);
    const notional = quantity * price;
    const fee = fix(notional * feeRate);
    if (order.side === 'buy') {
      const cost = notional + fee;
      if ((state.balances[quoteAsset] ?? 0) + 1e-9 < cost) {
        order.status = 'rejected';
        order.updatedAt = this.now();
        return;
      }
      state.balances[quoteAsset] = fix((state.balances[quoteAsset] ?? 0) - cost);
      state.balances[base] = fix((state.balances[base] ?? 0) + quantity);
    } else {
      if ((state.balances[base] ?? 0) + 1e-12 < quantity) {
        order.status = 'rejected';
        order.updatedAt = this.now();
        return;
      }
      state.balances[base] = fix((state.balances[base] ?? 0) - quantity);
      state.balances[quoteAsset] = fix((state.balances[quoteAsset] ?? 0) + notional - fee);
    }
    this.record(state, order, price, quantity, fee, 0, maker);
  }

  /** Nets a fill into the symbol's one-way position; returns the realised PnL. */
  applyFuturesFill(state: PaperState, symbol: string, opens: 'long' | 'short', quantity: number, price: number, rule: MarketRules): number {
    const position = this.positionOf(state, symbol);
    const leverage = state.leverage[symbol]?.leverage ?? DEFAULT_LEVERAGE;
    const marginMode = state.leverage[symbol]?.marginMode ?? 'cross';
    if (!position) {
      state.positions.push({ symbol, side: opens, quantity, entryPrice: price, leverage, marginMode });
      return 0;
    }
    if (position.side === opens) {
      const total = position.quantity + quantity;
      position.entryPrice = roundToStep((position.entryPrice * position.quantity + price * quantity) / total, rule.priceStep / 100);
      position.quantity = fix(total);
      return 0;
    }
    const closed = Math.min(position.quantity, quantity);
    const realized = fix(pnl(position.side, position.entryPrice, price, closed) * rule.contractSize);
    const remaining = fix(position.quantity - closed);
    const flipped = fix(quantity - closed);
    state.positions = state.positions.filter((p) => p !== position);
    if (remaining > 0) state.positions.push({ ...position, quantity: remaining });
    if (flipped > 0) state.positions.push({ symbol, side: opens, quantity: flipped, entryPrice: price, leverage, marginMode });
    return realized;
  }

  record(state: PaperState, order: PaperOrder, price: number, quantity: number, fee: number, realizedPnl: number, maker: boolean): void {
    const at = this.now();
    const filledBefore = order.filledQuantity;
    order.filledQuantity = fix(filledBefore + quantity);
    order.averagePrice = fix(((order.averagePrice ?? 0) * filledBefore + price * quantity) / order.filledQuantity);
    order.fee = fix(order.fee + fee);
    order.feeCurrency = this.currency;
    order.status = order.filledQuantity + 1e-12 >= order.quantity ? 'filled' : 'partially-filled';
    order.updatedAt = at;
    const trade: PaperTrade = {
      id: nextId(state),
      orderId: order.exchangeOrderId,
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      price,
      quantity,
      fee,
      feeCurrency: this.currency,
      realizedPnl,
      maker,
      timestamp: at,
    };
    state.trades.push(trade);
  }
}

export function splitSymbol(symbol: string): [string, string] {
  const [pair = symbol] = symbol.split(':');
  const [base = pair, quote = ''] = pair.split('/');
  return [base, quote];
}

export const sideOpenedBy = (side: 'buy' | 'sell'): 'long' | 'short' => (side === 'buy' ? 'long' : 'short');

export const pnl = (side: 'long' | 'short', entry: number, exit: number, quantity: number): number =>
  (side === 'long' ? exit - entry : entry - exit) * quantity;

export const quoteMap = (quote: Quote): Map<string, number> => new Map([[quote.symbol, quote.last]]);

/** A market fill: the touch price moved against the order by the slippage, on the tick grid. */
export function marketPrice(side: 'buy' | 'sell', quote: Quote, slippage: number, tick: number): number {
  const touch = side === 'buy' ? quote.ask : quote.bid;
  const moved = side === 'buy' ? touch * (1 + slippage) : touch * (1 - slippage);
  return Math.max(tick, roundToStep(moved, tick));
}

/** A new limit order that can trade at once. */
export function crosses(order: PaperOrder, quote: Quote): boolean {
  if (order.price === null) return false;
  return order.side === 'buy' ? order.price >= quote.ask : order.price <= quote.bid;
}

/** A resting limit order the market has reached. */
export function restingLimitReached(side: 'buy' | 'sell', price: number, quote: Quote): boolean {
  return side === 'buy' ? quote.ask <= price || quote.last <= price : quote.bid >= price || quote.last >= price;
}

/**
 * Whether a leg's trigger is reached at `last`. A sell stop-loss protects a long (price falls to it);
 * a buy stop-loss protects a short (price rises to it); take-profits the other way round.
 */
export function triggered(type: 'stop-loss' | 'take-profit', side: 'buy' | 'sell', trigger: number, last: number): boolean {
  const fallsTo = (type === 'stop-loss') === (side === 'sell');
  return fallsTo ? last <= trigger : last >= trigger;
}
