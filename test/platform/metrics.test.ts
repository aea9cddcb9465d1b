/**
 * The metric names the alert rules and the Grafana dashboard use exist, and the dashboard is
 * provisioned the way platform/grafana/ mounts it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../shared/metrics.ts';
import { platformDir, base, named, containerOf } from './fixtures.ts';
import { secretReferences } from './secrets.ts';

describe('metric names in the rules and the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(platformDir, 'grafana', 'pipeline-dashboard.json'), 'utf8'));
  const rules = readFileSync(join(platformDir, 'prometheus', 'rules.yaml'), 'utf8');
  const exprs: string[] = [
    ...(dashboard.panels as Record<string, any>[]).flatMap((p) => (p['targets'] ?? []).map((t: { expr: string }) => t.expr)),
    ...(parseYaml(rules).groups as { rules: { expr: string }[] }[]).flatMap((g) => g.rules.map((r) => r.expr)),
  ];
  /** Metric names in a PromQL expression: label matchers, grouping labels and strings removed, functions and keywords left out. */
  const metricNames = (expr: string): string[] =>
    expr
      .replace(/"[^"]*"/g, '')
      .replace(/\{[^}]*\}/g, '')
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
      .replace(/\[[^\]]*\]/g, '')
      .match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)!
      .filter((n) => !/^(sum|max|min|avg|count|rate|increase|delta|histogram_quantile|or|and|unless)$/.test(n));
  const used = new Set(exprs.flatMap(metricNames));

  it('the pipeline_* ones are exported by shared/metrics.ts', async () => {
    const metrics = await createMetrics({ function: 'test' }).registry.getMetricsAsJSON();
    const exported = new Set(
      metrics.flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])),
    );
    const pipeline = [...used].filter((n) => n.startsWith('pipeline_'));
    expect(pipeline.length).toBeGreaterThan(5);
    for (const name of pipeline) expect(exported.has(name), name).toBe(true);
  });

  it('the others come from the exporters, KEDA or Prometheus (no typos)', () => {
    const known = [
      'up',
      'kafka_consumergroup_lag',
      'kafka_consumergroup_lag_sum',
      'kafka_consumergroup_members',
      'kafka_topic_partition_current_offset',
      'kafka_topic_partition_oldest_offset',
      'elasticsearch_cluster_health_status',
      'elasticsearch_indices_indexing_index_total',
      'elasticsearch_index_stats_indexing_index_total',
      'keda_scaler_metrics_value',
      'keda_scaler_active',
    ];
    for (const name of [...used].filter((n) => !n.startsWith('pipeline_'))) expect(known, name).toContain(name);
  });

  it('the dashboard uses the provisioned datasource and is provisioned from the mounted folder', () => {
    const datasources = parseYaml(readFileSync(join(platformDir, 'grafana', 'datasources.yaml'), 'utf8'));
    const uid = datasources.datasources[0].uid as string;
    expect(dashboard.uid).toBe('big-data-pipeline');
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels as Record<string, any>[]) {
      if (panel['type'] === 'row') continue;
      expect(panel['datasource'], panel['title']).toEqual({ type: 'prometheus', uid });
      expect(panel['targets'].length, panel['title']).toBeGreaterThan(0);
      expect(panel['gridPos'], panel['title']).toBeDefined();
    }
    const providers = parseYaml(readFileSync(join(platformDir, 'grafana', 'dashboards.yaml'), 'utf8'));
    const mounts = (containerOf(base, 'Deployment', 'grafana')['volumeMounts'] as { name: string; mountPath: string }[]).map((m) => m.mountPath);
    expect(mounts).toContain(providers.providers[0].options.path);
    expect(mounts).toEqual(expect.arrayContaining(['/etc/grafana/provisioning/datasources', '/etc/grafana/provisioning/dashboards']));
    expect(secretReferences([named(base, 'Deployment', 'grafana')])).toEqual([
      { secret: 'grafana-admin', key: 'admin-user' },
      { secret: 'grafana-admin', key: 'admin-password' },
    ]);
  });

  it('the panels the brief asks for are there', () => {
    const all = exprs.join('\n');
    for (const metric of ['pipeline_events_in_total', 'pipeline_events_out_total', 'pipeline_handler_duration_seconds_bucket', 'pipeline_batch_size_bucket', 'kafka_consumergroup_lag_sum', 'kafka_consumergroup_members', 'up{job="pipeline-functions"}', 'elasticsearch_index_stats_indexing_index_total', 'pipeline_late_events_total', 'dead-letters']) {
      expect(all, metric).toContain(metric);
    }
  });
});
