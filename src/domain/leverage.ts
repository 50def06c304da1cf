/**
 * Effective leverage: what the signal asks (or the account's setting when it asks nothing), never above
 * the account's setting (the member's maximum) nor the market's maximum. Exchanges take whole numbers.
 */
import type { AccountSettings } from './account';
import type { MarketRules } from './market';

export interface EffectiveLeverage {
  readonly leverage: number;
  readonly requested: number;
  /** True when the effective leverage is lower than requested. */
  readonly capped: boolean;
  readonly cappedBy: 'account' | 'market' | null;
}

export function effectiveLeverage(
  signalLeverage: number | null,
  account: Pick<AccountSettings, 'marketType' | 'leverage'>,
  market: Pick<MarketRules, 'maxLeverage'>,
): EffectiveLeverage {
  // Spot has no leverage; a signal's 10x is not "refused" there, it just does not apply.
  if (account.marketType === 'spot') return { leverage: 1, requested: 1, capped: false, cappedBy: null };
  const whole = (n: number) => Math.max(1, Math.floor(n));
  const requested = whole(signalLeverage ?? account.leverage);
  const accountMax = whole(account.leverage);
  const marketMax = whole(market.maxLeverage);
  const leverage = Math.min(requested, accountMax, marketMax);
  const cappedBy = leverage >= requested ? null : accountMax <= marketMax ? 'account' : 'market';
  return { leverage, requested, capped: leverage < requested, cappedBy };
}
