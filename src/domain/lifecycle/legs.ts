/**
 * The orders of one (signal, account) execution as the position lifecycle sees them: legs with their
 * exchange state, and the pure questions asked of them (what is live, what filled, what a newer leg
 * replaced, what the account still holds).
 */
import { parseLeg, type LegKind } from '../clientOrderId';
import type { FeeCharge } from '../fees';
import { dec, toNumber } from '../precision';
import { heldQuantity as heldAfterFees } from '../takeProfits';

export type LegStatus =
  | 'intent'
  | 'unknown'
  | 'open'
  | 'partially-filled'
  | 'filled'
  | 'cancelled'
  | 'rejected'
  | 'not-placed'
  | 'expired';

export type LegOrderType = 'market' | 'limit' | 'stop-loss' | 'take-profit';

export interface Leg {
  /** Opaque id of the stored order. */
  readonly id: string;
  /** Leg id (`e0`, `s1`, `t0v1`, `c0`; see clientOrderId.ts). */
  readonly leg: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly type: LegOrderType;
  readonly quantity: number;
  readonly price: number | null;
  readonly triggerPrice: number | null;
  readonly status: LegStatus;
  readonly filledQuantity: number;
  readonly averagePrice: number | null;
  /** Fees paid so far, per currency (see fees.ts). */
  readonly fees: readonly FeeCharge[];
  /** Why it was refused (a reason code), when it was. */
  readonly reason: string | null;
  /** Sends so far. */
  readonly attempts: number;
  /** Exchange-clock stamp of the last send; null = never sent. */
  readonly sentAt: number | null;
}

const LIVE: ReadonlySet<LegStatus> = new Set(['intent', 'unknown', 'open', 'partially-filled']);

/** May still change on the exchange, or not known yet. */
export const isLive = (leg: Pick<Leg, 'status'>): boolean => LIVE.has(leg.status);
/** Sent, answer not known yet (the order protocol reconciles it). */
export const isInFlight = (leg: Pick<Leg, 'status'>): boolean =>
  leg.status === 'intent' || leg.status === 'unknown';
/** Working on the exchange now. */
export const isResting = (leg: Pick<Leg, 'status'>): boolean =>
  leg.status === 'open' || leg.status === 'partially-filled';
/**
 * Refused when sent (the protocol records why), or proven not placed: nothing of it is on the
 * exchange and its id is free. A leg the exchange accepted and later reported rejected (a triggered
 * stop whose order was refused) has no reason recorded: it is gone, like a cancelled one.
 */
export const isRefused = (leg: Pick<Leg, 'status' | 'reason'>): boolean =>
  leg.status === 'not-placed' || (leg.status === 'rejected' && leg.reason !== null);

const parsed = (leg: Pick<Leg, 'leg'>) => parseLeg(leg.leg);
export const kindOf = (leg: Pick<Leg, 'leg'>): LegKind | 'invalid' => parsed(leg).kind;
export const indexOf = (leg: Pick<Leg, 'leg'>): number => {
  const p = parsed(leg);
  return p.kind === 'invalid' ? -1 : p.index;
};
/** A take-profit's replacement count; the stop's and the close's index is their version. */
export const versionOf = (leg: Pick<Leg, 'leg'>): number => {
  const p = parsed(leg);
  if (p.kind === 'invalid') return 0;
  return p.kind === 'take-profit' ? p.version : p.index;
};

/** Legs of one kind, by target index then version (stops and closes: by version). */
export function legsOf<T extends Pick<Leg, 'leg'>>(legs: readonly T[], kind: LegKind): T[] {
  return legs
    .filter((leg) => kindOf(leg) === kind)
    .sort((a, b) => (kind === 'take-profit' ? indexOf(a) - indexOf(b) : 0) || versionOf(a) - versionOf(b));
}

export const filledOf = (legs: readonly Pick<Leg, 'filledQuantity'>[]) =>
  toNumber(legs.reduce((acc, leg) => acc.plus(dec(leg.filledQuantity)), dec(0)));

/** Quantity bought (or sold short) by the entries. */
export const entryQuantity = (legs: readonly Leg[]): number => filledOf(legsOf(legs, 'entry'));
/** Quantity taken off by stops, targets and closes. */
export const exitedQuantity = (legs: readonly Leg[]): number =>
  filledOf(legs.filter((leg) => kindOf(leg) !== 'entry'));

/** Targets reached: a take-profit of theirs filled (one target may have several versions of its leg). */
export function targetsHit(legs: readonly Leg[]): number[] {
  const tps = legsOf(legs, 'take-profit');
  return [...new Set(tps.filter((leg) => leg.status === 'filled').map(indexOf))].sort((a, b) => a - b);
}

/** A stop or a close traded: the position is (being) stopped out. */
export const stoppedOut = (legs: readonly Leg[]): boolean =>
  [...legsOf(legs, 'stop-loss'), ...legsOf(legs, 'close')].some((leg) => leg.filledQuantity > 0);

const standing = (leg: Leg) => isResting(leg) || leg.status === 'filled';

/**
 * Live exits a replacement has taken over: an older stop once a newer stop rests (or filled), an
 * older version of a target's leg once a newer one does. Cancelled right after their replacement is
 * in place; these are also the ones whose cancel the exchange did not confirm.
 */
export function supersededExits(legs: readonly Leg[]): Leg[] {
  const stops = legsOf(legs, 'stop-loss');
  const tps = legsOf(legs, 'take-profit');
  return [
    ...stops.filter(
      (old) =>
        isLive(old) && !isInFlight(old) && stops.some((n) => versionOf(n) > versionOf(old) && standing(n)),
    ),
    ...tps.filter(
      (old) =>
        isLive(old) &&
        !isInFlight(old) &&
        tps.some((n) => indexOf(n) === indexOf(old) && versionOf(n) > versionOf(old) && standing(n)),
    ),
  ];
}

/**
 * Exits sent and not answered yet that a newer version of the same leg already replaced (a stop
 * whose answer was lost gets a new version after a grace; see decide.ts): if the exchange proves
 * one absent it is not sent again, the newer one protects the position.
 */
export function replacedInFlight(legs: readonly Leg[]): Leg[] {
  const newer = (old: Leg) =>
    legs.some(
      (n) =>
        kindOf(n) === kindOf(old) &&
        (kindOf(old) !== 'take-profit' || indexOf(n) === indexOf(old)) &&
        versionOf(n) > versionOf(old),
    );
  return legs.filter((leg) => isInFlight(leg) && kindOf(leg) !== 'entry' && newer(leg));
}

/**
 * What the account still holds of the position: entries' fills (minus fees charged in the coin on
 * spot, `baseAsset`; null on futures, whose fees are paid from margin) minus every exit's fills.
 */
export function heldQuantity(legs: readonly Leg[], baseAsset: string | null): number {
  return heldAfterFees(legsOf(legs, 'entry'), exitedQuantity(legs), baseAsset);
}

/** The next free version of the stop (or the close) leg. */
export const nextVersion = (legs: readonly Leg[], kind: 'stop-loss' | 'close'): number =>
  legsOf(legs, kind).reduce((max, leg) => Math.max(max, versionOf(leg) + 1), 0);

/** The next free version of target `index`'s leg. */
export const nextTargetVersion = (legs: readonly Leg[], index: number): number =>
  legsOf(legs, 'take-profit')
    .filter((leg) => indexOf(leg) === index)
    .reduce((max, leg) => Math.max(max, versionOf(leg) + 1), 0);
