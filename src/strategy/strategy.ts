import type { Store } from '../db/store';
import type { Candle } from '../exchange/gateway';
import type { Logger } from '../logger';
import type { Clock } from '../clock';
import type { SignalIntake } from '../trading/signalIntake';
import { DEFAULT_STRATEGY_PARAMS, evaluateCandles, type StrategyCandidate, type StrategyParams } from './evaluate';

/** Public candles of one symbol, oldest first (the composition root points it at one exchange's public data). */
export type CandleSource = (symbol: string, timeframe: string, limit: number) => Promise<Candle[]>;

export const TIMEFRAMES: Readonly<Record<string, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '4h': 14_400_000,
  '6h': 21_600_000,
  '12h': 43_200_000,
  '1d': 86_400_000,
};

export interface StrategyTickReport {
  guilds: number;
  fetched: number;
  queued: { guildId: string; symbol: string; side: string; candleTime: number }[];
}

const round = (value: number): number => Number(value.toPrecision(8));

/**
 * Runs the example strategy once per closed candle of each opted-in server's timeframe. Candles are
 * fetched once per (symbol, timeframe, candle) and shared by every server and account; at most one
 * signal (the best-scoring candidate) is queued per server per candle.
 */
export function createStrategy(deps: {
  store: Store;
  intake: Pick<SignalIntake, 'submit'>;
  candles: CandleSource;
  clock: Clock;
  log: Logger;
  params?: StrategyParams;
}) {
  const guilds = deps.store.guilds;
  const params = deps.params ?? DEFAULT_STRATEGY_PARAMS;
  const log = deps.log.child({ component: 'strategy' });
  // Shared across servers and ticks for the same closed candle; older candles are dropped.
  const cache = new Map<string, { closedAt: number; candles: Promise<Candle[] | null> }>();
  let fetched = 0;

  const candlesFor = (symbol: string, timeframe: string, closedOpenTime: number): Promise<Candle[] | null> => {
    const key = `${symbol}|${timeframe}|${closedOpenTime}`;
    const hit = cache.get(key);
    if (hit) return hit.candles;
    fetched += 1;
    const request = deps
      .candles(symbol, timeframe, params.candles + 1)
      .then((rows) => rows.filter((c) => c.openTime <= closedOpenTime))
      .catch((error: unknown) => {
        log.warn({ err: error, symbol, timeframe }, 'candles unavailable');
        cache.delete(key);
        return null;
      });
    cache.set(key, { closedAt: closedOpenTime, candles: request });
    return request;
  };

  return {
    async tick(): Promise<StrategyTickReport> {
      const now = deps.clock.now();
      fetched = 0;
      const report: StrategyTickReport = { guilds: 0, fetched: 0, queued: [] };
      for (const [key, entry] of cache) if (now - entry.closedAt > 2 * 86_400_000) cache.delete(key);
      for (const guild of await guilds.listWithStrategy()) {
        const frame = TIMEFRAMES[guild.strategyTimeframe];
        if (!frame || guild.strategyWatchlist.length === 0) continue;
        // The newest candle that has closed: it opened one timeframe before the current one.
        const closedOpenTime = Math.floor(now / frame) * frame - frame;
        if (guild.strategyLastCandleAt !== null && guild.strategyLastCandleAt >= closedOpenTime) continue;
        report.guilds += 1;
        const candidates: StrategyCandidate[] = [];
        let complete = true;
        for (const symbol of guild.strategyWatchlist) {
          const candles = await candlesFor(symbol, guild.strategyTimeframe, closedOpenTime);
          // Exchange not caught up (or down): try this candle again next cycle.
          if (!candles || candles.at(-1)?.openTime !== closedOpenTime) {
            complete = false;
            continue;
          }
          const candidate = evaluateCandles(symbol, candles, params);
          if (candidate) candidates.push(candidate);
        }
        const best = candidates.sort((a, b) => b.score - a.score)[0];
        if (best) {
          const signal = { ...best.signal, stopLoss: round(best.signal.stopLoss), takeProfits: best.signal.takeProfits.map(round) };
          const result = await deps.intake.submit({
            guildId: guild.guildId,
            source: 'strategy',
            sourceRef: `${guild.guildId}:${signal.symbol}:${best.candleTime}`,
            authorId: null,
            channelId: null,
            signal,
          });
          if (result.kind === 'queued') {
            report.queued.push({ guildId: guild.guildId, symbol: signal.symbol, side: signal.side, candleTime: best.candleTime });
            log.info({ guildId: guild.guildId, symbol: signal.symbol, side: signal.side, score: best.score, accounts: result.accounts }, 'strategy signal queued');
          } else {
            log.warn({ guildId: guild.guildId, symbol: signal.symbol, reason: result.reason }, 'strategy signal refused');
          }
        }
        if (complete || best) await guilds.update(guild.guildId, { strategyLastCandleAt: closedOpenTime });
      }
      report.fetched = fetched;
      return report;
    },
  };
}

export type Strategy = ReturnType<typeof createStrategy>;
