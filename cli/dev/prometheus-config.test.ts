import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { localConfig, PLATFORM_CONFIG, writeConfig, writeFunctionTargets } from './prometheus-config.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'bdp-prometheus-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const targets = {
  prometheus: '127.0.0.1:19090',
  runtime: '127.0.0.1:19091',
  kafkaExporter: '127.0.0.1:19091',
  elasticsearchExporter: '127.0.0.1:19092',
  dashboard: '127.0.0.1:8090',
  functionsFile: join(dir, 'functions.json'),
};

describe('the local Prometheus config', () => {
  it('has the jobs of the cluster config, in its order, plus the dashboard, and the rules file as it is', () => {
    const cluster = parse(readFileSync(join(root, PLATFORM_CONFIG), 'utf8')) as { global: object; scrape_configs: { job_name: string }[] };
    const config = localConfig(root, targets) as { global: object; rule_files: string[]; scrape_configs: { job_name: string }[] };
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual([...cluster.scrape_configs.map((j) => j.job_name), 'dashboard']);
    expect(config.global).toEqual(cluster.global);
    expect(config.rule_files).toEqual([join(root, 'platform/prometheus/rules.yaml')]);
  });

  it('strips an isolated run suffix from topic, group, index and KEDA metric labels', () => {
    const config = localConfig(root, targets, { scrape: '1s', evaluation: '1s' }, 'ab12') as { global: Record<string, string>; scrape_configs: { metric_relabel_configs: { source_labels: string[]; regex: string }[] }[] };
    expect(config.global).toMatchObject({ scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' });
    for (const job of config.scrape_configs.slice(0, -1)) {
      expect(job.metric_relabel_configs.map((r) => r.source_labels[0])).toEqual(['topic', 'consumergroup', 'index', 'destination', 'metric']);
      expect(new RegExp(`^${job.metric_relabel_configs[0]!.regex}$`).exec('dead-letters-ab12')!.slice(1).join('')).toBe('dead-letters');
    }
  });

  it('is a config promtool accepts, with the file_sd targets file it reads', () => {
    writeFunctionTargets(targets.functionsFile, 'big-data-pipeline', [{ service: 'enrich', instance: 'enrich-0', port: 8101 }]);
    expect(JSON.parse(readFileSync(targets.functionsFile, 'utf8'))).toEqual([{ targets: ['127.0.0.1:8101'], labels: { namespace: 'big-data-pipeline', kubernetes_pod_name: 'enrich-0', knative_service: 'enrich' } }]);
    const file = join(dir, 'prometheus.yml');
    writeConfig(file, localConfig(root, targets, { scrape: '1s', evaluation: '1s' }, 'ab12'));
    const promtool = process.env['PROMTOOL'] ?? 'promtool';
    const result = spawnSync(promtool, ['check', 'config', file], { encoding: 'utf8' });
    expect(result.error, `cannot run promtool: run platform/local/promtool.sh`).toBeUndefined();
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS: 5 rules found');
  });
});
