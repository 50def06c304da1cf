/**
 * The side of a signal: as stated, or inferred from where the stop sits. A stop below the entries
 * is a long, above them a short; for a market entry the targets (or a reference price) stand in.
 */
import type { Side } from '../domain/signal';

export interface SideInputs {
  entries: readonly number[];
  stopLoss: number;
  takeProfits: readonly number[];
  /** A price given with a market entry ("CMP 64000"), if any. */
  referencePrice: number | null;
}

export type SideDecision =
  | { ok: true; side: Side }
  /** no-entry: a market entry with nothing to tell a long from a short. */
  | { ok: false; reason: 'stop-wrong-side' | 'no-entry' };

export function decideSide(stated: Side | null, inputs: SideInputs): SideDecision {
  if (stated !== null) return { ok: true, side: stated };
  const { entries, stopLoss, takeProfits, referencePrice } = inputs;
  const anchors = entries.length > 0 ? entries : referencePrice !== null ? [referencePrice] : takeProfits;
  if (anchors.length === 0) return { ok: false, reason: 'no-entry' };
  if (anchors.every((price) => stopLoss < price)) return { ok: true, side: 'long' };
  if (anchors.every((price) => stopLoss > price)) return { ok: true, side: 'short' };
  // The stop sits between the entries (or between the targets): no side makes it a stop.
  return { ok: false, reason: 'stop-wrong-side' };
}
