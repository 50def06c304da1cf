/**
 * Checking a member's key with the exchange: the balance, the permission audit and (futures) the
 * account's setup, each within a time limit and in the signal lane; why a key is refused; what an
 * account keeps of the audit.
 */
import { describeReason } from '../domain/reasons';
import type { MarketType } from '../domain/account';
import type { Account } from '../domain/records';
import { isExchangeError } from '../exchange/errors';
import type { AccountPreflight, Balance, ExchangeGateway, KeyAudit } from '../exchange/gateway';
import { inSignalLane } from '../exchange/requestLane';
import { withTimeout } from '../timeout';
import { UserError } from './errors';

export const EXCHANGE_CALL_TIMEOUT_MS = 20_000;

export interface StoredAudit {
  verdict: KeyAudit['verdict'];
  notes: string[];
}

export const storedAudit = (row: Account): StoredAudit | null => {
  const audit = row.audit;
  if (!audit || typeof audit !== 'object' || typeof audit.verdict !== 'string') return null;
  return { verdict: audit.verdict, notes: Array.isArray(audit.notes) ? audit.notes.map(String) : [] };
};

/**
 * The columns an audit writes: what it found (no secrets) and the key's trading expiry. A new expiry
 * date starts its reminders over; the same date keeps the ones already sent.
 */
export function auditColumns(audit: KeyAudit, previous: Pick<Account, 'tradingExpiresAt'> | null) {
  const expiresAt = audit.tradingExpiresAt === null ? null : new Date(audit.tradingExpiresAt);
  const sameDate = (previous?.tradingExpiresAt?.getTime() ?? null) === (expiresAt?.getTime() ?? null);
  return {
    audit: {
      verdict: audit.verdict,
      canWithdraw: audit.canWithdraw,
      canTransfer: audit.canTransfer,
      ipRestricted: audit.ipRestricted,
      futuresEnabled: audit.futuresEnabled,
      notes: audit.notes,
    },
    tradingExpiresAt: expiresAt,
    ...(sameDate && previous ? {} : { expiryNotices: 0 }),
  };
}

/** The exchange call, or "took too long" once `ms` passed. */
export const exchangeAnswer = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  withTimeout(
    promise,
    ms,
    () =>
      new UserError(
        'unavailable',
        `${what} took too long to answer. Nothing was changed; try again in a minute.`,
      ),
  );

/** Plain words for a failed exchange call during verification; never the exchange's raw text. */
export function verificationFailure(error: unknown, exchangeId: string): string {
  if (error instanceof UserError) return error.message;
  if (isExchangeError(error, 'auth-failed')) {
    return `${exchangeId} refused this key: wrong key or secret, an expired key, or a key without read permission.`;
  }
  if (isExchangeError(error, 'not-permitted')) {
    return `${exchangeId} accepted the key but refuses this account the check: ${describeReason(error.reason ?? 'trading-restricted')}.`;
  }
  if (isExchangeError(error, 'rate-limited'))
    return `${exchangeId} is rate limiting requests right now; try again in a minute.`;
  if (isExchangeError(error, 'not-supported')) return `This account type is not supported on ${exchangeId}.`;
  return `Could not reach ${exchangeId} to check the key; try again in a minute.`;
}

export interface ProbeOutcome {
  balance: Balance;
  audit: KeyAudit | null;
  preflight: AccountPreflight | null;
}

/**
 * A member waits for this answer, so its reads go in the signal lane, ahead of background reads; the
 * per-member throttle (takeKeyCheck) keeps one member from spending the lane's budget.
 */
export function probeGateway(
  gateway: ExchangeGateway,
  marketType: MarketType,
  paper: boolean,
): Promise<ProbeOutcome> {
  return inSignalLane(() => readKeyState(gateway, marketType, paper));
}

/** Balance, permission audit and (futures) preflight of a gateway; throws on a failed call. */
async function readKeyState(
  gateway: ExchangeGateway,
  marketType: MarketType,
  paper: boolean,
): Promise<ProbeOutcome> {
  const what = `${gateway.exchangeId}`;
  const balance = await exchangeAnswer(gateway.balance(), EXCHANGE_CALL_TIMEOUT_MS, what);
  if (paper) return { balance, audit: null, preflight: null };
  const audit = await exchangeAnswer(gateway.auditKey(), EXCHANGE_CALL_TIMEOUT_MS, what);
  const preflight =
    marketType === 'futures' && audit.verdict !== 'refused'
      ? await exchangeAnswer(gateway.preflight(), EXCHANGE_CALL_TIMEOUT_MS, what)
      : null;
  return { balance, audit, preflight };
}

/** Why a probed key must not be stored; null when it may be. */
export function refusal(outcome: ProbeOutcome): { reason: string; notes: string[] } | null {
  const { audit, preflight } = outcome;
  if (audit && (audit.verdict === 'refused' || audit.canWithdraw === true)) {
    return {
      reason:
        audit.canWithdraw === true
          ? 'This key can withdraw funds. Create a key with withdrawals disabled (trading and reading only) and add it again.'
          : 'The exchange reports permissions this bot does not accept for this key.',
      notes: audit.notes,
    };
  }
  if (preflight && !preflight.futuresEnabled) {
    return {
      reason:
        'This key cannot trade futures. Enable futures for the key on the exchange, or add it as a spot account.',
      notes: preflight.problems,
    };
  }
  return null;
}

