/**
 * Kelly statistics from an account's closed trades (realised PnL per trade, fees included).
 * f* = W − (1 − W) / R with W the win rate and R = average win / average loss: the share of the
 * bankroll that maximises long-run growth when losses and wins look like the past ones.
 * Break-even trades count as trades but not as wins, which only makes the fraction more careful.
 */
import { roundToStep } from './precision';

export interface TradeStats {
  readonly trades: number;
  readonly wins: number;
  readonly losses: number;
  readonly winRate: number;
  /** Mean of the winning trades' PnL (0 when none). */
  readonly avgWin: number;
  /** Mean of the losing trades' loss, as a positive number (0 when none). */
  readonly avgLoss: number;
  /** Full Kelly fraction; ≤ 0 means no edge. At most 1. */
  readonly kellyFraction: number;
}

/**
 * W − (1 − W) / R. No losses → W; no wins → W − 1 (≤ 0). Wins that are vanishingly small against
 * the losses drive R to 0 and the formula to −∞: that is simply no edge, floored at −1.
 */
export function kellyFraction(winRate: number, avgWin: number, avgLoss: number): number {
  if (avgWin <= 0) return winRate - 1;
  if (avgLoss <= 0) return winRate;
  const fraction = winRate - (1 - winRate) / (avgWin / avgLoss);
  return Number.isFinite(fraction) ? Math.max(-1, fraction) : -1;
}

export function tradeStats(pnls: readonly number[]): TradeStats {
  let wins = 0;
  let losses = 0;
  let sumWin = 0;
  let sumLoss = 0;
  for (const pnl of pnls) {
    if (!Number.isFinite(pnl)) continue;
    if (pnl > 0) {
      wins += 1;
      sumWin += pnl;
    } else if (pnl < 0) {
      losses += 1;
      sumLoss -= pnl;
    }
  }
  const trades = pnls.filter(Number.isFinite).length;
  const winRate = trades === 0 ? 0 : wins / trades;
  const avgWin = wins === 0 ? 0 : sumWin / wins;
  const avgLoss = losses === 0 ? 0 : sumLoss / losses;
  return {
    trades,
    wins,
    losses,
    winRate,
    avgWin,
    avgLoss,
    kellyFraction: trades === 0 ? 0 : kellyFraction(winRate, avgWin, avgLoss),
  };
}

export interface KellyParams {
  /** N: the stats use the last N closed trades; fewer than N falls back to fixed sizing. */
  readonly lookbackTrades: number;
  /** Share of full Kelly to use (0.5 = half Kelly): full Kelly is too volatile on noisy estimates. */
  readonly fraction: number;
  /** Highest share of equity Kelly may put at risk to the stop. */
  readonly cap: number;
}

export const DEFAULT_KELLY: KellyParams = { lookbackTrades: 20, fraction: 0.5, cap: 0.25 };

export type KellySize =
  | { readonly kind: 'kelly'; readonly share: number; readonly stats: TradeStats }
  | { readonly kind: 'too-few-trades'; readonly trades: number }
  | { readonly kind: 'no-edge'; readonly stats: TradeStats };

/**
 * Share of equity to put at risk to the stop (sized like risk mode), from the last N trades (`pnls`
 * oldest first).
 */
export function kellyShare(pnls: readonly number[], params: KellyParams): KellySize {
  const n = Math.max(1, Math.floor(params.lookbackTrades));
  if (pnls.length < n) return { kind: 'too-few-trades', trades: pnls.length };
  const stats = tradeStats(pnls.slice(-n));
  // Basis-point resolution: the estimate is far noisier, and float noise (0.19999999999999998)
  // should not cost a quantity step.
  const share = Math.min(roundToStep(stats.kellyFraction * params.fraction, 0.0001), params.cap);
  if (!(share > 0)) return { kind: 'no-edge', stats };
  return { kind: 'kelly', share, stats };
}
