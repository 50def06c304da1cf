/** The dialect of an exchange with no quirks modelled: ccxt's unified methods as they are. */
import type { Exchange, Order, Trade as CcxtTrade } from 'ccxt';
import { ExchangeError } from '../../errors';
import type { AccountPreflight, IncomeQuery, IncomeRead, KeyAudit, OrderIntent, OrderState, OrderStatus, PositionMode, TradeCursor } from '../../gateway';
import type { RawFee } from '../feeValuation';
import { stateFees } from '../orderState';
import { positionModeProblems, reducesPosition, TRADES_PAGE, type ToOrderState, type Venue, type VenueAccount, type VenueCalls } from './venue';

export class GenericVenue implements Venue {
  readonly ccxtType: 'spot' | 'swap';
  readonly conditionalOrdersApart: boolean = false;
  readonly readsLeverageCaps: boolean = false;
  readonly readsIncome: boolean = false;

  constructor(protected readonly account: VenueAccount) {
    this.ccxtType = account.marketType === 'futures' ? 'swap' : 'spot';
  }

  isConditional(intent: Pick<OrderIntent, 'type'>): boolean {
    return this.conditionalOrdersApart && (intent.type === 'stop-loss' || intent.type === 'take-profit');
  }

  positionParams(intent: OrderIntent): Record<string, unknown> {
    const params: Record<string, unknown> = {};
    if (reducesPosition(intent)) params['reduceOnly'] = true;
    // ccxt's unified hedge flag (Bybit positionIdx, OKX posSide) derives the side from side + reduceOnly.
    if (intent.positionSide !== undefined || this.account.positionMode === 'hedge') params['hedged'] = true;
    return params;
  }

  async fetchByClientId(exchange: Exchange, symbol: string, clientOrderId: string, conditional: boolean): Promise<Order | null> {
    return exchange.fetchOrder('', symbol, conditional ? { clientOrderId, trigger: true } : { clientOrderId });
  }

  async cancelByClientId(exchange: Exchange, symbol: string, clientOrderId: string, conditional: boolean): Promise<Order | null> {
    return exchange.cancelOrder('', symbol, conditional ? { clientOrderId, trigger: true } : { clientOrderId });
  }

  statusOf(_order: Order): OrderStatus | undefined {
    return undefined;
  }

  async completeFill(_exchange: Exchange, _order: Order, state: OrderState, _toState: ToOrderState): Promise<OrderState> {
    return state;
  }

  /** The fees the exchange listed on the order itself. */
  async fillFees(_exchange: Exchange, _order: Order, state: OrderState): Promise<RawFee[]> {
    return stateFees(state);
  }

  async myTrades(exchange: Exchange, symbol: string, cursor: TradeCursor, _afterId: bigint | undefined): Promise<CcxtTrade[]> {
    return exchange.fetchMyTrades(symbol, cursor.sinceMs, TRADES_PAGE, { type: this.ccxtType });
  }

  async readLeverageCaps(_exchange: Exchange): Promise<Map<string, number>> {
    return new Map();
  }

  async readIncome(_exchange: Exchange, _query: IncomeQuery): Promise<IncomeRead> {
    throw new ExchangeError('not-supported', `${this.account.exchangeId}: the income history is read on Binance futures only`);
  }

  async auditKey(_calls: VenueCalls): Promise<KeyAudit> {
    return {
      verdict: 'unknown',
      canWithdraw: null,
      canTransfer: null,
      ipRestricted: null,
      futuresEnabled: null,
      tradingExpiresAt: null,
      notes: [
        `Permissions unknown: ${this.account.exchangeId} does not report what an API key may do. Make sure withdrawals are off on the key, then confirm.`,
      ],
    };
  }

  async preflightFutures(calls: VenueCalls): Promise<AccountPreflight> {
    return calls.call('reading the account setup', async (exchange) => {
      let positionMode: PositionMode = 'one-way';
      if (exchange.has['fetchPositionMode']) {
        const mode = await exchange.fetchPositionMode(undefined, { subType: 'linear' });
        positionMode = mode.hedged ? 'hedge' : 'one-way';
      }
      return { positionMode, marginMode: null, multiAssets: null, futuresEnabled: true, maxLeverage: null, problems: positionModeProblems(this.account, positionMode) };
    });
  }
}
