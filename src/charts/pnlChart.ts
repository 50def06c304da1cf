/**
 * PNG chart of realised PnL by UTC day, on Discord's dark theme (most members use it): bars of each
 * day's PnL (green above zero, red below, for the first mode shown: live, else demo, else paper),
 * one cumulative line per account plus a total per mode, a y-axis that always includes 0 with the
 * zero line drawn, and the last day's label always shown. Rendered in
 * process by chart.js on @napi-rs/canvas (its native part ships inside the npm package), with the
 * DejaVu Sans font from the `dejavu-fonts-ttf` package registered explicitly, so no system font is
 * assumed. Pure input → PNG bytes; the caller decides where the numbers come from.
 */
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration } from 'chart.js';
import { TRADING_MODES } from '../domain/account';
import { FONT_FAMILY, registerBundledFont } from './fonts';

export interface DailyPnl {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  /** Realised PnL of that day. */
  pnl: number;
}

export interface PnlSeries {
  label: string;
  days: readonly DailyPnl[];
  /** Totals are drawn per mode, never across (default live). */
  mode?: 'live' | 'demo' | 'paper';
}

export interface PnlChartOptions {
  width?: number;
  height?: number;
  title?: string;
  currency?: string;
}

export const PNL_CHART_SIZE = { width: 800, height: 400 } as const;
const PALETTE = ['#5865f2', '#f0b232', '#3ba55c', '#eb459e', '#00a8fc', '#faa61a', '#9b84ec', '#ed4245', '#57f287', '#fee75c'];
/** Discord's dark theme: the embed's background, its text, and faint grid lines. */
const BACKGROUND = '#2b2d31';
const TEXT = '#dbdee1';
const GRID = '#3f4147';
const ZERO_LINE = '#949ba4';
const TOTAL_COLOUR = '#ffffff';
const GAIN = 'rgba(59, 165, 92, 0.55)';
const LOSS = 'rgba(237, 66, 69, 0.55)';

/** Account i's colour: the palette, then hues spread by the golden angle (distinct past ten accounts). */
export function seriesColour(i: number): string {
  if (i < PALETTE.length) return PALETTE[i]!;
  const hue = Math.round((i * 137.508) % 360);
  return `hsl(${hue}, 70%, ${i % 2 === 0 ? 62 : 72}%)`;
}

/** Which of `count` day labels to print: about `most` evenly spaced, always the last, never one crowding it. */
export function labelledDays(count: number, most = 10): Set<number> {
  const shown = new Set<number>();
  if (count === 0) return shown;
  const step = Math.max(1, Math.ceil(count / most));
  for (let i = 0; i < count; i += step) if (count - 1 - i >= step * 0.75 || i === count - 1) shown.add(i);
  shown.add(count - 1);
  return shown;
}

let ready = false;

/** Registers chart.js's parts and the bundled font once per process. */
function setUp(): void {
  if (ready) return;
  registerBundledFont();
  Chart.register(...registerables);
  Chart.defaults.font.family = FONT_FAMILY;
  Chart.defaults.color = TEXT;
  ready = true;
}

/**
 * Days of every series, sorted; each series' cumulative sum on those days (flat on days it lacks);
 * a total per mode (live, demo, paper: never summed across modes).
 */
export function cumulativeByDay(series: readonly PnlSeries[]): {
  days: string[];
  lines: number[][];
  totals: { mode: 'live' | 'demo' | 'paper'; series: number; data: number[] }[];
} {
  const days = [...new Set(series.flatMap((s) => s.days.map((d) => d.day)))].sort();
  const lines = series.map((s) => {
    const byDay = new Map<string, number>();
    for (const d of s.days) byDay.set(d.day, (byDay.get(d.day) ?? 0) + d.pnl);
    let running = 0;
    return days.map((day) => {
      running += byDay.get(day) ?? 0;
      return Math.round(running * 100) / 100;
    });
  });
  const modeOf = (s: PnlSeries) => s.mode ?? 'live';
  const totals = TRADING_MODES.flatMap((mode) => {
    const of = lines.filter((_, i) => modeOf(series[i]!) === mode);
    if (of.length === 0) return [];
    return [{ mode, series: of.length, data: days.map((_, i) => Math.round(of.reduce((sum, line) => sum + (line[i] ?? 0), 0) * 100) / 100) }];
  });
  return { days, lines, totals };
}

