import type { PositionsRepository } from '../db/repositories/positions';
import { renderPnlChart, type PnlSeries } from '../charts/pnlChart';
import { isUuid } from '../db/repositories/ids';
import { utcDayKey } from '../domain/risk';
import type { Clock } from '../clock';
import { periodStart, PNL_PERIODS, type PnlPeriod } from './pnl';

export const PNL_CHART_FILE = 'pnl.png';

/** The days a chart covers for a /pnl period: today alone would be a dot, so "today" draws 30 days. */
export const chartPeriodOf = (period: PnlPeriod): PnlPeriod => (period === 'day' ? 'month' : period);

const PERIOD_WORDS: Record<PnlPeriod, string> = { day: 'today', week: 'the last 7 days', month: 'the last 30 days', all: 'all time' };

/** Why there is no chart, in the member's words. */
export const noChartReason = (period: PnlPeriod): string =>
  `No chart: no position of yours closed in ${PERIOD_WORDS[chartPeriodOf(period)]}.`;

/**
 * The /pnl chart: realised PnL by UTC day (bars per day, a cumulative line per account of the caller
 * plus the totals per mode), as PNG bytes; null when the period has no day to draw. Owner-scoped like
 * every view.
 */
export function createPnlChartService(deps: { positions: Pick<PositionsRepository, 'dailyPnlOfOwner'>; clock: Clock }) {
  return {
    async chart(query: { ownerId: string; guildId: string; period?: string | null; accountId?: string | null }): Promise<Buffer | null> {
      const wanted = (query.period ?? 'day').trim().toLowerCase();
      const period = chartPeriodOf(PNL_PERIODS.find((p) => p === wanted) ?? 'day');
      const since = periodStart(period, deps.clock.now());
      const accountId = query.accountId && isUuid(query.accountId) ? query.accountId : null;
      if (query.accountId && !accountId) return null;
      const rows = await deps.positions.dailyPnlOfOwner(query.ownerId, query.guildId, since ? utcDayKey(since.getTime()) : null, accountId);
      if (rows.length === 0) return null;
      const byAccount = new Map<string, PnlSeries & { days: { day: string; pnl: number }[] }>();
      for (const row of rows) {
        let series = byAccount.get(row.accountId);
        if (!series) {
          series = { label: row.mode === 'live' ? row.name : `${row.name} (${row.mode})`, mode: row.mode, days: [] };
          byAccount.set(row.accountId, series);
        }
        series.days.push({ day: row.day, pnl: row.pnl });
      }
      return renderPnlChart([...byAccount.values()], {
        title: `Realised PnL, ${PERIOD_WORDS[period]} (UTC): lines add up, bars are each day`,
      });
    },
  };
}
