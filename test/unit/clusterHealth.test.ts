import { describe, expect, it } from 'vitest';
import { watchCluster } from '../../src/clusterHealth';
import { createHealth } from '../../src/health';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';

/**
 * /healthz speaks for the cluster: a follower whose leader died must not say 200 while no process holds
 * the Discord gateway, nor while the feed's due rows wait; the backlog metric is set.
 */
describe('cluster health', () => {
  it('is down when no process has held the gateway for the grace, or a due feed row waits too long; the backlog gauge follows', async () => {
    let now = 1_000_000;
    let held = true;
    let backlog: { pending: number; oldestDueMs: number | null } = { pending: 0, oldestDueMs: null };
    const health = createHealth({ now: () => now, lastCycleAt: () => now, maxCycleAgeMs: 60_000 });
    const metrics = createMetrics();
    const cluster = watchCluster({
      leadershipHeld: async () => held,
      backlogAge: async () => backlog,
      health,
      metrics,
      log: createLogger({ level: 'silent' }),
      now: () => now,
      everyMs: 3_600_000,
      gatewayGraceMs: 20_000,
      maxBacklogAgeMs: 120_000,
    });
    try {
      await cluster.check();
      expect(health.status()).toMatchObject({ ok: true, down: [] });

      // The leader died: within the grace a takeover is expected; past it, down.
      held = false;
      backlog = { pending: 4, oldestDueMs: 30_000 };
      now += 15_000;
      await cluster.check();
      expect(health.status().ok).toBe(true);
      now += 10_000;
      await cluster.check();
      expect(health.status()).toMatchObject({ ok: false, down: ['discord-gateway'] });
      expect((await metrics.registry.getSingleMetricAsString('bot_feed_backlog')).trim().split('\n').at(-1)).toBe('bot_feed_backlog 4');

      backlog = { pending: 4, oldestDueMs: 180_000 };
      await cluster.check();
      expect(health.status().down).toEqual(['discord-gateway', 'feed']);

      // Taken over and posted.
      held = true;
      backlog = { pending: 0, oldestDueMs: null };
      await cluster.check();
      expect(health.status()).toMatchObject({ ok: true, down: [] });
    } finally {
      cluster.stop();
    }
  });
});
