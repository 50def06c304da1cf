import { createCanvas, loadImage } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import { cumulativeByDay, labelledDays, PNL_CHART_SIZE, renderPnlChart, seriesColour } from '../../../src/charts/pnlChart';

describe('PnL chart', () => {
  it('sums each account by day, flat on days it lacks, plus the total', () => {
    const { days, lines, totals } = cumulativeByDay([
      { label: 'a', days: [{ day: '2026-01-01', pnl: 10 }, { day: '2026-01-03', pnl: -4 }] },
      { label: 'b', days: [{ day: '2026-01-02', pnl: 2.5 }] },
    ]);
    expect(days).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
    expect(lines).toEqual([
      [10, 10, 6],
      [0, 2.5, 2.5],
    ]);
    expect(totals).toEqual([{ mode: 'live', series: 2, data: [10, 12.5, 8.5] }]);
  });

  it('draws a total per mode: paper accounts never add into the live total (issue #12 item 9)', () => {
    const { totals } = cumulativeByDay([
      { label: 'main', mode: 'live', days: [{ day: '2026-01-01', pnl: -20 }] },
      { label: 'second', mode: 'live', days: [{ day: '2026-01-02', pnl: 5 }] },
      { label: 'practice', mode: 'paper', days: [{ day: '2026-01-01', pnl: 1_000 }] },
    ]);
    expect(totals).toEqual([
      { mode: 'live', series: 2, data: [-20, -15] },
      { mode: 'paper', series: 1, data: [1_000, 1_000] },
    ]);
  });

  it('renders a PNG of the expected size that is not blank, a year of points well under a second', async () => {
    const days = Array.from({ length: 365 }, (_, d) => ({
      day: new Date(Date.UTC(2025, 0, 1) + d * 86_400_000).toISOString().slice(0, 10),
      pnl: (d % 7) - 3,
    }));
    const started = performance.now();
    const png = await renderPnlChart([
      { label: 'main', days },
      { label: 'paper', days: days.map((d) => ({ ...d, pnl: -d.pnl / 2 })) },
    ]);
    expect(performance.now() - started).toBeLessThan(1_000 * 5); // generous under load; bench/pnlChart.ts has the figure
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(PNL_CHART_SIZE.width);
    expect(png.readUInt32BE(20)).toBe(PNL_CHART_SIZE.height);
    const image = await loadImage(png);
    const canvas = createCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, image.width, image.height).data;
    const colours = new Set<number>();
    for (let i = 0; i < pixels.length; i += 4 * 7) colours.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!);
    expect(colours.size).toBeGreaterThan(10);
  });

  it('gives twenty accounts twenty distinct colours', () => {
    expect(new Set(Array.from({ length: 20 }, (_, i) => seriesColour(i))).size).toBe(20);
  });

  it("labels about ten days, always the last, and none crowding it", () => {
    for (const count of [1, 2, 7, 30, 31, 90, 365]) {
      const shown = [...labelledDays(count)].sort((a, b) => a - b);
      expect(shown.at(-1)).toBe(count - 1);
      expect(shown.length).toBeLessThanOrEqual(12);
      const step = Math.max(1, Math.ceil(count / 10));
      for (let i = 1; i < shown.length; i++) expect(shown[i]! - shown[i - 1]!).toBeGreaterThanOrEqual(Math.min(step, Math.ceil(step * 0.75)));
    }
  });

  it("draws on Discord's dark theme", async () => {
    const png = await renderPnlChart([{ label: 'main', days: [{ day: '2026-11-01', pnl: 5 }, { day: '2026-11-02', pnl: -8 }] }]);
    const image = await loadImage(png);
    const canvas = createCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    expect([...context.getImageData(2, 2, 1, 1).data.slice(0, 3)]).toEqual([0x2b, 0x2d, 0x31]);
  });
});
