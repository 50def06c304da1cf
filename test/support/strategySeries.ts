import type { Candle } from '../../src/exchange/gateway';

export const HOUR = 3_600_000;

/**
 * A scripted hourly series for the example strategy: a steady uptrend (70 candles), a pullback that
 * takes the fast EMA below the slow one while price stays above the trend EMA (12), then a recovery
 * (12). The only signal is a LONG at candle 90, where the fast EMA crosses back above the slow one.
 */
export const SIGNAL_CANDLE = 90;

export function scriptedSeries(start: number, scale = 1): Candle[] {
  const closes: number[] = [];
  for (let i = 0; i < 70; i += 1) closes.push(100 + i * 0.8);
  for (let i = 0; i < 12; i += 1) closes.push(closes.at(-1)! - 1.3);
  for (let i = 0; i < 12; i += 1) closes.push(closes.at(-1)! + 1.0);
  return closes.map((close, i) => {
    const open = i === 0 ? close : closes[i - 1]!;
    return {
      openTime: start + i * HOUR,
      open: open * scale,
      high: (Math.max(open, close) + 0.5) * scale,
      low: (Math.min(open, close) - 0.5) * scale,
      close: close * scale,
      volume: 1,
    };
  });
}

export function flatSeries(start: number, count: number, price: number): Candle[] {
  return Array.from({ length: count }, (_, i) => ({ openTime: start + i * HOUR, open: price, high: price, low: price, close: price, volume: 1 }));
}
