/**
 * The Prometheus configuration of `make dev`, made from the cluster's
 * (platform/prometheus/prometheus.yml): the same jobs and the same target labels, so the alert
 * rules (platform/prometheus/rules.yaml, loaded as they are) and the Grafana dashboards query
 * the local pipeline unchanged. Only discovery differs: the function instances come and go
 * through a file_sd targets file that the runtime rewrites; the other jobs are static targets
 * on 127.0.0.1. A job the cluster adds without a local counterpart is an error here.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export const PLATFORM_CONFIG = 'platform/prometheus/prometheus.yml';
export const RULES_FILE = 'platform/prometheus/rules.yaml';

export interface LocalTargets {
  /** host:port of Prometheus itself. */
  prometheus: string;
  /** The runtime's metrics: KEDA's series (the keda-operator job) and its own. */
  runtime: string;
  /** The kafka_exporter series (kafka-exporter.ts), on the runtime's server. */
  kafkaExporter: string;
  elasticsearchExporter: string;
  dashboard?: string;
  /** The file_sd file listing the function instances. */
  functionsFile: string;
}

export interface Intervals {
  scrape: string;
  evaluation: string;
}

/** The labels that carry a topic, consumer group or index name (KEDA's `metric` names the topic). */
const NAME_LABELS = ['topic', 'consumergroup', 'index', 'destination', 'metric'];

interface ScrapeConfig {
  job_name: string;
  [key: string]: unknown;
}

/**
 * The local config, as an object (written as YAML by writeConfig). With `isolate` (a runtime
 * whose topics, groups and indices carry a suffix, so several share one Kafka), the suffix is
 * cut from those labels at scrape time, so the rules and panels see the pipeline's own names.
 */
export function localConfig(root: string, targets: LocalTargets, intervals?: Intervals, isolate?: string): Record<string, unknown> {
  const platform = parse(readFileSync(join(root, PLATFORM_CONFIG), 'utf8')) as { global: Record<string, string>; scrape_configs: ScrapeConfig[] };
  const local: Record<string, Omit<ScrapeConfig, 'job_name'>> = {
    prometheus: { static_configs: [{ targets: [targets.prometheus] }] },
    'pipeline-functions': { metrics_path: '/metrics', file_sd_configs: [{ files: [targets.functionsFile], refresh_interval: '5s' }] },
    'keda-operator': { metrics_path: '/metrics', static_configs: [{ targets: [targets.runtime], labels: { kubernetes_pod_name: 'keda-operator-local' } }] },
    'kafka-exporter': { metrics_path: '/kafka-exporter/metrics', static_configs: [{ targets: [targets.kafkaExporter] }] },
    'elasticsearch-exporter': { static_configs: [{ targets: [targets.elasticsearchExporter] }] },
  };
  const scrapeConfigs: ScrapeConfig[] = platform.scrape_configs.map((job) => {
    const replacement = local[job.job_name];
    if (!replacement) throw new Error(`${PLATFORM_CONFIG}: job ${job.job_name} has no local counterpart in cli/dev/prometheus-config.ts`);
    return { job_name: job.job_name, ...replacement, ...(isolate && { metric_relabel_configs: withoutSuffix(isolate) }) };
  });
  // The dashboard is scraped only here: on a cluster it is not one of Prometheus's jobs.
  if (targets.dashboard) scrapeConfigs.push({ job_name: 'dashboard', static_configs: [{ targets: [targets.dashboard] }] });
  const global: Record<string, string> = { ...platform.global, ...(intervals && { scrape_interval: intervals.scrape, evaluation_interval: intervals.evaluation }) };
  // A scrape timeout longer than a short test interval is refused.
  if (intervals) global['scrape_timeout'] = intervals.scrape;
  return { global, rule_files: [join(root, RULES_FILE)], scrape_configs: scrapeConfigs };
}

function withoutSuffix(suffix: string): Record<string, unknown>[] {
  return NAME_LABELS.map((label) => ({ source_labels: [label], regex: `(.*)-${suffix}(.*)`, target_label: label, replacement: '$1$2' }));
}

export function writeConfig(path: string, config: Record<string, unknown>): void {
  writeAtomically(path, stringify(config));
}

export interface FunctionTarget {
  service: string;
  instance: string;
  port: number;
}

/**
 * The file_sd targets of the function instances, with the labels the cluster's relabelling
 * gives a pod: namespace, kubernetes_pod_name, knative_service. Written whole and renamed,
 * so Prometheus never reads half a file.
 */
export function writeFunctionTargets(path: string, namespace: string, targets: FunctionTarget[]): void {
  const groups = targets.map((t) => ({ targets: [`127.0.0.1:${t.port}`], labels: { namespace, kubernetes_pod_name: t.instance, knative_service: t.service } }));
  writeAtomically(path, JSON.stringify(groups, null, 1));
}

function writeAtomically(path: string, text: string): void {
  const partial = `${path}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path);
}

