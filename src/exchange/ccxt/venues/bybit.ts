/** Bybit v5: orders looked up and cancelled by orderLinkId (our client order id), and its key audit. */
import ccxt, { type Exchange, type Order, type bybit } from 'ccxt';
import { ExchangeError } from '../../errors';
import type { KeyAudit } from '../../gateway';
import { rec } from '../orderState';
import { GenericVenue } from './generic';
import { auditFailure, refusedAudit, type VenueCalls } from './venue';

/** The instance's Bybit class, whose implicit v5 endpoints the dialect calls. */
function bybitApi(exchange: Exchange): bybit {
  if (!(exchange instanceof ccxt.bybit)) throw new ExchangeError('not-supported', `${exchange.id} is not a Bybit instance`);
  return exchange;
}

export class BybitVenue extends GenericVenue {
  /**
   * Open orders are in /v5/order/realtime, finished ones in /v5/order/history; ccxt's unified
   * fetchOrder only takes Bybit's own order id.
   */
  override async fetchByClientId(exchange: Exchange, symbol: string, orderLinkId: string): Promise<Order | null> {
    const api = bybitApi(exchange);
    const market = exchange.market(symbol);
    const request = { category: market.spot ? 'spot' : 'linear', symbol: market.id, orderLinkId };
    for (const read of [() => api.privateGetV5OrderRealtime(request), () => api.privateGetV5OrderHistory(request)]) {
      const list = rec(rec(await read())['result'])['list'];
      const first = Array.isArray(list) ? list[0] : undefined;
      if (first) return exchange.parseOrder(first as Record<string, unknown>, market);
    }
    return null;
  }

  /** Bybit cancels by orderLinkId when no order id is given. */
  override async cancelByClientId(exchange: Exchange, symbol: string, orderLinkId: string): Promise<Order | null> {
    return exchange.cancelOrder(undefined as unknown as string, symbol, { orderLinkId });
  }

  override async auditKey(calls: VenueCalls): Promise<KeyAudit> {
    let raw: unknown;
    try {
      raw = await bybitApi(await calls.ready()).privateGetV5UserQueryApi({});
    } catch (error) {
      return auditFailure(this.account.exchangeId, error);
    }
    const result = rec(rec(raw)['result']);
    const permissions = rec(result['permissions']);
    const wallet = permissions['Wallet'];
    const ips = result['ips'];
    if (!Array.isArray(wallet) || !Array.isArray(ips) || (result['readOnly'] !== 0 && result['readOnly'] !== 1)) {
      return refusedAudit('Bybit answered the permission check in a form we do not know, so we cannot prove the key cannot withdraw: it was not accepted.');
    }
    const walletPerms = wallet.map(String);
    const canWithdraw = walletPerms.includes('Withdraw');
    const canTransfer = walletPerms.some((p) => /transfer/i.test(p));
    const ipRestricted = ips.length > 0 && !ips.map(String).includes('*');
    const derivatives = permissions['ContractTrade'] ?? permissions['Derivatives'];
    const futuresEnabled = Array.isArray(derivatives) ? derivatives.length > 0 : null;
    const notes: string[] = [];
    if (canWithdraw) notes.push('Withdrawals are enabled on this key. Create a key without the "Withdrawal" permission.');
    if (canTransfer) notes.push('Transfers are enabled on this key. Remove the wallet transfer permissions.');
    if (result['readOnly'] === 1) notes.push('The key is read-only: it cannot place orders.');
    if (!ipRestricted) notes.push("The key is not restricted to trusted IPs. Restricting it to this server's IP makes a leaked key useless.");
    // Bybit ends keys without an IP binding after three months (expiredAt, an ISO date).
    const expiredAt = typeof result['expiredAt'] === 'string' ? Date.parse(result['expiredAt']) : Number.NaN;
    const tradingExpiresAt = Number.isFinite(expiredAt) && expiredAt > 0 ? expiredAt : null;
    return {
      verdict: canWithdraw || canTransfer || result['readOnly'] === 1 ? 'refused' : 'ok',
      canWithdraw,
      canTransfer,
      ipRestricted,
      futuresEnabled,
      tradingExpiresAt,
      notes,
    };
  }
}
