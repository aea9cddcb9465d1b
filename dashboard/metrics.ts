/** Prometheus metrics of the dashboard: Node defaults plus how its Elasticsearch reads go. */
import { hostname } from 'node:os';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createDashboardMetrics(labels: { pod?: string | undefined } = {}) {
  const registry = new Registry();
  registry.setDefaultLabels({ function: 'dashboard', pod: labels.pod ?? hostname() });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    summaryDuration: new Histogram({
      name: 'dashboard_summary_duration_seconds',
      help: 'Time to compute /api/summary from Elasticsearch, by outcome (ok, unavailable, error).',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    elasticsearchUp: new Gauge({
      name: 'dashboard_elasticsearch_up',
      help: '1 if the last summary search reached Elasticsearch, else 0.',
      registers: [registry],
    }),
  };
}

export type DashboardMetrics = ReturnType<typeof createDashboardMetrics>;
