import { describe, expect, it } from 'vitest';
import type { NewOrder, OrderRow } from '../../../src/db/repositories/trading';
import { ExchangeError } from '../../../src/exchange/errors';
import type { ExchangeGateway, OrderIntent, OrderState, PlaceOrderOptions } from '../../../src/exchange/gateway';
import { createLogger } from '../../../src/logger';
import { reconcileOrder, sendOrder, type ProtocolContext } from '../../../src/trading/orderProtocol';

/**
 * The protocol's decisions against a scripted exchange on a clock that moves only when slept on.
 * Invariant under test: an order is sent again only after a lookup ANSWERED "does not exist" at an
 * exchange time past its stamp + max(lookup window, recvWindow); a row with no stamp was never sent.
 */

const RECV_WINDOW = 5_000;
const WINDOW = 60_000;

type LookupScript = (exchangeNow: number) => OrderState | null | 'fail';

function harness(options: { lookup: LookupScript; place?: (intent: OrderIntent) => OrderState | Error; skewMs?: number }) {
  let now = 1_000_000;
  const skew = options.skewMs ?? 0;
  const sent: { intent: OrderIntent; stamp: number | null }[] = [];
  const writes: Partial<NewOrder>[] = [];
  const lookups: number[] = [];
  const state = (intent: Pick<OrderIntent, 'clientOrderId' | 'symbol' | 'quantity'>, status: OrderState['status'] = 'filled'): OrderState => ({
    clientOrderId: intent.clientOrderId,
    exchangeOrderId: '1',
    symbol: intent.symbol,
    side: 'buy',
    type: 'market',
    status,
    quantity: intent.quantity,
    filledQuantity: status === 'filled' ? intent.quantity : 0,
    averagePrice: 100,
    fees: [],
    updatedAt: now,
  });
  const gateway = {
    recvWindowMs: RECV_WINDOW,
    serverTime: async () => now + skew,
    fetchOrder: async () => {
      lookups.push(now + skew);
      const answer = options.lookup(now + skew);
      if (answer === 'fail') throw new ExchangeError('unknown-outcome', 'HTTP 503');
      return answer;
    },
    placeOrder: async (intent: OrderIntent, placeOptions: PlaceOrderOptions = {}) => {
      let stamp: number | null = null;
      if (placeOptions.onStamp) {
        stamp = now + skew;
        await placeOptions.onStamp(stamp);
      }
      sent.push({ intent, stamp });
      const answer = options.place?.(intent) ?? state(intent);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as ExchangeGateway;
  const ctx: ProtocolContext = {
    gateway,
    repo: {
      updateOrder: async (_id, patch) => void writes.push(patch),
      stampSent: async (_id, sentAt) => {
        writes.push({ sentAt });
        return true;
      },
    },
    clock: {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    },
    log: createLogger({ level: 'silent' }),
    lookupWindowMs: WINDOW,
    withinLag: () => true,
  };
  const row = (patch: Partial<OrderRow> = {}): OrderRow =>
    ({
      id: 'o1',
      leg: 'e0',
      clientOrderId: 'abc123',
      symbol: 'BTC/USDT:USDT',
      side: 'buy',
      type: 'market',
      quantity: 1,
      price: null,
      triggerPrice: null,
      reduceOnly: false,
      status: 'unknown',
      attempts: 1,
      sentAt: now,
      ...patch,
    }) as OrderRow;
  /** Reconciles as the cycles do: again every 10 s while the answer is `unknown` (at most `cycles` times). */
  const reconcileAcrossCycles = async (order: OrderRow, cycles = 30) => {
    let result = await reconcileOrder(ctx, order);
    for (let i = 1; i < cycles && result.kind === 'unknown'; i += 1) {
      now += 10_000;
      result = await reconcileOrder(ctx, order);
    }
    return result;
  };
  return { ctx, sent, writes, lookups, row, now: () => now, state, reconcileAcrossCycles };
}

describe('reconcileOrder', () => {
  it('lookups that keep failing leave the order unknown for the next cycle, nothing resent', async () => {
    const h = harness({ lookup: () => 'fail' });
    const result = await h.reconcileAcrossCycles(h.row());
    // However many cycles: left unknown, nothing resent.
    expect(result.kind).toBe('unknown');
    expect(h.sent).toHaveLength(0);
  });

  it('resends once only after an answered "does not exist" past stamp + max(window, recvWindow)', async () => {
    const h = harness({ lookup: () => null });
    const stamp = h.now();
    const result = await h.reconcileAcrossCycles(h.row({ sentAt: stamp }));
    expect(result.kind).toBe('placed');
    expect(h.sent).toHaveLength(1);
    // Every lookup before the decision was answered, and the deciding one came after the window.
    expect(Math.max(...h.lookups)).toBeGreaterThan(stamp + WINDOW);
    expect(h.writes.some((w) => w.attempts === 2)).toBe(true);
  });

  it('failed lookups past the window prove nothing: still unknown, nothing resent', async () => {
    const h = harness({ lookup: (t) => (t < 1_000_000 + 10_000 ? null : 'fail') });
    const result = await h.reconcileAcrossCycles(h.row());
    expect(result.kind).toBe('unknown');
    expect(h.sent).toHaveLength(0);
  });

  it('an answered "does not exist" inside the window is not enough', async () => {
    // Absent until 50 s, found from then on (Binance hides fresh orders for a while).
    const h = harness({ lookup: (t) => (t < 1_000_000 + 50_000 ? null : harnessState()) });
    const result = await h.reconcileAcrossCycles(h.row());
    expect(result.kind).toBe('placed');
    expect(h.sent).toHaveLength(0);
  });

  it('judges by the exchange clock: a host clock 30 s ahead does not shorten the window', async () => {
    // The exchange runs 30 s behind us; the stamp is exchange time, so the window is too.
    const h = harness({ lookup: (t) => (t < 1_000_000 - 30_000 + 45_000 ? null : harnessState()), skewMs: -30_000 });
    const result = await h.reconcileAcrossCycles(h.row({ sentAt: h.now() - 30_000 }));
    expect(result.kind).toBe('placed');
    expect(h.sent).toHaveLength(0);
  });

  it('a second attempt proven not placed is recorded as not placed, never a third send', async () => {
    const h = harness({ lookup: () => null });
    const result = await h.reconcileAcrossCycles(h.row({ attempts: 2 }));
    expect(result).toEqual({ kind: 'not-placed', reason: 'not-placed' });
    expect(h.sent).toHaveLength(0);
  });

  it('one call looks for a few seconds only: an undecided order is left to the next cycle', async () => {
    const h = harness({ lookup: () => null });
    const started = h.now();
    expect((await reconcileOrder(h.ctx, h.row())).kind).toBe('unknown');
    expect(h.now() - started).toBeLessThanOrEqual(3_000);
    expect(h.sent).toHaveLength(0);
  });

  it('with no budget (a position sync visit) it looks once and leaves an undecided order to the next visit', async () => {
    const h = harness({ lookup: () => null });
    const started = h.now();
    expect((await reconcileOrder(h.ctx, h.row(), {}, { budgetMs: 0 })).kind).toBe('unknown');
    expect(h.lookups).toHaveLength(1);
    expect(h.now()).toBe(started);
    expect(h.sent).toHaveLength(0);
  });

  it('with no budget, one answered "does not exist" past the window is still proof enough', async () => {
    const h = harness({ lookup: () => null });
    const stamp = h.now() - WINDOW - 1_000;
    expect((await reconcileOrder(h.ctx, h.row({ sentAt: stamp }), {}, { budgetMs: 0 })).kind).toBe('placed');
    expect(h.lookups).toHaveLength(1);
    expect(h.sent).toHaveLength(1);
  });

  it('a row never stamped never left the process: it is sent at once, without a lookup', async () => {
    const h = harness({ lookup: () => 'fail' });
    const result = await reconcileOrder(h.ctx, h.row({ status: 'intent', sentAt: null }));
    expect(result.kind).toBe('placed');
    expect(h.sent).toHaveLength(1);
    expect(h.lookups).toHaveLength(0);
  });
});

describe('sendOrder', () => {
  it('records the stamp before the request leaves', async () => {
    const h = harness({ lookup: () => null });
    const stamps: (number | null)[] = [];
    const place = h.ctx.gateway.placeOrder.bind(h.ctx.gateway);
    h.ctx.gateway.placeOrder = async (intent, options) => {
      const result = await place(intent, {
        onStamp: async (t) => {
          await options?.onStamp?.(t);
          stamps.push(h.writes.find((w) => w.sentAt !== undefined)?.sentAt ?? null);
        },
      });
      return result;
    };
    await sendOrder(h.ctx, h.row({ status: 'intent', sentAt: null }));
    expect(stamps).toEqual([h.sent[0]!.stamp]);
  });

  it('-1021 is retried at once with a fresh stamp; a timeout goes to the lookups, never straight to a resend', async () => {
    let calls = 0;
    const h = harness({
      lookup: () => harnessState(),
      place: () => {
        calls += 1;
        return calls === 1
          ? new ExchangeError('retryable', 'timestamp outside recvWindow', { exchangeCode: '-1021' })
          : new ExchangeError('unknown-outcome', 'timed out');
      },
    });
    const result = await sendOrder(h.ctx, h.row({ status: 'intent', sentAt: null }));
    expect(h.sent).toHaveLength(2);
    expect(result.kind).toBe('placed');
    expect(h.writes.filter((w) => w.sentAt !== undefined)).toHaveLength(2);
  });
});

function harnessState(): OrderState {
  return {
    clientOrderId: 'abc123',
    exchangeOrderId: '1',
    symbol: 'BTC/USDT:USDT',
    side: 'buy',
    type: 'market',
    status: 'filled',
    quantity: 1,
    filledQuantity: 1,
    averagePrice: 100,
    fees: [],
    updatedAt: 0,
  };
}
