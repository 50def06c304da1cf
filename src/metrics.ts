import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The bot's Prometheus metrics, on one registry per process (served by /metrics). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    cycles: new Counter({
      name: 'bot_cycles_total',
      help: 'Trading cycles run, by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    orders: new Counter({
      name: 'bot_order_outcomes_total',
      help: 'Per-account outcomes of signals, by outcome and reason',
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    fanOutSeconds: new Histogram({
      name: 'bot_fanout_seconds',
      help: 'Time from claiming a signal to its last account being definite',
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    exchangeErrors: new Counter({
      name: 'bot_exchange_errors_total',
      help: 'Exchange errors by kind',
      labelNames: ['exchange', 'kind'] as const,
      registers: [registry],
    }),
    feedBacklog: new Gauge({
      name: 'bot_feed_backlog',
      help: 'Feed messages waiting to be posted',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
