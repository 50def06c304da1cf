/**
 * Health as the cluster sees it, not only this process: is the Discord gateway held by some process
 * (a follower whose leader died must not say 200 while nobody answers interactions), and is the feed
 * being posted (the oldest due row's age). Read every `everyMs`; also sets the feed backlog metric.
 */
import type { Health } from './health';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

export interface ClusterHealthOptions {
  leadershipHeld: () => Promise<boolean>;
  backlogAge: () => Promise<{ pending: number; oldestDueMs: number | null }>;
  health: Health;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
  everyMs?: number;
  /** No process holding the gateway this long is "down" (a takeover takes a few seconds). */
  gatewayGraceMs?: number;
  /** A due feed row older than this is "down" (nobody posts, or Discord refuses). */
  maxBacklogAgeMs?: number;
}

export function watchCluster(options: ClusterHealthOptions): { check(): Promise<void>; stop(): void } {
  const now = options.now ?? Date.now;
  const gatewayGraceMs = options.gatewayGraceMs ?? 20_000;
  const maxBacklogAgeMs = options.maxBacklogAgeMs ?? 120_000;
  let lastHeldAt = now();
  let oldestDueMs: number | null = null;
  options.health.register('discord-gateway', () => now() - lastHeldAt <= gatewayGraceMs);
  options.health.register('feed', () => oldestDueMs === null || oldestDueMs <= maxBacklogAgeMs);

  async function check(): Promise<void> {
    try {
      if (await options.leadershipHeld()) lastHeldAt = now();
      const backlog = await options.backlogAge();
      oldestDueMs = backlog.oldestDueMs;
      options.metrics.feedBacklog.set(backlog.pending);
    } catch (error) {
      options.log.warn({ err: error }, 'cluster health could not be read');
    }
  }
  const timer = setInterval(() => void check(), options.everyMs ?? 5_000);
  timer.unref();
  void check();
  return { check, stop: () => clearInterval(timer) };
}
