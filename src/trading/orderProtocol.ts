import { randomUUID } from 'node:crypto';
import type { FailureReason } from '../domain/reasons';
import { isExchangeError, type ExchangeErrorKind } from '../exchange/errors';
import type { ExchangeGateway, OrderIntent, OrderState } from '../exchange/gateway';
import type { NewOrder, TradingRepository } from '../db/repositories/trading';
import { clientOrderId } from '../domain/clientOrderId';
import type { Logger } from '../logger';
import { LostClaim } from './claims';
import type { Clock } from '../clock';
import type { Order } from '../domain/records';

/**
 * The order-safety protocol of DESIGN.md for one leg: persist → send → classify → reconcile.
 * Exactly one order per (signal, account, leg) can exist because the client order id is
 * deterministic and an order is resent only when the exchange has answered that it does not know
 * it, at a time its clock proves the first request can no longer be accepted.
 */

/**
 * Step 1 of the protocol for one leg: the intent row to persist before sending, its client order id
 * derived from (signal, account, leg) so a resend or another process can only ever name the same order.
 */
export const orderIntent = (
  owner: { executionId: string; signalId: string; accountId: string; ownerId: string },
  leg: string,
  fields: Pick<NewOrder, 'symbol' | 'side' | 'type' | 'quantity' | 'price' | 'triggerPrice' | 'reduceOnly'>,
): NewOrder => ({
  id: randomUUID(),
  ...owner,
  leg,
  clientOrderId: clientOrderId(owner.signalId, owner.accountId, leg),
  status: 'intent',
  attempts: 1,
  // Stamped by the gateway right before the request leaves (sendOrder); null = never sent.
  sentAt: null,
  ...fields,
});

export type Placement =
  | { kind: 'placed'; state: OrderState }
  | { kind: 'rejected'; reason: FailureReason; errorKind: ExchangeErrorKind | 'unexpected' }
  | { kind: 'not-placed'; reason: FailureReason }
  /** Could not be decided now (the exchange did not answer); stays `unknown` for the next cycle. */
  | { kind: 'unknown' };

export interface ProtocolContext {
  gateway: ExchangeGateway;
  repo: Pick<TradingRepository, 'updateOrder' | 'stampSent'>;
  clock: Clock;
  log: Logger;
  /** How long to keep looking an unknown order up (Binance may say "does not exist" for tens of seconds). */
  lookupWindowMs: number;
  /** Whether the signal is still young enough for a resend. */
  withinLag: () => boolean;
  /** Several processes: asked before every send and resend; false → LostClaim, nothing is sent. */
  holdsClaim?: () => Promise<boolean>;
  /**
   * Several processes: writes the send stamp under the claim in one statement (TradingRepository
   * `stampSent`); false → LostClaim, nothing is sent. The last fence before a request leaves: unlike
   * a check followed by a write, no takeover can fall between the two.
   */
  stampUnderClaim?: (orderId: string, sentAt: number, previous: number | null) => Promise<boolean>;
  /**
   * Whether a short rate-limit back-off is waited out in the call (default: the fan-out, whose entry
   * has no later retry) or answered at once as refused (the position lifecycle, which retries its
   * exits every second and must not hold up every other account's pass for one account's window).
   */
  waitOutRateLimits?: boolean;
}

const FIRST_LOOKUP_DELAY_MS = 500;
const MAX_LOOKUP_DELAY_MS = 8_000;
/** Our clock and the exchange's may differ a little; never conclude "not placed" on a margin thinner than this. */
const CLOCK_SAFETY_MS = 1_000;
/**
 * How long one call keeps looking before leaving the order `unknown` to the next cycle. Short: the
 * decision needs no unbroken watch (it is made from the stamp and the exchange's clock whenever a
 * lookup answers), and a long wait here would hold up the cycle, and with it every other account's
 * stops.
 */
const IN_PROCESS_BUDGET_MS = 3_000;
/** The longest Retry-After one send waits out before giving up (rejected, rate-limited). */
const MAX_RATE_LIMIT_WAIT_MS = 5_000;

const REJECTION_REASON: Partial<Record<ExchangeErrorKind, FailureReason>> = {
  'insufficient-funds': 'insufficient-funds',
  'invalid-order': 'invalid-order',
  'auth-failed': 'key-revoked',
  'not-permitted': 'trading-restricted',
  'not-supported': 'not-supported',
  'rate-limited': 'rate-limited',
  retryable: 'exchange-error',
  'would-trigger': 'would-trigger',
  'conditional-limit': 'conditional-limit',
};

export const intentOf = (order: Order): OrderIntent => ({
  clientOrderId: order.clientOrderId,
  symbol: order.symbol,
  side: order.side,
  type: order.type,
  quantity: order.quantity,
  reduceOnly: order.reduceOnly,
  ...(order.price === null ? {} : { price: order.price }),
  ...(order.triggerPrice === null ? {} : { triggerPrice: order.triggerPrice }),
});

