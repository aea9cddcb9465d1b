/**
 * The metric names the alert rules and the Grafana dashboards use exist, every dashboard is
 * provisioned the way platform/grafana/ mounts it, and the Autoscaling dashboard's lines are
 * the numbers of knative/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { kedaMetricName } from '../../cli/dev/runtime-metrics.ts';
import { loadTopology } from '../../cli/manifests/index.ts';
import { KpaDecider } from '../../cli/scaling/kpa.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { platformDir, base, named, containerOf } from './fixtures.ts';
import { secretReferences } from './secrets.ts';

describe('metric names in the rules and the Grafana dashboards', () => {
  const files = readdirSync(join(platformDir, 'grafana')).filter((f) => f.endsWith('.json')).sort();
  const dashboards = files.map((f) => JSON.parse(readFileSync(join(platformDir, 'grafana', f), 'utf8')) as { uid: string; title: string; panels: Record<string, any>[] });
  const dashboard = dashboards.find((d) => d.uid === 'big-data-pipeline')!;
  const autoscaling = dashboards.find((d) => d.uid === 'big-data-pipeline-autoscaling')!;
  const rules = readFileSync(join(platformDir, 'prometheus', 'rules.yaml'), 'utf8');
  const exprs: string[] = [
    ...dashboards.flatMap((d) => d.panels.flatMap((p) => (p['targets'] ?? []).map((t: { expr: string }) => t.expr))),
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
      .filter((n) => !/^(sum|max|min|avg|count|rate|increase|delta|histogram_quantile|ceil|clamp_max|or|and|unless)$/.test(n));
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

  it('every dashboard uses the provisioned datasource and is provisioned from the mounted folder', () => {
    const datasources = parseYaml(readFileSync(join(platformDir, 'grafana', 'datasources.yaml'), 'utf8'));
    const uid = datasources.datasources[0].uid as string;
    expect(dashboards.map((d) => d.uid).sort()).toEqual(['big-data-pipeline', 'big-data-pipeline-autoscaling']);
    for (const d of dashboards) {
      const ids = (d.panels as { id: number }[]).map((p) => p.id);
      expect(new Set(ids).size, d.title).toBe(ids.length);
      for (const panel of d.panels) {
        if (panel['type'] === 'row') continue;
        expect(panel['datasource'], panel['title']).toEqual({ type: 'prometheus', uid });
        expect(panel['targets'].length, panel['title']).toBeGreaterThan(0);
        expect(panel['gridPos'], panel['title']).toBeDefined();
      }
    }
    // Every JSON file is in the grafana-dashboards ConfigMap the provider reads.
    const generated = parseYaml(readFileSync(join(platformDir, 'grafana', 'kustomization.yaml'), 'utf8')).configMapGenerator as { name: string; files: string[] }[];
    expect(generated.find((g) => g.name === 'grafana-dashboards')!.files.sort()).toEqual(files);
    const providers = parseYaml(readFileSync(join(platformDir, 'grafana', 'dashboards.yaml'), 'utf8'));
    const mounts = (containerOf(base, 'Deployment', 'grafana')['volumeMounts'] as { name: string; mountPath: string }[]).map((m) => m.mountPath);
    expect(mounts).toContain(providers.providers[0].options.path);
    expect(mounts).toEqual(expect.arrayContaining(['/etc/grafana/provisioning/datasources', '/etc/grafana/provisioning/dashboards']));
    expect(secretReferences([named(base, 'Deployment', 'grafana')])).toEqual([
      { secret: 'grafana-admin', key: 'admin-user' },
      { secret: 'grafana-admin', key: 'admin-password' },
    ]);
  });

  it('the Autoscaling dashboard draws, per KafkaSource, the lag-threshold, max-scale and KPA target of knative/', () => {
    const topology = loadTopology(resolve(platformDir, '..'));
    const panels = autoscaling.panels.filter((p) => p['type'] === 'timeseries');
    const line = (p: Record<string, any>) => p['fieldConfig'].defaults.thresholds.steps.at(-1).value as number;
    const exprsOf = (p: Record<string, any>) => (p['targets'] as { expr: string }[]).map((t) => t.expr).join('\n');
    expect(panels.length).toBe(3 * topology.kafkaSources.length);
    for (const source of topology.kafkaSources) {
      const service = topology.services.find((s) => s.name === source.sink)!;
      const lag = panels.find((p) => exprsOf(p).includes(`kafka_consumergroup_lag_sum{consumergroup="${source.consumerGroup}"`))!;
      expect(line(lag), source.name).toBe(source.scaling.lagThreshold);
      expect(exprsOf(lag)).toContain(`metric="${kedaMetricName(source)}"`);
      const replicas = panels.find((p) => exprsOf(p).includes(`kafka_consumergroup_members{consumergroup="${source.consumerGroup}"}`))!;
      expect(line(replicas), source.name).toBe(source.scaling.maxScale);
      expect(exprsOf(replicas)).toContain(`/ ${source.scaling.lagThreshold}), ${source.scaling.maxScale})`);
      expect(exprsOf(replicas)).toContain(`knative_service="${service.name}"`);
      const kpa = panels.find((p) => exprsOf(p).includes(`pipeline_handler_duration_seconds_sum{function="${service.name}"}`))!;
      expect(line(kpa), service.name).toBe(new KpaDecider(service.kpa).targetValue);
      expect(lag['title']).toContain(`(${source.scaling.lagThreshold})`);
      expect(kpa['title']).toContain(`(${new KpaDecider(service.kpa).targetValue})`);
    }
  });

  it('the panels the brief asks for are there', () => {
    const all = exprs.join('\n');
    for (const metric of ['pipeline_events_in_total', 'pipeline_events_out_total', 'pipeline_handler_duration_seconds_bucket', 'pipeline_batch_size_bucket', 'kafka_consumergroup_lag_sum', 'kafka_consumergroup_members', 'up{job="pipeline-functions"}', 'elasticsearch_index_stats_indexing_index_total', 'pipeline_late_events_total', 'dead-letters']) {
      expect(all, metric).toContain(metric);
    }
  });
});
