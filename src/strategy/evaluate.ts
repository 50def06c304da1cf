import { ATR, EMA, RSI } from 'trading-signals';
import type { TradeSignal } from '../domain/signal';
import type { Candle } from '../exchange/gateway';

/**
 * The built-in example strategy: an EMA crossover in the direction of a longer trend, confirmed by
 * RSI, with stop and take-profits at multiples of ATR. It is an example of a signal source, not
 * trading advice. All indicator maths comes from the `trading-signals` package.
 */
export interface StrategyParams {
  fastEma: number;
  slowEma: number;
  trendEma: number;
  rsiPeriod: number;
  atrPeriod: number;
  /** Longs need RSI above 50 and below this; shorts below 50 and above 100 − this. */
  rsiCeiling: number;
  /** Stop distance from the close, in ATRs. */
  stopAtr: number;
  /** Take-profit distances from the close, in ATRs (ascending). */
  takeProfitAtr: number[];
  /** Candles fetched per symbol (enough for the longest indicator to settle). */
  candles: number;
}

export const DEFAULT_STRATEGY_PARAMS: StrategyParams = {
  fastEma: 9,
  slowEma: 21,
  trendEma: 50,
  rsiPeriod: 14,
  atrPeriod: 14,
  rsiCeiling: 70,
  stopAtr: 1.5,
  takeProfitAtr: [1.5, 3],
  candles: 120,
};

export interface StrategyCandidate {
  signal: TradeSignal;
  /** Higher is stronger: crossover gap in ATRs plus RSI distance from 50 in units of 20. */
  score: number;
  candleTime: number;
}

/** Evaluates the LAST candle of `candles` (closed candles only, oldest first). */
export function evaluateCandles(symbol: string, candles: readonly Candle[], params: StrategyParams = DEFAULT_STRATEGY_PARAMS): StrategyCandidate | null {
  const fast = new EMA(params.fastEma);
  const slow = new EMA(params.slowEma);
  const trend = new EMA(params.trendEma);
  const rsi = new RSI(params.rsiPeriod);
  const atr = new ATR(params.atrPeriod);
  let previousGap: number | null = null;
  let gap: number | null = null;
  let lastRsi: number | null = null;
  let lastAtr: number | null = null;
  let lastTrend: number | null = null;
  for (const candle of candles) {
    const f = fast.update(candle.close, false);
    const s = slow.update(candle.close, false);
    lastTrend = trend.update(candle.close, false);
    lastRsi = rsi.update(candle.close, false);
    lastAtr = atr.update({ high: candle.high, low: candle.low, close: candle.close }, false);
    previousGap = gap;
    gap = slow.isStable ? f - s : null;
  }
  const last = candles.at(-1);
  if (!last || previousGap === null || gap === null || lastRsi === null || lastAtr === null || lastAtr <= 0 || !trend.isStable || lastTrend === null) {
    return null;
  }
  const close = last.close;
  const crossedUp = previousGap <= 0 && gap > 0;
  const crossedDown = previousGap >= 0 && gap < 0;
  let side: 'long' | 'short';
  if (crossedUp && close > lastTrend && lastRsi > 50 && lastRsi < params.rsiCeiling) side = 'long';
  else if (crossedDown && close < lastTrend && lastRsi < 50 && lastRsi > 100 - params.rsiCeiling) side = 'short';
  else return null;
  const dir = side === 'long' ? 1 : -1;
  const stopLoss = close - dir * params.stopAtr * lastAtr;
  if (stopLoss <= 0) return null;
  return {
    signal: {
      symbol,
      side,
      entryType: 'market',
      entries: [],
      stopLoss,
      takeProfits: params.takeProfitAtr.map((k) => close + dir * k * lastAtr),
      leverage: null,
    },
    score: Math.abs(gap) / lastAtr + Math.abs(lastRsi - 50) / 20,
    candleTime: last.openTime,
  };
}
