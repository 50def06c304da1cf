import { describe, expect, it } from 'vitest';
import {
  AccountOrderGate,
  isOrderCountRefusal,
  isOrderPlacement,
  orderCountRefusalMs,
} from '../../../src/exchange/ccxt/orderRateLimit';
import {
  DEFAULT_RETRY_POLICY,
  escalatesAt,
  retryDelayMs,
  retryDue,
} from '../../../src/domain/lifecycle/refusals';

const refusal = (limit: number, n: number, unit: string) =>
  JSON.stringify({
    code: -1015,
    msg: `Too many new orders; current limit is ${limit} orders per ${n} ${unit}.`,
  });

describe("an account's order-count refusal (Binance -1015)", () => {
  it('holds the account back until the named window ends (windows aligned to the clock), plus a small margin', () => {
    const at = 1_767_614_403_200; // 3.2 s into a 10 s window, 3.2 s into a minute
    expect(orderCountRefusalMs(refusal(300, 10, 'SECOND'), at)).toBe(6_800 + 250);
    expect(orderCountRefusalMs(refusal(1200, 1, 'MINUTE'), at)).toBe(56_800 + 250);
    // A DAY window (spot's 200,000) holds the account back a minute at most; one order then tests it.
    expect(orderCountRefusalMs(refusal(200000, 1, 'DAY'), at)).toBe(60_000);
    // Unreadable window: the shortest Binance uses.
    expect(orderCountRefusalMs(JSON.stringify({ code: -1015, msg: 'Too many new orders.' }), at)).toBe(
      6_800 + 250,
    );
  });

  it("is told apart from the IP's 429 (-1003) and from anything unreadable", () => {
    expect(
      orderCountRefusalMs(
        JSON.stringify({
          code: -1003,
          msg: 'Too many requests; current limit of IP is 2400 requests per minute.',
        }),
        0,
      ),
    ).toBeNull();
    expect(orderCountRefusalMs('<html>429</html>', 0)).toBeNull();
    expect(orderCountRefusalMs('null', 0)).toBeNull();
    expect(isOrderCountRefusal(refusal(300, 10, 'SECOND'))).toBe(true);
    expect(isOrderCountRefusal(JSON.stringify({ code: -1003, msg: 'Too many requests' }))).toBe(false);
    expect(isOrderCountRefusal('Too Many Requests')).toBe(false);
  });

  it('applies to order placements only', () => {
    const url = (path: string) => new URL(`https://fapi.binance.com${path}`);
    expect(isOrderPlacement('POST', url('/fapi/v1/order'))).toBe(true);
    expect(isOrderPlacement('post', url('/fapi/v1/algoOrder'))).toBe(true);
    expect(isOrderPlacement('POST', new URL('https://api.binance.com/api/v3/orderList/oco'))).toBe(true);
    expect(isOrderPlacement('GET', url('/fapi/v1/order'))).toBe(false);
    expect(isOrderPlacement('DELETE', url('/fapi/v1/order'))).toBe(false);
    expect(isOrderPlacement('POST', url('/fapi/v1/leverage'))).toBe(false);
  });

  it("closes one account's gate for the time asked, the longest time winning", () => {
    let now = 1_000;
    const gate = new AccountOrderGate(() => now);
    expect(gate.closedForMs()).toBe(0);
    gate.close(5_000);
    gate.close(2_000);
    expect(gate.closedForMs()).toBe(5_000);
    now += 5_000;
    expect(gate.closedForMs()).toBe(0);
  });
});

describe('retrying an exit refused for a rate limit', () => {
  it('goes again each second (refused in the process while the back-off lasts) where other refusals double', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, DEFAULT_RETRY_POLICY, 'rate-limited'))).toEqual([
      1_000, 1_000, 1_000, 1_000, 1_000,
    ]);
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, DEFAULT_RETRY_POLICY, 'exchange-error'))).toEqual([
      1_000, 2_000, 4_000, 8_000, 15_000, 15_000,
    ]);
  });

  it('retries what protects the position (its stop, a close) each second whatever the passing reason; take-profits double', () => {
    const due = (leg: string, reason: string, attempts: number) =>
      [500, 1_000, 2_000, 4_000].filter((after) =>
        retryDue({ leg, reason, attempts, sentAt: 0 }, after, DEFAULT_RETRY_POLICY),
      );
    expect(due('s0', 'exchange-error', 3)).toEqual([1_000, 2_000, 4_000]);
    expect(due('c0', 'exchange-error', 3)).toEqual([1_000, 2_000, 4_000]);
    expect(due('t0', 'exchange-error', 3)).toEqual([4_000]);
    expect(due('t0', 'rate-limited', 3)).toEqual([1_000, 2_000, 4_000]);
  });

  it('tells the owner when a threshold is crossed, also by a send that counted several attempts or after reasons alternated', () => {
    const told = (reason: string, step: number) =>
      [...Array(20).keys()]
        .map((i) => i * step)
        .filter((before) => escalatesAt(reason, before, before + step, DEFAULT_RETRY_POLICY));
    // One attempt per send: the short threshold (3) for a 5xx, the long one (15) for a rate limit.
    expect(told('exchange-error', 1)).toEqual([2, 14]);
    expect(told('rate-limited', 1)).toEqual([14]);
    // Two per send (a -1021 resent at once): attempts 2 → 4 crosses 3.
    expect(told('exchange-error', 2)).toEqual([2, 14]);
    // A rate limit first (1 → 4), a 5xx after: the long threshold still tells the owner.
    expect(escalatesAt('rate-limited', 1, 4, DEFAULT_RETRY_POLICY)).toBe(false);
    expect(escalatesAt('exchange-error', 4, 5, DEFAULT_RETRY_POLICY)).toBe(false);
    expect(escalatesAt('exchange-error', 14, 16, DEFAULT_RETRY_POLICY)).toBe(true);
    expect(escalatesAt('invalid-order', 7, 8, DEFAULT_RETRY_POLICY)).toBe(true);
  });
});
