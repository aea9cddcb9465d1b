/**
 * Prometheus in platform/: scrape jobs, mounts, alert rules and their promtool tests
 * (PROMTOOL, from platform/local/promtool.sh).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../cli/manifests/index.ts';
import { platformDir, base, named, configMapNamed, containerOf } from './fixtures.ts';

describe('Prometheus', () => {
  const dir = join(platformDir, 'prometheus');
  const config = parseYaml(readFileSync(join(dir, 'prometheus.yml'), 'utf8'));
  const rules = parseYaml(readFileSync(join(dir, 'rules.yaml'), 'utf8')) as { groups: { rules: Record<string, any>[] }[] };
  const ruleTests = parseYaml(readFileSync(join(dir, 'rules.test.yaml'), 'utf8')) as { rule_files: string[]; tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r['alert']);

  it('scrapes functions by annotation, KEDA, and both exporters', () => {
    const jobs = Object.fromEntries((config.scrape_configs as Record<string, any>[]).map((j) => [j['job_name'], j]));
    expect(Object.keys(jobs).sort()).toEqual(['elasticsearch-exporter', 'kafka-exporter', 'keda-operator', 'pipeline-functions', 'prometheus']);
    const functions = jobs['pipeline-functions'];
    expect(functions.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['big-data-pipeline'] } }]);
    expect(functions.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' });
    expect(jobs['keda-operator'].kubernetes_sd_configs[0].namespaces.names).toEqual(['keda']);
    expect(jobs['kafka-exporter'].static_configs[0].targets).toEqual(['kafka-exporter.big-data-pipeline.svc.cluster.local:9308']);
    expect(jobs['elasticsearch-exporter'].static_configs[0].targets).toEqual(['elasticsearch-exporter.big-data-pipeline.svc.cluster.local:9114']);
  });

  it('mounts its config and rules where the args and rule_files look', () => {
    const prometheus = containerOf(base, 'StatefulSet', 'prometheus');
    const mounts = Object.fromEntries((prometheus['volumeMounts'] as { name: string; mountPath: string }[]).map((m) => [m.name, m.mountPath]));
    expect(prometheus['args']).toContain(`--config.file=${mounts['config']}/prometheus.yml`);
    expect(config.rule_files).toEqual([`${mounts['rules']}/*.yaml`]);
    const rulesMap = configMapNamed(base, 'prometheus-rules');
    expect(Object.keys(rulesMap['data'] as object)).toEqual(['rules.yaml']);
    expect(named(base, 'StatefulSet', 'prometheus')['spec']).toMatchObject({ template: { spec: { serviceAccountName: 'prometheus' } } });
    const role = named(base, 'ClusterRole', 'big-data-pipeline-prometheus')['rules'] as { resources: string[]; verbs: string[] }[];
    expect(role[0]).toEqual({ apiGroups: [''], resources: ['pods', 'services', 'endpoints'], verbs: ['get', 'list', 'watch'] });
  });

  it('alert rules have a severity, a summary, a description and a for', () => {
    expect(alerts.map((a) => a['alert']).sort()).toEqual(['DeadLettersIncreasing', 'ElasticsearchClusterRed', 'FunctionErrorRateHigh', 'KafkaConsumerLagHigh', 'MonitoringTargetDown']);
    for (const alert of alerts) {
      expect(['warning', 'critical'], alert['alert']).toContain(alert['labels']?.severity);
      expect(alert['annotations']?.summary, alert['alert']).toBeTruthy();
      expect(alert['annotations']?.description, alert['alert']).toBeTruthy();
      expect(alert['for'], alert['alert']).toMatch(/^\d+m$/);
    }
  });

  it('every alert has a promtool test that fires it and one that does not', () => {
    expect(ruleTests.rule_files).toEqual(['rules.yaml']);
    const cases = ruleTests.tests.flatMap((t) => t.alert_rule_test);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert['alert']);
      expect(mine.some((c) => c.exp_alerts.length > 0), alert['alert']).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), alert['alert']).toBe(true);
    }
  });

  // make test puts promtool in PROMTOOL (platform/local/promtool.sh fetches it when missing).
  const promtool = process.env['PROMTOOL'] ?? 'promtool';
  it('promtool test rules passes', () => {
    const result = spawnSync(promtool, ['test', 'rules', 'rules.test.yaml'], { cwd: dir, encoding: 'utf8' });
    expect(result.error, `cannot run ${promtool}: run platform/local/promtool.sh`).toBeUndefined();
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('promtool check config accepts the scrape configuration and its rule files', () => {
    const result = spawnSync(promtool, ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' });
    expect(result.error, `cannot run ${promtool}: run platform/local/promtool.sh`).toBeUndefined();
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('tools/prometheus builds the Prometheus (and promtool) of the image the cluster runs', () => {
    const goMod = readFileSync(join(repoRoot, 'tools', 'prometheus', 'go.mod'), 'utf8');
    const pinned = /^require github\.com\/prometheus\/prometheus v0\.(\d)(\d\d)\.(\d+)$/m.exec(goMod);
    expect(pinned, 'tools/prometheus/go.mod requires github.com/prometheus/prometheus v0.3XX.Y').not.toBeNull();
    const image = /image: prom\/prometheus:v(\d+\.\d+\.\d+)$/m.exec(readFileSync(join(dir, 'prometheus.yaml'), 'utf8'));
    expect(`${pinned![1]}.${Number(pinned![2])}.${pinned![3]}`).toBe(image![1]);
  });
});
