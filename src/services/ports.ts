
import type { MarketType, TradingMode } from '../domain/account';
import type { ExchangeGateway } from '../exchange/gateway';
import type { Secret } from '../vault/secret';
import type { Account } from '../domain/records';

/** A key to try before anything is stored. */
export interface ProbeRequest {
  exchangeId: string;
  marketType: MarketType;
  mode: TradingMode;
  apiKey: Secret;
  secret: Secret;
  passphrase?: Secret;
}

/**
 * The part of the gateway factory (src/exchange/factory.ts) the services use: the factory is the
 * one place that decrypts a stored key, and `probe` builds a throwaway gateway for a key that is not
 * stored yet.
 */
export interface GatewayFactoryPort {
  forAccount(account: Account): ExchangeGateway;
  probe(request: ProbeRequest): ExchangeGateway | Promise<ExchangeGateway>;
  invalidate(accountId: string): void;
}