/** Renders the chart; resolves to PNG bytes of exactly width × height pixels. */
export async function renderPnlChart(series: readonly PnlSeries[], options: PnlChartOptions = {}): Promise<Buffer> {
  setUp();
  const width = options.width ?? PNL_CHART_SIZE.width;
  const height = options.height ?? PNL_CHART_SIZE.height;
  const byDay = cumulativeByDay(series);
  // Every line starts from 0 the day before the first PnL: a first chart (one day) draws a line, not a dot.
  const start = byDay.days[0] ? new Date(Date.parse(`${byDay.days[0]}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10) : null;
  const days = start ? [start, ...byDay.days] : byDay.days;
  const lines = byDay.lines.map((line) => (start ? [0, ...line] : line));
  const totals = byDay.totals.map((total) => ({ ...total, data: start ? [0, ...total.data] : total.data }));
  const dense = days.length > 60;
  // Each day's PnL of the first mode shown (bars are never summed across modes either).
  const barMode = totals[0]?.mode ?? 'live';
  const barData = days.map((day) =>
    Math.round(
      series
        .filter((s) => (s.mode ?? 'live') === barMode)
        .reduce((sum, s) => sum + s.days.filter((d) => d.day === day).reduce((a, d) => a + d.pnl, 0), 0) * 100,
    ) / 100,
  );
  const modeName = (mode: string) => `${mode[0]!.toUpperCase()}${mode.slice(1)}`;
  const datasets = [
    {
      type: 'bar' as const,
      label: `${modeName(barMode)}, per day`,
      data: barData,
      backgroundColor: barData.map((value) => (value >= 0 ? GAIN : LOSS)),
      borderWidth: 0,
      order: 2,
    },
    ...series.map((s, i) => ({
      type: 'line' as const,
      label: s.label,
      data: lines[i] ?? [],
      borderColor: seriesColour(i),
      backgroundColor: seriesColour(i),
      borderWidth: 2,
      pointRadius: dense ? 0 : 2,
      tension: 0,
      order: 1,
    })),
    // A total line per mode with more than one account (one account's line is its own total).
    ...totals
      .filter((total) => total.series > 1)
      .map((total) => ({
        type: 'line' as const,
        label: `${modeName(total.mode)} total`,
        data: total.data,
        borderColor: TOTAL_COLOUR,
        backgroundColor: TOTAL_COLOUR,
        borderWidth: 3,
        borderDash: total.mode === 'live' ? [] : [6, 4],
        pointRadius: dense ? 0 : 2,
        tension: 0,
        order: 0,
      })),
  ];
  const shown = labelledDays(days.length);
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  // chart.js clears the canvas when it draws: the background is painted by a plugin, under the chart.
  const background = {
    id: 'background',
    beforeDraw: (chart: Chart) => {
      chart.ctx.save();
      chart.ctx.fillStyle = BACKGROUND;
      chart.ctx.fillRect(0, 0, chart.width, chart.height);
      chart.ctx.restore();
    },
  };
  const config: ChartConfiguration<'bar' | 'line', number[], string> = {
    type: 'bar',
    data: { labels: days, datasets },
    plugins: [background],
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      events: [],
      plugins: {
        title: { display: true, text: options.title ?? 'Realised PnL (UTC): lines add up, bars are each day', font: { size: 16, weight: 'bold' }, color: TEXT },
        legend: { position: 'bottom', labels: { color: TEXT, boxWidth: 14 } },
      },
      scales: {
        x: {
          grid: { color: GRID },
          // Every day has a tick; about ten carry a label, the last one always.
          // "11-30": the year is in no one's doubt, and short labels never run into each other.
          ticks: { autoSkip: false, maxRotation: 0, color: TEXT, callback: (_value, index) => (shown.has(index) ? (days[index] ?? '').slice(5) : '') },
        },
        y: {
          beginAtZero: true,
          title: { display: true, text: options.currency ?? 'USDT', color: TEXT },
          ticks: { color: TEXT },
          grid: {
            color: (tick: { tick?: { value: number } }) => (tick.tick?.value === 0 ? ZERO_LINE : GRID),
            lineWidth: (tick: { tick?: { value: number } }) => (tick.tick?.value === 0 ? 2 : 1),
          },
        },
      },
    },
  };
  // chart.js takes a 2D context; @napi-rs/canvas's implements what it draws with.
  const chart = new Chart(context as unknown as ConstructorParameters<typeof Chart>[0], config);
  try {
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}
