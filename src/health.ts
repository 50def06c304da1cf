import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics';

/**
 * /healthz and /metrics. A bot that looks alive but stopped trading is the failure users fear
 * most, so health is "the last cycle succeeded recently and every registered component is up".
 */
export interface Health {
  register(component: string, isUp: () => boolean): void;
  status(): { ok: boolean; lastCycleAgeMs: number | null; down: string[] };
}

export function createHealth(options: {
  now: () => number;
  lastCycleAt: () => number | null;
  maxCycleAgeMs: number;
}): Health {
  const components = new Map<string, () => boolean>();
  return {
    register: (component, isUp) => void components.set(component, isUp),
    status() {
      const last = options.lastCycleAt();
      const lastCycleAgeMs = last === null ? null : options.now() - last;
      const down = [...components].filter(([, isUp]) => !isUp()).map(([name]) => name);
      if (lastCycleAgeMs === null || lastCycleAgeMs > options.maxCycleAgeMs) down.unshift('trading-cycle');
      return { ok: down.length === 0, lastCycleAgeMs, down };
    },
  };
}

/**
 * Listens on `host`: 127.0.0.1 by default, so the unauthenticated endpoints are not offered to the
 * network; a container sets 0.0.0.0 (its port is published on the host's loopback by compose).
 */
export async function startHealthServer(
  port: number,
  health: Health,
  metrics: Metrics,
  host = '127.0.0.1',
): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url === '/healthz') {
      const status = health.status();
      response.writeHead(status.ok ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify(status));
      return;
    }
    if (request.url === '/metrics') {
      metrics.registry.metrics().then(
        (body) => {
          response.writeHead(200, { 'content-type': metrics.registry.contentType });
          response.end(body);
        },
        () => {
          response.writeHead(500);
          response.end();
        },
      );
      return;
    }
    response.writeHead(404);
    response.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
