/**
 * PNG chart of cumulative realised PnL by UTC day: one line per account plus a total per mode. Rendered in
 * process by chart.js on @napi-rs/canvas (its native part ships inside the npm package), with the
 * DejaVu Sans font from the `dejavu-fonts-ttf` package registered explicitly, so no system font is
 * assumed. Pure input → PNG bytes; the caller decides where the numbers come from.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration } from 'chart.js';

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
const FONT_FAMILY = 'DejaVu Sans';
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const TOTAL_COLOUR = '#222222';
const BACKGROUND = '#ffffff';

let ready = false;

/** Registers chart.js's parts and the bundled font once per process. */
function setUp(): void {
  if (ready) return;
  const require = createRequire(import.meta.url);
  const fontDir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  GlobalFonts.registerFromPath(join(fontDir, 'DejaVuSans.ttf'), FONT_FAMILY);
  GlobalFonts.registerFromPath(join(fontDir, 'DejaVuSans-Bold.ttf'), FONT_FAMILY);
  Chart.register(...registerables);
  Chart.defaults.font.family = FONT_FAMILY;
  Chart.defaults.color = '#333333';
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
  const totals = (['live', 'demo', 'paper'] as const).flatMap((mode) => {
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
  const { days, lines, totals } = cumulativeByDay(series);
  const dense = days.length > 60;
  const datasets = [
    ...series.map((s, i) => ({
      label: s.label,
      data: lines[i] ?? [],
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length],
      borderWidth: 2,
      pointRadius: dense ? 0 : 2,
      tension: 0,
    })),
    // A total line per mode with more than one account (one account's line is its own total).
    ...totals
      .filter((total) => total.series > 1)
      .map((total) => ({
        label: `${total.mode[0]!.toUpperCase()}${total.mode.slice(1)} total`,
        data: total.data,
        borderColor: TOTAL_COLOUR,
        backgroundColor: TOTAL_COLOUR,
        borderWidth: 3,
        borderDash: total.mode === 'live' ? [] : [6, 4],
        pointRadius: dense ? 0 : 2,
        tension: 0,
      })),
  ];
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = BACKGROUND;
  context.fillRect(0, 0, width, height);
  const config: ChartConfiguration<'line', number[], string> = {
    type: 'line',
    data: { labels: days, datasets },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      events: [],
      plugins: {
        title: { display: true, text: options.title ?? 'Cumulative realised PnL by day (UTC)', font: { size: 16, weight: 'bold' } },
        legend: { position: 'bottom' },
      },
      scales: {
        x: { ticks: { maxTicksLimit: 12, maxRotation: 0, autoSkip: true } },
        y: { title: { display: true, text: options.currency ?? 'USDT' }, grid: { color: '#e5e5e5' } },
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
