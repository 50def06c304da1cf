/**
 * The figures a trader reads beside a PnL (pure): of the closed trades of a period, in the order they
 * closed, how many, the share won, the profit factor (gross wins over gross losses), the average win
 * and loss, the best and worst trade, and the largest fall of the running total from a peak.
 */
export interface TradeStats {
  trades: number;
  wins: number;
  losses: number;
  /** Wins over trades, 0–1; null without trades. */
  winRate: number | null;
  /** Gross wins over gross losses; null when nothing was lost (or nothing traded). */
  profitFactor: number | null;
  averageWin: number | null;
  averageLoss: number | null;
  best: number | null;
  worst: number | null;
  /** The largest fall of the running total from its peak (0 or negative), counted from 0 at the start. */
  maxDrawdown: number;
}

export function tradeStats(pnls: readonly number[]): TradeStats {
  const wins = pnls.filter((pnl) => pnl > 0);
  const losses = pnls.filter((pnl) => pnl < 0);
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  const grossWin = sum(wins);
  const grossLoss = -sum(losses);
  let running = 0;
  let peak = 0;
  let maxDrawdown = 0;
  for (const pnl of pnls) {
    running += pnl;
    peak = Math.max(peak, running);
    maxDrawdown = Math.min(maxDrawdown, running - peak);
  }
  return {
    trades: pnls.length,
    wins: wins.length,
    losses: losses.length,
    winRate: pnls.length > 0 ? wins.length / pnls.length : null,
    profitFactor: grossLoss > 0 ? grossWin / grossLoss : null,
    averageWin: wins.length > 0 ? grossWin / wins.length : null,
    averageLoss: losses.length > 0 ? -grossLoss / losses.length : null,
    best: pnls.length > 0 ? Math.max(...pnls) : null,
    worst: pnls.length > 0 ? Math.min(...pnls) : null,
    maxDrawdown,
  };
}
