import { oneProcessFollowers } from '../../support/followers';
import { Writable } from 'node:stream';
import type { DatabaseHandle } from '../../../src/db/client';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import type { MarketRules } from '../../../src/domain/market';
import { ExchangeError } from '../../../src/exchange/errors';
import type { AccountPreflight, Balance, ExchangeGateway, KeyAudit } from '../../../src/exchange/gateway';
import { createLogger } from '../../../src/logger';
import { createBotServices } from '../../../src/services';
import type { ExchangeCatalog, ExchangeInfo } from '../../../src/services/exchangeCatalog';
import type { GatewayFactoryPort, ProbeRequest } from '../../../src/services/ports';
import type { Clock } from '../../../src/clock';
import { createSignalIntake } from '../../../src/trading/signalIntake';
import { generateKeyEntry, openVault, parseKeyring } from '../../../src/vault';
import { createStore } from '../../../src/db/store';

/** What the fake exchange answers for a key (by API key). */
export interface FakeKey {
  secret: string;
  balance?: number;
  audit?: Partial<KeyAudit>;
  preflight?: Partial<AccountPreflight>;
  /** Every call fails with this kind. */
  fail?: ExchangeError['kind'];
}

const notUsed = (): never => {
  throw new Error('not used by the services');
};

/** An exchange port implementation over a table of keys (our port, not ccxt: no mocking of libraries). */
export function fakeGateway(
  exchangeId: string,
  marketType: 'spot' | 'futures',
  key: FakeKey | undefined,
  secret: string,
  prices: Map<string, number>,
  market: { marks: Map<string, number>; contractSizes: Map<string, number> } = { marks: new Map(), contractSizes: new Map() },
): ExchangeGateway {
  const check = () => {
    if (!key || key.secret !== secret) throw new ExchangeError('auth-failed', 'Invalid API-key, IP, or permissions for action.');
    if (key.fail) throw new ExchangeError(key.fail, 'exchange says no');
  };
  return {
    exchangeId,
    marketType,
    recvWindowMs: 5000,
    // Only what /pnl reads of a market: its contract size.
    markets: async () => new Map([...prices.keys()].map((symbol) => [symbol, { contractSize: market.contractSizes.get(symbol) ?? 1 } as MarketRules])),
    async markPrice(symbol) {
      const mark = market.marks.get(symbol) ?? prices.get(symbol);
      if (mark === undefined) throw new ExchangeError('not-supported', 'no such market');
      return mark;
    },
    async balance(): Promise<Balance> {
      check();
      return { currency: 'USDT', free: key?.balance ?? 1000, equity: key?.balance ?? 1000, asOf: 1_700_000_000_000 };
    },
    async quote(symbol) {
      const price = prices.get(symbol);
      if (price === undefined) throw new ExchangeError('not-supported', 'no such market');
      return { symbol, bid: price, ask: price, last: price, at: 0 };
    },
    ensureLeverage: notUsed,
    placeOrder: notUsed,
    fetchOrder: notUsed,
    orderOrigin: notUsed,
    cancelOrder: notUsed,
    openOrders: notUsed,
    positions: notUsed,
    assetBalances: notUsed,
    tradesSince: notUsed,
    async auditKey(): Promise<KeyAudit> {
      check();
      return { verdict: 'ok', canWithdraw: false, canTransfer: false, ipRestricted: false, futuresEnabled: true, tradingExpiresAt: null, notes: [], ...key?.audit };
    },
    async preflight(): Promise<AccountPreflight> {
      check();
      return { positionMode: 'one-way', marginMode: 'isolated', multiAssets: false, futuresEnabled: true, maxLeverage: 125, problems: [], ...key?.preflight };
    },
    serverTime: async () => 0,
    exchangeNow: () => 0,
  };
}

export const FAKE_EXCHANGES: Record<string, ExchangeInfo> = {
  binance: { exchangeId: 'binance', listed: true, liveMarketTypes: ['spot', 'futures'], liveBlockers: [], demo: 'demo-trading', needsPassphrase: false, demoText: 'binance demo trading' },
  okx: { exchangeId: 'okx', listed: true, liveMarketTypes: ['spot', 'futures'], liveBlockers: [], demo: 'sandbox', needsPassphrase: true, demoText: 'okx sandbox' },
  kraken: { exchangeId: 'kraken', listed: true, liveMarketTypes: [], liveBlockers: ['orders cannot be looked up by our client order id'], demo: 'none', needsPassphrase: false, demoText: 'kraken has neither demo trading nor a sandbox in ccxt: use paper mode to practise' },
};

export const fakeCatalog: ExchangeCatalog = {
  ids: () => Object.keys(FAKE_EXCHANGES).sort(),
  info: (id) => FAKE_EXCHANGES[id] ?? { exchangeId: id, listed: false, liveMarketTypes: [], liveBlockers: [], demo: 'none', needsPassphrase: false, demoText: '' },
};

/** The services on a real database with the fake exchange; keys live in `keys`. */
export async function servicesOn(db: DatabaseHandle) {
  const vault = await openVault(parseKeyring(generateKeyEntry(1)));
  const keys = new Map<string, FakeKey>();
  const prices = new Map<string, number>([['BTC/USDT:USDT', 51_000], ['BTC/USDT', 51_000]]);
  // Futures mark prices where they differ from the last price, and contract sizes other than 1.
  const market = { marks: new Map<string, number>(), contractSizes: new Map<string, number>() };
  const probes: ProbeRequest[] = [];
  const invalidated: string[] = [];
  const gateways: GatewayFactoryPort = {
    probe(request) {
      probes.push(request);
      return fakeGateway(request.exchangeId, request.marketType, keys.get(request.apiKey.reveal()), request.secret.reveal(), prices);
    },
    forAccount(account: AccountRow) {
      if (account.mode === 'paper') return fakeGateway(account.exchangeId, account.marketType, { secret: '', balance: 10_000 }, '', prices, market);
      const apiKey = vault.decrypt(account.apiKeyEnc ?? '', { accountId: account.id, ownerId: account.ownerId, field: 'apiKey' }).reveal();
      const secret = vault.decrypt(account.secretEnc ?? '', { accountId: account.id, ownerId: account.ownerId, field: 'secret' }).reveal();
      return fakeGateway(account.exchangeId, account.marketType, keys.get(apiKey), secret, prices, market);
    },
    invalidate: (id) => void invalidated.push(id),
  };
  let now = Date.UTC(2026, 2, 10, 12, 0, 0);
  const clock: Clock & { set(ms: number): void } = { now: () => now, sleep: async () => {}, set: (ms) => void (now = ms) };
  const lines: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  const wakes: number[] = [];
  const store = createStore(db.db);
  const intake = createSignalIntake(store, clock, () => void wakes.push(now));
  const services = createBotServices({
    store,
    vault,
    gateways,
    intake,
    clock,
    log,
    positions: oneProcessFollowers({ store, gateways, clock, log }),
    settings: { exchanges: fakeCatalog },
  });
  return { services, vault, keys, prices, market, probes, invalidated, clock, lines, wakes };
}
