import { describe, expect, it } from 'vitest';
import { createHealth, startHealthServer } from '../../src/health';
import { createMetrics } from '../../src/metrics';

describe('health and metrics endpoint', () => {
  it('is healthy only while cycles succeed recently and every component is up', async () => {
    let now = 1_000_000;
    let lastCycle: number | null = null;
    let discordUp = true;
    const health = createHealth({ now: () => now, lastCycleAt: () => lastCycle, maxCycleAgeMs: 30_000 });
    health.register('discord', () => discordUp);
    const metrics = createMetrics();
    metrics.cycles.inc({ result: 'ok' });
    const server = await startHealthServer(0, health, metrics);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
    try {
      expect((await get('/healthz')).status).toBe(503); // no cycle yet
      lastCycle = now;
      expect((await get('/healthz')).status).toBe(200);
      now += 31_000; // stopped trading while looking alive
      const stale = await get('/healthz');
      expect(stale.status).toBe(503);
      expect(await stale.json()).toMatchObject({ ok: false, down: ['trading-cycle'] });
      lastCycle = now;
      discordUp = false;
      expect(await (await get('/healthz')).json()).toMatchObject({ ok: false, down: ['discord'] });
      const body = await (await get('/metrics')).text();
      expect(body).toContain('bot_cycles_total{result="ok"} 1');
      expect(body).toContain('bot_fanout_seconds_bucket');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('listens on loopback unless told otherwise (the endpoints have no authentication)', async () => {
    const health = createHealth({ now: () => 0, lastCycleAt: () => null, maxCycleAgeMs: 30_000 });
    const loopback = await startHealthServer(0, health, createMetrics());
    const anywhere = await startHealthServer(0, health, createMetrics(), '0.0.0.0');
    try {
      expect(loopback.address()).toMatchObject({ address: '127.0.0.1' });
      expect(anywhere.address()).toMatchObject({ address: '0.0.0.0' });
    } finally {
      await Promise.all(
        [loopback, anywhere].map((server) => new Promise((resolve) => server.close(resolve))),
      );
    }
  });
});
