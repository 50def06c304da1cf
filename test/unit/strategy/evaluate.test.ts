import { ATR } from 'trading-signals';
import { describe, expect, it } from 'vitest';
import { evaluateCandles } from '../../../src/strategy';
import { flatSeries, HOUR, scriptedSeries, SIGNAL_CANDLE } from '../../support/strategySeries';

const T0 = Date.UTC(2026, 0, 1);

describe('example strategy (EMA crossover with trend and RSI filters, ATR exits)', () => {
  it('signals only at the expected candle of the scripted series: a long with ATR stop and targets', () => {
    const candles = scriptedSeries(T0);
    const hits: number[] = [];
    for (let n = 1; n <= candles.length; n += 1) if (evaluateCandles('BTC/USDT', candles.slice(0, n))) hits.push(n - 1);
    expect(hits).toEqual([SIGNAL_CANDLE]);

    const upTo = candles.slice(0, SIGNAL_CANDLE + 1);
    const result = evaluateCandles('BTC/USDT', upTo)!;
    const atr = new ATR(14);
    for (const c of upTo) atr.update(c, false);
    const close = upTo.at(-1)!.close;
    const range = atr.getResultOrThrow();
    expect(result.candleTime).toBe(T0 + SIGNAL_CANDLE * HOUR);
    expect(result.signal).toMatchObject({ symbol: 'BTC/USDT', side: 'long', entryType: 'market', entries: [], leverage: null });
    expect(result.signal.stopLoss).toBeCloseTo(close - 1.5 * range, 8);
    expect(result.signal.takeProfits[0]).toBeCloseTo(close + 1.5 * range, 8);
    expect(result.signal.takeProfits[1]).toBeCloseTo(close + 3 * range, 8);
    expect(result.score).toBeGreaterThan(0);
  });

  it('mirrors into a short on the inverted series', () => {
    const inverted = scriptedSeries(T0).map((c) => ({ ...c, open: 300 - c.open, close: 300 - c.close, high: 300 - c.low, low: 300 - c.high }));
    const result = evaluateCandles('ETH/USDT', inverted.slice(0, SIGNAL_CANDLE + 1));
    expect(result?.signal.side).toBe('short');
    expect(result!.signal.stopLoss).toBeGreaterThan(inverted[SIGNAL_CANDLE]!.close);
  });

  it('stays quiet on flat prices and on too little history', () => {
    expect(evaluateCandles('BTC/USDT', flatSeries(T0, 120, 100))).toBeNull();
    expect(evaluateCandles('BTC/USDT', scriptedSeries(T0).slice(0, 30))).toBeNull();
    expect(evaluateCandles('BTC/USDT', [])).toBeNull();
  });
});
