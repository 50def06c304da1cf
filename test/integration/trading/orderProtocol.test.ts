import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { executions, orders } from '../../../src/db/schema';
import type { TradeSignal } from '../../../src/domain/signal';
import type { ExchangeGateway } from '../../../src/exchange/gateway';
import type { GatewayProvider } from '../../../src/trading/engine';
import { GUILD, tradingWorld, type TradingWorld } from '../../support/trading';

/**
 * The order-safety protocol's "not placed" proof, through the real ccxt client and the simulator.
 * Invariant: a client order id is accepted by the exchange at most once, whatever the lookups do.
 */

const marketLong: TradeSignal = {
  symbol: 'BTC/USDT',
  side: 'long',
  entryType: 'market',
  entries: [],
  stopLoss: 48_000,
  takeProfits: [53_000],
  leverage: 5,
};

let world: TradingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function submit(w: TradingWorld, ref: string): Promise<void> {
  const queued = await w.intake.submit({
    guildId: GUILD,
    source: 'command',
    sourceRef: ref,
    authorId: '200000000000099999',
    channelId: null,
    signal: marketLong,
  });
  expect(queued.kind).toBe('queued');
}

/** Every order the exchange accepted for this account under `clientOrderId`. */
function acceptedWithId(w: TradingWorld, apiKey: string, clientOrderId: string) {
  return w.sim.orders(apiKey).futures.filter((order) => order.clientOrderId === clientOrderId);
}

const apiKeyOf = (w: TradingWorld, accountIndex = 0) => {
  const account = w.accounts[accountIndex]!;
  return w.vault.decrypt(account.apiKeyEnc!, { accountId: account.id, ownerId: account.ownerId, field: 'apiKey' }).reveal();
};

/** Runs cycles (a few seconds of the clock apart) while the execution is in flight; a call looks only briefly. */
async function cyclesUntilSettled(w: TradingWorld, engine: { runCycle(): Promise<unknown> }) {
  for (let i = 0; i < 100 && (await w.db.db.select().from(executions))[0]?.status === 'in-flight'; i += 1) {
    await w.clock.sleep(2_000);
    await engine.runCycle();
  }
}

async function entryRow(w: TradingWorld) {
  const [row] = await w.db.db.select().from(orders).where(eq(orders.leg, 'e0'));
  return row!;
}

describe('order protocol: only an answered "does not exist" counts as not placed', () => {
  it('a filled market entry whose answer was lost is not resent while every lookup fails past the window', { timeout: 90_000 }, async () => {
    world = await tradingWorld({ accounts: 1, clockFactor: 10 });
    const w = world;
    const apiKey = apiKeyOf(w);
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000 });
    await engine.start();
    await submit(w, 'lost-answer');
    // The entry is placed and fills, its answer is lost; then the exchange's lookups fail (5xx) for
    // far longer than the lookup window and recvWindow together.
    w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', count: 1 });
    w.sim.inject({ kind: 'http-5xx', path: '/fapi/v1/order', method: 'GET', status: 503 });
    const cycle = engine.runCycle();
    await expect.poll(async () => (await entryRow(w)).sentAt, { timeout: 30_000 }).not.toBeNull();
    const stamped = (await entryRow(w)).sentAt!;
    // Keep the lookups failing until the exchange clock is well past stamp + max(lookup window, recvWindow).
    await expect.poll(() => w.sim.now() > stamped + 100_000, { timeout: 60_000, interval: 50 }).toBe(true);
    expect(acceptedWithId(w, apiKey, (await entryRow(w)).clientOrderId)).toHaveLength(1);
    w.sim.clearFaults();
    await cycle;
    await cyclesUntilSettled(w, engine);

    const entry = await entryRow(w);
    expect(acceptedWithId(w, apiKey, entry.clientOrderId)).toHaveLength(1);
    expect(entry.status).toBe('filled');
    expect(entry.attempts).toBe(1);
    const [execution] = await w.db.db.select().from(executions);
    expect(execution?.status).toBe('placed');
    // Adopted, so the position got its stop.
    expect(w.sim.orders(apiKey).algo.filter((order) => order.algoStatus === 'NEW')).toHaveLength(2);
    expect(w.sim.positions(apiKey).filter((p) => p.amt !== 0)).toHaveLength(1);
  });

  it("the stamp is taken after the rate limiter's queue: a wait there never eats the lookup window", { timeout: 90_000 }, async () => {
    world = await tradingWorld({ accounts: 1, clockFactor: 10 });
    const w = world;
    const apiKey = apiKeyOf(w);
    // Start just after a minute boundary, so a full weight window means a wait of almost a minute.
    w.clock.set(Date.UTC(2026, 0, 5, 12, 0, 1));
    const limiter = w.rateLimiters.get('binance');
    let filledBudget = false;
    // Other accounts' reads spent the minute's budget right when this entry goes out: the order
    // (0 weight, but FIFO behind them) waits for the next window.
    const provider: GatewayProvider = {
      invalidate: (id) => w.gateways.invalidate(id),
      forAccount(account) {
        const inner = w.gateways.forAccount(account);
        return new Proxy(inner, {
          get(target, property, receiver) {
            if (property !== 'placeOrder') return Reflect.get(target, property, receiver) as unknown;
            const place: ExchangeGateway['placeOrder'] = async (intent, options) => {
              if (!filledBudget && intent.type === 'market') {
                filledBudget = true;
                await limiter.acquire('fapi', 2_400);
                void limiter.acquire('fapi', 2_400);
              }
              return target.placeOrder(intent, options);
            };
            return place;
          },
        }) as ExchangeGateway;
      },
    };
    const engine = w.engine({ maxSignalLagMs: 60 * 60_000, gateways: provider });
    await engine.start();
    await submit(w, 'queued-order');
    // Its answer is lost, and Binance denies a fresh order's existence for 40 s.
    w.sim.inject({ kind: 'drop-response', path: '/fapi/v1/order', method: 'POST', count: 1 });
    w.sim.inject({ kind: 'order-not-found', path: '/fapi/v1/order', method: 'GET', ms: 40_000 });
    await engine.runCycle();
    await cyclesUntilSettled(w, engine);

    const entry = await entryRow(w);
    const accepted = acceptedWithId(w, apiKey, entry.clientOrderId);
    expect(accepted).toHaveLength(1);
    // The stamp is no earlier than the moment the exchange received the request (it waited ~59 s).
    expect(entry.sentAt!).toBeGreaterThanOrEqual(accepted[0]!.time);
    expect(entry.status).toBe('filled');
    expect(w.sim.positions(apiKey).filter((p) => p.amt !== 0)).toHaveLength(1);
  });
});
