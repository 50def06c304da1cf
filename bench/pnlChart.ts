/**
 * PnL chart rendering time: a year of daily points (365 days) for three accounts plus the total,
 * 800 × 400 PNG, chart.js on @napi-rs/canvas with the bundled DejaVu font.
 *
 *   npx tsx bench/pnlChart.ts        (BENCH_RUNS, BENCH_ACCOUNTS, BENCH_DAYS to change the shape)
 *
 * The first render includes chart.js's and the font's one-time set-up; it is reported apart.
 */
import { renderPnlChart, type PnlSeries } from '../src/charts/pnlChart';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 20);
const ACCOUNTS = Number(process.env['BENCH_ACCOUNTS'] ?? 3);
const DAYS = Number(process.env['BENCH_DAYS'] ?? 365);

// Deterministic pseudo-random daily PnL (no Math.random: repeatable figures).
let seed = 42;
const next = (): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const start = Date.UTC(2025, 0, 1);
const series: PnlSeries[] = Array.from({ length: ACCOUNTS }, (_, a) => ({
  label: `account-${a + 1}`,
  days: Array.from({ length: DAYS }, (_, d) => ({
    day: new Date(start + d * 86_400_000).toISOString().slice(0, 10),
    pnl: Math.round((next() - 0.47) * 200 * 100) / 100,
  })),
}));

const t0 = performance.now();
const first = await renderPnlChart(series);
const firstMs = performance.now() - t0;

const times: number[] = [];
let bytes = first.length;
for (let i = 0; i < RUNS; i++) {
  const t = performance.now();
  const png = await renderPnlChart(series);
  times.push(performance.now() - t);
  bytes = png.length;
}
times.sort((a, b) => a - b);
const pct = (p: number): number => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
const round = (x: number): number => Math.round(x * 10) / 10;

console.log(`PnL chart, ${ACCOUNTS} accounts + total × ${DAYS} days, 800×400 PNG (${(bytes / 1024).toFixed(1)} KiB)`);
console.log(`  first render (with set-up): ${round(firstMs)} ms`);
console.log(`  warm: p50 ${round(pct(50))} ms, p95 ${round(pct(95))} ms, max ${round(times[times.length - 1] ?? NaN)} ms over ${RUNS} runs`);
console.log(
  JSON.stringify({
    bench: 'pnlChart',
    accounts: ACCOUNTS,
    days: DAYS,
    runs: RUNS,
    firstMs: round(firstMs),
    p50Ms: round(pct(50)),
    p95Ms: round(pct(95)),
    maxMs: round(times[times.length - 1] ?? NaN),
    pngBytes: bytes,
    peakRssMiB: Math.round(process.memoryUsage().rss / 1024 / 1024),
  }),
);
