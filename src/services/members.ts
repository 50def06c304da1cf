import type { UsersRepository } from '../db/repositories/users';
import { invalid } from './errors';

/** The largest member-wide cap accepted, in USD of notional. */
export const MAX_EXPOSURE_CAP_USD = 10_000_000;

/**
 * Member-wide settings: the cap on open exposure (notional, USD) per symbol across all of a member's
 * accounts, checked before every entry. Off (null) by default.
 */
export function createMemberService(deps: { users: UsersRepository }) {
  return {
    async exposureCap(memberId: string): Promise<number | null> {
      return (await deps.users.get(memberId))?.exposureCapUsd ?? null;
    },

    /** 0 turns the cap off. */
    async setExposureCap(memberId: string, usd: number): Promise<number | null> {
      if (!Number.isFinite(usd) || usd < 0 || usd > MAX_EXPOSURE_CAP_USD) {
        throw invalid(`The exposure cap must be between 0 (off) and ${MAX_EXPOSURE_CAP_USD.toLocaleString('en-US')} USD.`);
      }
      const cap = usd === 0 ? null : usd;
      await deps.users.setExposureCap(memberId, cap);
      return cap;
    },
  };
}

export type MemberService = ReturnType<typeof createMemberService>;
