/**
 * The production overlay's availability: three of each stateful piece, one per node, a
 * disruption budget for each, replication that survives one of them lost, and heaps sized
 * to their containers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { base, platformDir, production, named, configMapNamed, containerOf, envOf } from './fixtures.ts';
import { selectorMatches } from './network-policies.ts';
import { podTemplateOf } from './pods.ts';
import { brokerSettings, costRows, maxHeap, quantity } from './production.ts';

const statefulSets = ['zookeeper', 'kafka', 'elasticsearch'];
const templateOf = (name: string) => podTemplateOf(named(production, 'StatefulSet', name))!;

describe('the production overlay: availability', () => {
  it.each(statefulSets)('%s: three replicas, started together', (name) => {
    expect(named(production, 'StatefulSet', name)['spec']).toMatchObject({ replicas: 3, podManagementPolicy: 'Parallel' });
  });

  it.each(statefulSets)('%s: a PodDisruptionBudget of one unavailable pod selects exactly its pods', (name) => {
    const budgets = production.filter((o) => o.kind === 'PodDisruptionBudget');
    const selecting = budgets.filter((b) => selectorMatches((b['spec'] as { selector: object }).selector, templateOf(name).labels));
    expect(selecting.map((b) => b.metadata.name)).toEqual([name]);
    expect(selecting[0]!['spec']).toMatchObject({ maxUnavailable: 1 });
    const others = production.filter((o) => o !== named(production, 'StatefulSet', name) && podTemplateOf(o));
    for (const other of others) expect(selectorMatches((selecting[0]!['spec'] as { selector: object }).selector, podTemplateOf(other)!.labels), other.metadata.name).toBe(false);
  });

  it.each(statefulSets)('%s: at most one pod per node (required anti-affinity on the host name)', (name) => {
    const { spec, labels } = templateOf(name);
    const terms = (spec['affinity'] as any)?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution as { topologyKey: string; labelSelector: object }[];
    const own = terms.filter((t) => t.topologyKey === 'kubernetes.io/hostname' && selectorMatches(t.labelSelector, labels));
    expect(own.length).toBe(1);
    // Spread over zones where there are any.
    const spread = spec['topologySpreadConstraints'] as { topologyKey: string; labelSelector: object }[];
    expect(spread.some((c) => c.topologyKey === 'topology.kubernetes.io/zone' && selectorMatches(c.labelSelector, labels))).toBe(true);
  });

  it('ZooKeeper: an ensemble of three, each pod its own server id', () => {
    const zooCfg = String((configMapNamed(production, 'zookeeper-config')['data'] as Record<string, string>)['zoo.cfg']);
    const servers = [...zooCfg.matchAll(/^server\.(\d+)=(.+)$/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(servers).toEqual([0, 1, 2].map((i) => [i + 1, `zookeeper-${i}.zookeeper-headless.big-data-pipeline.svc.cluster.local:2888:3888;2181`]));
    expect(zooCfg).toMatch(/^standaloneEnabled=false$/m);
    const zookeeper = containerOf(production, 'StatefulSet', 'zookeeper');
    // myid = ordinal + 1, so zookeeper-N is server.(N+1) above.
    expect((zookeeper['args'] as string[]).join(' ')).toContain('ZOO_MY_ID=$((POD_INDEX + 1))');
    expect((zookeeper['env'] as { name: string; valueFrom?: unknown }[]).find((e) => e.name === 'POD_INDEX')?.valueFrom).toEqual({
      fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" },
    });
    expect(envOf(zookeeper)['ZOO_MY_ID']).toBeUndefined();
  });

  it('Kafka: every partition on three brokers, writes on two, leaders only from in-sync replicas', () => {
    const settings = named(production, 'ConfigMap', 'kafka-settings')['data'] as Record<string, string>;
    expect(settings).toMatchObject({
      KAFKA_DEFAULT_REPLICATION_FACTOR: '3',
      KAFKA_MIN_INSYNC_REPLICAS: '2',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '3',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '3',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '2',
    });
    const overrides = brokerSettings(production);
    expect(overrides).toMatchObject({
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      'unclean.leader.election.enable': 'false',
      'zookeeper.connect': [0, 1, 2].map((i) => `zookeeper-${i}.zookeeper-headless.big-data-pipeline.svc.cluster.local:2181`).join(','),
    });
  });

  it('Elasticsearch: three master-eligible nodes discover each other', () => {
    const settings = parseYaml(String((configMapNamed(production, 'elasticsearch-config')['data'] as Record<string, string>)['elasticsearch.yml']));
    expect(settings['discovery.type']).toBeUndefined();
    expect(settings['discovery.seed_hosts']).toBe('elasticsearch-headless.big-data-pipeline.svc.cluster.local');
    expect(String(settings['cluster.initial_master_nodes']).split(',')).toEqual(['elasticsearch-0', 'elasticsearch-1', 'elasticsearch-2']);
    expect(named(production, 'Service', 'elasticsearch-headless')['spec']).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  });

  it('heaps: Elasticsearch half its memory (under 31 GB), Kafka and ZooKeeper at most half, requests = limits for memory', () => {
    const jvm = { elasticsearch: 'ES_JAVA_OPTS', kafka: 'KAFKA_HEAP_OPTS' } as const;
    for (const name of statefulSets) {
      const container = containerOf(production, 'StatefulSet', name);
      const { requests, limits } = container['resources'] as Record<string, Record<string, string>>;
      const memory = quantity(limits!['memory']!);
      expect(quantity(requests!['memory']!), name).toBe(memory);
      const env = envOf(container);
      const heap = name === 'zookeeper' ? Number(env['ZK_SERVER_HEAP']) * 2 ** 20 : maxHeap(env[jvm[name as keyof typeof jvm]]!);
      if (name === 'elasticsearch') {
        expect(heap, name).toBe(memory / 2);
        expect(heap, name).toBeLessThan(31 * 2 ** 30);
      } else {
        expect(heap, name).toBeLessThanOrEqual(memory / 2);
      }
    }
  });

  it('platform/README.md gives what it costs, as computed from the rendered objects', () => {
    const readme = readFileSync(join(platformDir, 'README.md'), 'utf8').split('\n');
    const rows = costRows(base, production);
    expect(rows.at(-1)).toMatch(/^\| \*\*total\*\* \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \|$/);
    for (const row of rows) expect(readme, row).toContain(row);
  });
});
