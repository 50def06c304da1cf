import { asc, eq } from 'drizzle-orm';
import { paperStateRepository } from '../../../src/db/repositories/paperState';
import type { AccountRow } from '../../../src/db/repositories/accounts';
import { dailyStats, feedOutbox, orders, positions } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import { PaperGateway } from '../../../src/exchange/paper';
import type { GatewayProvider, TradingEngine } from '../../../src/trading/engine';
import { createFeeCorrections } from '../../../src/trading/feeCorrections';
import { createFundingBook } from '../../../src/trading/funding';
import { createPositionSync, type PositionSync } from '../../../src/trading/positionSync';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';
import { createStore } from '../../../src/db/store';

/** The issue's fee model: zero slippage, taker 0.04 %, maker 0.02 %. */
export const FEES = { maker: 0.0002, taker: 0.0004 };

/** LINK/USDT perpetual at 100 on the simulator: step 0.01, so 2 units is a valid quantity. */
export const SYMBOL = 'LINKUSDT';

export const issueSignal: TradeSignal = {
  symbol: 'LINK/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 95,
  takeProfits: [105, 110],
  leverage: 1,
};

export interface PositionsWorld extends TradingWorld {
  engineWithSync: TradingEngine;
  sync: PositionSync;
  provider: GatewayProvider;
  signal(signal?: TradeSignal, ref?: string): Promise<void>;
  cycle(): Promise<void>;
  apiKeyOf(account: AccountRow): string;
  orderRows(accountId: string): Promise<(typeof orders.$inferSelect)[]>;
  positionRows(accountId: string): Promise<(typeof positions.$inferSelect)[]>;
  feedRows(accountId: string): Promise<(typeof feedOutbox.$inferSelect)[]>;
  day(accountId: string): Promise<(typeof dailyStats.$inferSelect)[]>;
}

/**
 * The trading world with the position sync plugged into the engine as a cycle step, and paper
 * accounts on a paper gateway with the same fee model, priced from the simulator's public data.
 */
export async function positionsWorld(
  options: { marketType?: 'spot' | 'futures'; entryTtlMs?: number; connectionLifeMs?: number; clockFactor?: number } = {},
): Promise<PositionsWorld> {
  const world = await tradingWorld({
    // 10× rather than the default 50×: Binance's 5 s recvWindow is then 500 ms of real time, enough
    // for a signed request on a loaded machine (at 50× a slow request reads as -1021).
    clockFactor: options.clockFactor ?? 10,
    ...(options.marketType ? { marketType: options.marketType } : {}),
    simOptions: {
      futuresFees: FEES,
      spotFees: FEES,
      slippage: 0,
      ...(options.connectionLifeMs ? { connectionLifeMs: options.connectionLifeMs } : {}),
    },
  });
  world.sim.setPrice(SYMBOL, 100, 'both');
  const paper = new Map<string, ExchangeGateway>();
  // Paper prices and markets come from the simulator through a real ccxt gateway (public data only).
  let priceSource: ExchangeGateway | null = null;
  const apiKeyOf = (account: AccountRow) =>
    world.vault.decrypt(account.apiKeyEnc!, { accountId: account.id, ownerId: account.ownerId, field: 'apiKey' }).reveal();
  const provider: GatewayProvider = {
    forAccount(account) {
      if (account.mode !== 'paper') return world.gateways.forAccount(account);
      let gateway = paper.get(account.id);
      if (!gateway) {
        gateway = new PaperGateway({
          accountId: account.id,
          exchangeId: account.exchangeId,
          marketType: account.marketType,
          store: paperStateRepository(world.db.db),
          marketData: {
            markets: () => priceSource!.markets(),
            quote: (_exchange, _type, symbol) => priceSource!.quote(symbol),
          },
          now: () => world.clock.now(),
          slippageBps: 0,
          makerFeeBps: FEES.maker * 10_000,
          takerFeeBps: FEES.taker * 10_000,
          startingBalanceUsd: 10_000,
        });
        paper.set(account.id, gateway);
      }
      return gateway;
    },
    invalidate(accountId) {
      world.gateways.invalidate(accountId);
    },
  };
  const source = await world.addAccount({ enabled: false, name: 'price-source' });
  priceSource = world.gateways.forAccount(source);
  // Generous ages: the clock runs 50× faster, and a loaded machine must not turn balances stale mid-batch.
  const engine = world.engine({ maxSignalLagMs: 60 * 60_000, balanceMaxAgeMs: 60 * 60_000, gateways: provider });
  const sync = createPositionSync({
    store: createStore(world.db.db),
    gateways: provider,
    clock: world.clock,
    log: world.log,
    settings: {
      ...(options.entryTtlMs === undefined ? {} : { entryTtlMs: options.entryTtlMs }),
      // At 10× a visit's real latency is seconds of this clock: the app's 2 s would lapse inside one
      // cycle, before the scenarios here can look at a lost exit's doubt.
      lostExitGraceMs: 5_000,
    },
  });
  engine.addCycleStep('positions', sync.run);
  engine.addCycleStep('funding', async () => void (await createFundingBook({ store: createStore(world.db.db), gateways: provider, clock: world.clock, log: world.log, spreadMs: 0 }).run()), { beside: true });
  const feeCorrections = createFeeCorrections({ store: createStore(world.db.db), gateways: provider, clock: world.clock, log: world.log });
  engine.addCycleStep('fee-corrections', async () => void (await feeCorrections.run()), { beside: true });
  await engine.start();
  let refs = 0;
  const db = world.db.db;
  return {
    ...world,
    engineWithSync: engine,
    sync,
    provider,
    async signal(signal = issueSignal, ref) {
      refs += 1;
      const result = await world.intake.submit({
        guildId: GUILD,
        source: 'command',
        sourceRef: ref ?? `interaction-${refs}`,
        authorId: '200000000000099999',
        channelId: null,
        signal,
      });
      if (result.kind !== 'queued') throw new Error(`signal not queued: ${JSON.stringify(result)}`);
    },
    async cycle() {
      await engine.runCycle();
    },
    apiKeyOf,
    orderRows: (accountId) => db.select().from(orders).where(eq(orders.accountId, accountId)).orderBy(asc(orders.createdAt)),
    positionRows: (accountId) => db.select().from(positions).where(eq(positions.accountId, accountId)),
    feedRows: (accountId) => db.select().from(feedOutbox).where(eq(feedOutbox.accountId, accountId)).orderBy(asc(feedOutbox.id)),
    day: (accountId) => db.select().from(dailyStats).where(eq(dailyStats.accountId, accountId)),
  };
}