/**
 * What an exchange answer says of an order, as a row patch. `stored`: the row it updates, when known.
 * An answer without fees (a placement reply, a lookup whose trades could not be read) keeps the fees
 * known, unless the order filled more since: those fees cover only the earlier fills and would pass
 * for the whole (a spot entry's fee in the coin then reads as coin sold), so they are dropped and
 * looked up again.
 */
export const orderStatePatch = (state: OrderState, stored?: Pick<Order, 'filledQuantity'>) => ({
  status: state.status,
  exchangeOrderId: state.exchangeOrderId,
  // Trades of a triggered algo order name the order it placed: kept so the bot knows its own fills.
  ...(state.fillOrderId ? { fillOrderId: state.fillOrderId } : {}),
  filledQuantity: state.filledQuantity,
  averagePrice: state.averagePrice,
  ...(state.fees.length > 0
    ? { fees: state.fees }
    : stored && state.filledQuantity > stored.filledQuantity
      ? { fees: [] }
      : {}),
  reason: null,
});

/**
 * Sends an intent whose row already says it is being sent (status intent, attempts counted), then
 * classifies the answer. `positionSide` is added for hedge-mode accounts. The gateway reports the
 * request's stamp (an upper bound of the timestamp the exchange judges it by) before it leaves, and
 * the row records it first: a row without a stamp was never sent.
 */
export async function sendOrder(
  ctx: ProtocolContext,
  order: Order,
  extra: Pick<OrderIntent, 'positionSide'> = {},
): Promise<Placement> {
  let current = order;
  let retriedAtOnce = false;
  let rateLimitWaits = 0;
  let claimLost = false;
  const onStamp = async (exchangeTimeMs: number) => {
    // The last fence: the request may have waited in the rate limiter long enough for another process
    // to take the claim over (and send this intent itself). Written under the claim, the stamp either
    // lands before a takeover reads the order (which then reconciles it) or not at all.
    // Also a compare-and-set on the row: another sender of this intent (a /panic elsewhere) that
    // stamped it first sends it; this one does not.
    let held: boolean;
    if (ctx.stampUnderClaim) held = await ctx.stampUnderClaim(current.id, exchangeTimeMs, current.sentAt);
    else {
      held = !ctx.holdsClaim || (await ctx.holdsClaim());
      if (held) held = await ctx.repo.stampSent(current.id, exchangeTimeMs, current.sentAt, null);
    }
    if (!held) {
      claimLost = true;
      throw new LostClaim();
    }
    current = { ...current, sentAt: exchangeTimeMs };
  };
  for (;;) {
    await fence(ctx);
    try {
      const state = await ctx.gateway.placeOrder({ ...intentOf(current), ...extra }, { onStamp });
      await ctx.repo.updateOrder(current.id, orderStatePatch(state));
      return { kind: 'placed', state };
    } catch (error) {
      // Nothing was sent; the row is the new claimer's now.
      if (claimLost) throw new LostClaim();
      const kind: ExchangeErrorKind = isExchangeError(error) ? error.kind : 'unknown-outcome';
      if (!isExchangeError(error))
        ctx.log.warn({ err: error, leg: current.leg }, 'unexpected error placing an order');
      if (kind === 'retryable' && !retriedAtOnce) {
        // -1021: rejected before matching; the same client order id may go again at once.
        retriedAtOnce = true;
        current = await markSent(ctx, current);
        continue;
      }
      const waitMs = isExchangeError(error) ? (error.retryAfterMs ?? 1_000) : 0;
      // A short back-off is waited out here; a long one is the caller's (the cycle must go on).
      if (
        kind === 'rate-limited' &&
        ctx.waitOutRateLimits !== false &&
        waitMs <= MAX_RATE_LIMIT_WAIT_MS &&
        rateLimitWaits < 2 &&
        ctx.withinLag()
      ) {
        rateLimitWaits += 1;
        await ctx.clock.sleep(waitMs);
        current = await markSent(ctx, current);
        continue;
      }
      if (kind === 'unknown-outcome' || kind === 'duplicate-client-id') {
        if (kind === 'unknown-outcome') await ctx.repo.updateOrder(current.id, { status: 'unknown' });
        return reconcileOrder(ctx, current, extra);
      }
      const reason = REJECTION_REASON[kind] ?? 'exchange-error';
      await ctx.repo.updateOrder(current.id, { status: 'rejected', reason });
      return { kind: 'rejected', reason, errorKind: kind };
    }
  }
}

/**
 * Sends a refused order (or one proven not placed) again under its own client order id: nothing of it
 * is on the exchange, so the id is free. Used for exits, which are retried with backoff.
 */
