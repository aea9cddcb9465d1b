/**
 * Prometheus of `make dev` against a running local pipeline: the cluster's Prometheus and
 * elasticsearch_exporter (built from Go modules), the project's alert rules as they are, the
 * jobs of platform/prometheus/prometheus.yml. Bad events make DeadLettersIncreasing go
 * pending; every query of every Grafana dashboard returns data, and every metric an alert
 * rule selects exists. Scrapes and rule evaluations run every second (the config's intervals,
 * not the rules, are shortened).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevMonitoring } from '../cli/dev/monitoring.ts';
import { DevRuntime } from '../cli/dev/runtime.ts';
import { setupPlatform } from '../cli/setup.ts';
import { CLUSTER_QUERIES } from '../dashboard/stages/cluster.ts';
import { CeType } from '../shared/ce-types.ts';
import { EventProducer, toKafkaRecord } from '../shared/kafka.ts';
import { runNames } from '../shared/topology.ts';
import { kafka, rawEvent, topicSize } from './helpers.ts';
import { elasticsearchUrl, kafkaBrokers } from './infra.ts';
import { PrometheusApi, dashboardQueries, ruleQueries } from './promql.ts';

const root = resolve(import.meta.dirname, '..');
const PROMETHEUS_PORT = 29490;
const BAD_EVENTS = 5;

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface Rule {
  name: string;
  type: string;
  state?: string;
  health: string;
  alerts?: { state: string; labels: Record<string, string> }[];
}

describe('Prometheus on the local pipeline', { timeout: 600_000 }, () => {
  const suffix = randomBytes(4).toString('hex');
  const names = runNames(suffix);
  const stateDir = resolve(root, `.run/test-prometheus-${suffix}`);
  const prometheus = new PrometheusApi(`http://127.0.0.1:${PROMETHEUS_PORT}`);
  let runtime: DevRuntime;
  let monitoring: DevMonitoring;

  const rules = async () => (await prometheus.get<{ groups: { name: string; rules: Rule[] }[] }>('/api/v1/rules')).groups.flatMap((g) => g.rules);
  const deadLettersRule = async () => (await rules()).find((r) => r.name === 'DeadLettersIncreasing')!;

  beforeAll(async () => {
    await setupPlatform({ ...process.env, KAFKA_BROKERS: kafkaBrokers, ELASTICSEARCH_URL: elasticsearchUrl, ...names });
    runtime = new DevRuntime({ root, kafkaBrokers, elasticsearchUrl, basePort: 28480, stateDir, isolate: suffix, env: { LOG_LEVEL: 'warn' } });
    await runtime.start();
    monitoring = new DevMonitoring({
      root,
      runtime,
      client: { KAFKA_BROKERS: kafkaBrokers, ELASTICSEARCH_URL: elasticsearchUrl },
      ports: { prometheus: PROMETHEUS_PORT, metrics: PROMETHEUS_PORT + 1, elasticsearchExporter: PROMETHEUS_PORT + 2 },
      runDir: stateDir,
      logDir: resolve(stateDir, 'logs'),
      intervals: { scrape: '1s', evaluation: '1s' },
      isolate: suffix,
    });
    await monitoring.start();
  }, 600_000);

  afterAll(async () => {
    await monitoring?.stop();
    await runtime?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('loads the alert rules of platform/prometheus/rules.yaml, all healthy', async () => {
    const loaded = await until('the rules evaluated', async () => {
      const all = await rules();
      return all.length > 0 && all.every((r) => r.health === 'ok') && all;
    });
    expect(loaded.map((r) => r.name).sort()).toEqual(ruleQueries(root).map((r) => r.alert).sort());
  });

  it('scrapes every job of the cluster config, the function instances with their pod labels', async () => {
    const targets = await until('every target up', async () => {
      const { activeTargets } = await prometheus.get<{ activeTargets: { labels: Record<string, string>; health: string }[] }>('/api/v1/targets');
      return activeTargets.length > 0 && activeTargets.every((t) => t.health === 'up') && activeTargets;
    });
    expect(new Set(targets.map((t) => t.labels['job']))).toEqual(new Set(['prometheus', 'pipeline-functions', 'keda-operator', 'kafka-exporter', 'elasticsearch-exporter']));
    const functions = targets.filter((t) => t.labels['job'] === 'pipeline-functions');
    const live = [...runtime.pools].flatMap(([service, pool]) => [...pool.instances.values()].filter((i) => !i.retiring).map((i) => `${service}-${i.id}`));
    expect(functions.map((t) => t.labels['kubernetes_pod_name']).sort()).toEqual(live.sort());
    for (const t of functions) expect(t.labels['kubernetes_pod_name']!.startsWith(`${t.labels['knative_service']}-`)).toBe(true);
  });

  it('DeadLettersIncreasing goes from inactive to pending after bad events are dead-lettered', async () => {
    // Inactive first: nothing has reached this run's dead-letter topic yet.
    await until('the dead-letter offsets scraped', async () => (await prometheus.query(`kafka_topic_partition_current_offset{topic="dead-letters"}`)).length > 0);
    expect(await topicSize(names.TOPIC_DEAD_LETTERS)).toBe(0);
    expect((await deadLettersRule()).state).toBe('inactive');

    // Shop events that fail enrich's schema (price below 10): 400, dead-lettered.
    const producer = new EventProducer(kafka(), { maxItems: 100, maxWaitMs: 10, sendTimeoutMs: 10_000 });
    const bad = Array.from({ length: BAD_EVENTS }, () => {
      const event = rawEvent({ price: 5 });
      return new CloudEvent({ id: event.event_id, source: '/prometheus-test', type: CeType.shopEvent, time: event.timestamp, datacontenttype: 'application/json', data: event }, false);
    });
    await producer.sendAll(names.TOPIC_RAW, bad.map((e) => toKafkaRecord(e, 'bad')));
    await producer.close();
    await until('the bad events dead-lettered', async () => (await topicSize(names.TOPIC_DEAD_LETTERS)) >= BAD_EVENTS);

    const rule = await until('DeadLettersIncreasing pending', async () => {
      const r = await deadLettersRule();
      return r.state === 'pending' && r;
    });
    expect(rule.alerts).toEqual([expect.objectContaining({ state: 'pending', labels: expect.objectContaining({ alertname: 'DeadLettersIncreasing', topic: 'dead-letters' }) })]);
    const { alerts } = await prometheus.get<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts');
    expect(alerts.filter((a) => a.labels['alertname'] === 'DeadLettersIncreasing').map((a) => a.state)).toEqual(['pending']);
  });

  it('every query of every Grafana dashboard and of the web dashboard’s stages returns data, and every metric an alert rule selects exists', async () => {
    // Traffic through every stage, so the per-stage series exist.
    const generate = runtime.pools.get('generate')!;
    const answer = await fetch(generate.url, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': `prometheus-${suffix}`, 'ce-source': '/prometheus-test', 'ce-type': CeType.generateRequest, 'ce-time': new Date().toISOString(), 'content-type': 'application/json' },
      body: JSON.stringify({ count: 500 }),
    });
    expect(answer.status).toBe(200);

    const panels = dashboardQueries(root);
    expect(new Set(panels.map((p) => p.dashboard))).toEqual(new Set(['big-data-pipeline', 'Autoscaling']));
    const problems = await until(
      'every panel query to return data',
      async () => {
        const present = await prometheus.metricNamesPresent();
        const found: string[] = [];
        for (const p of panels) for (const problem of await prometheus.problemsOf(p.expr, { names: present, requireResult: true })) found.push(`${p.dashboard} / ${p.panel}: ${problem} — ${p.expr}`);
        for (const r of ruleQueries(root)) for (const problem of await prometheus.problemsOf(r.expr, { names: present, requireResult: false })) found.push(`rule ${r.alert}: ${problem}`);
        // The web dashboard's stages panel asks a cluster's Prometheus these.
        for (const [name, { promql: expr }] of Object.entries(CLUSTER_QUERIES)) for (const problem of await prometheus.problemsOf(expr, { names: present, requireResult: true })) found.push(`dashboard stages / ${name}: ${problem} — ${expr}`);
        return found.length === 0 ? found : undefined;
      },
      300_000,
    ).catch(async (error: Error) => {
      // Say which ones, not only that time ran out.
      const present = await prometheus.metricNamesPresent();
      const found: string[] = [];
      for (const p of panels) for (const problem of await prometheus.problemsOf(p.expr, { names: present, requireResult: true })) found.push(`${p.dashboard} / ${p.panel}: ${problem} — ${p.expr}`);
      throw new Error(`${error.message}:\n${found.join('\n')}`);
    });
    expect(problems).toEqual([]);
  });

  it('catches a panel query whose metric does not exist', async () => {
    const present = await prometheus.metricNamesPresent();
    const [query] = dashboardQueries(root).filter((p) => p.expr.includes('pipeline_events_in_total'));
    const misspelt = query!.expr.replace('pipeline_events_in_total', 'pipeline_events_in_totals');
    expect(await prometheus.problemsOf(query!.expr, { names: present, requireResult: true })).toEqual([]);
    expect(await prometheus.problemsOf(misspelt, { names: present, requireResult: true })).toEqual(['no series of pipeline_events_in_totals', 'empty result']);
    expect(await prometheus.metricNames('sum by (consumergroup) (kafka_consumergroup_lag_sum{topic="a"}) / on (x) group_left count(up == 1)')).toEqual(['kafka_consumergroup_lag_sum', 'up']);
  });
});