export async function resendRefused(
  ctx: ProtocolContext,
  order: Order,
  extra: Pick<OrderIntent, 'positionSide'> = {},
): Promise<Placement> {
  await fence(ctx);
  const next = { ...order, attempts: order.attempts + 1, status: 'intent' as const, reason: null };
  await ctx.repo.updateOrder(order.id, { attempts: next.attempts, status: 'intent', reason: null });
  return sendOrder(ctx, next, extra);
}

/** Several processes: nothing is sent, or counted as an attempt, by a process that lost its claim. */
async function fence(ctx: ProtocolContext): Promise<void> {
  if (ctx.holdsClaim && !(await ctx.holdsClaim())) throw new LostClaim();
}

/** Records a (re)send before it happens, so a crash mid-request leaves a row to reconcile. */
async function markSent(ctx: ProtocolContext, order: Order): Promise<Order> {
  await fence(ctx);
  const next = { ...order, attempts: order.attempts + 1, status: 'intent' as const };
  await ctx.repo.updateOrder(order.id, { attempts: next.attempts, status: 'intent' });
  return next;
}

type Lookup = { kind: 'found'; state: OrderState } | { kind: 'absent' } | { kind: 'failed' };

async function lookUp(ctx: ProtocolContext, order: Order): Promise<Lookup> {
  try {
    const found = await ctx.gateway.fetchOrder(order.symbol, order.clientOrderId);
    return found ? { kind: 'found', state: found } : { kind: 'absent' };
  } catch (error) {
    ctx.log.debug({ err: error, leg: order.leg }, 'order lookup failed; it proves nothing');
    return { kind: 'failed' };
  }
}

async function exchangeTime(ctx: ProtocolContext): Promise<number | null> {
  try {
    return await ctx.gateway.serverTime();
  } catch {
    return null;
  }
}

/**
 * Rule 4: look the order up by client order id with backoff. Found → adopt. "Not placed" needs
 * proof: a lookup that ANSWERED "does not exist" although it was asked after the exchange's clock
 * (read just before it) had passed both the request's stamp + recvWindow (the exchange refuses the
 * request from then on) and the stamp + the lookup window (a new order may be reported missing for a
 * while). A lookup that failed (5xx, timeout, rate-limited) proves nothing. Proven → resend once if
 * the signal is still young, else not placed. Undecided within a few seconds → `unknown`, and the
 * next cycle looks again.
 */
export async function reconcileOrder(
  ctx: ProtocolContext,
  order: Order,
  extra: Pick<OrderIntent, 'positionSide'> = {},
  options: { budgetMs?: number } = {},
): Promise<Placement> {
  if (order.sentAt === null) return sendUnsent(ctx, order, extra);
  const decidableAfter =
    order.sentAt + Math.max(ctx.lookupWindowMs, ctx.gateway.recvWindowMs + CLOCK_SAFETY_MS);
  const giveUpAt = ctx.clock.now() + (options.budgetMs ?? IN_PROCESS_BUDGET_MS);
  let delay = FIRST_LOOKUP_DELAY_MS;
  for (;;) {
    const exchangeNow = await exchangeTime(ctx);
    const looked = await lookUp(ctx, order);
    if (looked.kind === 'found') {
      await ctx.repo.updateOrder(order.id, orderStatePatch(looked.state, order));
      return { kind: 'placed', state: looked.state };
    }
    if (looked.kind === 'absent' && exchangeNow !== null && exchangeNow > decidableAfter) break;
    const now = ctx.clock.now();
    if (now >= giveUpAt) return { kind: 'unknown' };
    const untilDecidable = exchangeNow === null ? delay : Math.max(1, decidableAfter - exchangeNow + 1);
    await ctx.clock.sleep(Math.min(delay, untilDecidable, giveUpAt - now));
    delay = Math.min(delay * 2, MAX_LOOKUP_DELAY_MS);
  }

  if (order.attempts < 2 && ctx.withinLag()) {
    ctx.log.info({ leg: order.leg, attempts: order.attempts }, 'order provably not placed; resending once');
    const resent = await markSent(ctx, order);
    return sendOrder(ctx, resent, extra);
  }
  await ctx.repo.updateOrder(order.id, { status: 'not-placed', reason: 'not-placed' });
  return { kind: 'not-placed', reason: 'not-placed' };
}

/** An intent that was never stamped never left the process: send it now, or record why not. */
async function sendUnsent(
  ctx: ProtocolContext,
  order: Order,
  extra: Pick<OrderIntent, 'positionSide'>,
): Promise<Placement> {
  if (!ctx.withinLag()) {
    await ctx.repo.updateOrder(order.id, { status: 'not-placed', reason: 'not-placed' });
    return { kind: 'not-placed', reason: 'not-placed' };
  }
  return sendOrder(ctx, order.status === 'intent' ? order : await markSent(ctx, order), extra);
}
