/**
 * The NetworkPolicies of platform/ allow exactly the pipeline's flows, in every variant.
 */
import { describe, expect, it } from 'vitest';
import { externalEndpoints as ext, knativeFunctionPods, workloadPods } from './endpoints.ts';
import { knative, variants, ksvcContainer, ksvcNamed, envOf } from './fixtures.ts';
import { NetworkPolicies, type Endpoint } from './network-policies.ts';

type Flow = [from: Endpoint, to: Endpoint, port: number, protocol?: 'TCP' | 'UDP'];

/** The flows from each of `sources` to one port of `destination`. */
const into = (destination: Endpoint, port: number, sources: Endpoint[]): Flow[] => sources.map((from): Flow => [from, destination, port]);

describe('the platform NetworkPolicies', () => {
  const functions = knativeFunctionPods(knative);
  const fn = (name: string): Endpoint => {
    const found = functions.find((f) => f.name === name);
    if (!found) throw new Error(`no function ${name}`);
    return found;
  };
  const esFunctions = new Set(functions.filter((f) => envOf(ksvcContainer(ksvcNamed(f.name)))['ELASTICSEARCH_URL'] !== undefined).map((f) => f.name));

  const setups = Object.entries(variants).map(([variant, objects]) => {
    const pods = [...workloadPods(objects), ...functions];
    const pod = (name: string): Endpoint => {
      const found = pods.find((p) => p.name === name);
      if (!found) throw new Error(`no pod ${name} in ${variant}`);
      return found;
    };
    return { variant, objects, pods, pod, policies: new NetworkPolicies(objects) };
  });

  it('function pods carry the labels the policies select them by', () => {
    expect(functions.map((f) => f.name).sort()).toEqual(['enrich', 'generate', 'index', 'window-aggregate']);
    for (const f of functions) {
      expect(f.namespace).toBe('big-data-pipeline');
      expect(f.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'big-data-pipeline', 'app.kubernetes.io/component': 'function', 'app.kubernetes.io/name': f.name });
    }
    expect([...esFunctions].sort()).toEqual(['index', 'window-aggregate']);
  });

  describe.each(setups)('$variant', ({ variant, pods, pod, policies }) => {
    const ours = pods.filter((p) => p.namespace === 'big-data-pipeline');
    // Kafka's clients: PLAINTEXT on 9092, or SASL_SSL on 9093 in production (no 9092 at all).
    const kafkaPort = variant === 'production' ? 9093 : 9092;
    const kafkaClients = (): Endpoint[] => [...functions, pod('kafka'), ext.kafkaController, ext.sourceDispatcher, ext.sinkReceiver, ext.kedaOperator, pod('kafka-exporter'), pod('kafka-topics')];
    const zookeeperFlows = (): Flow[] => [...into(pod('zookeeper'), 2181, [pod('kafka')]), ...into(pod('zookeeper'), 2888, [pod('zookeeper')]), ...into(pod('zookeeper'), 3888, [pod('zookeeper')])];
    const notZookeeperClients = (): Endpoint[] => [fn('generate'), fn('index'), pod('kafka-exporter'), pod('kafka-topics'), ext.kafkaController, ext.otherPod];
    const uis: [string, number][] = [
      ['kibana', 5601],
      ['grafana', 3000],
      ['prometheus', 9090],
      ['dashboard', 8080],
    ];

    it('every selector selects something (no typo makes a policy inert)', () => {
      expect(policies.unmatchedSelectors([...pods, ...Object.values(ext)])).toEqual([]);
    });

    it('default deny covers every pod of the namespace, both ways', () => {
      for (const p of ours) {
        expect(policies.check(ext.otherPod, p, 12345).allowed, `${ext.otherPod.name} → ${p.name}`).toBe(false);
        expect(policies.check(p, ext.internet, 12345).allowed, `${p.name} → internet`).toBe(false);
        expect(policies.check(p, ext.otherPod, 80).allowed, `${p.name} → other namespace`).toBe(false);
      }
    });

    it('allows every flow the pipeline needs', () => {
      const required: Flow[] = [
        // DNS, for everyone.
        ...ours.flatMap((p): Flow[] => [
          [p, ext.kubeDns, 53, 'UDP'],
          [p, ext.kubeDns, 53, 'TCP'],
        ]),
        // Knative's data path into the functions, and Prometheus scraping them.
        ...functions.flatMap((f): Flow[] => [
          [ext.activator, f, 8012],
          [ext.activator, f, 8013],
          [ext.autoscaler, f, 9090],
          [ext.kourierGateway, f, 8012],
          [ext.sourceDispatcher, f, 8012],
          [pod('prometheus'), f, 8080],
        ]),
        // Kafka's clients and peers.
        ...into(pod('kafka'), kafkaPort, kafkaClients()),
        // Elasticsearch's clients.
        ...into(pod('elasticsearch'), 9200, [...[...esFunctions].map(fn), pod('kibana'), pod('elasticsearch-exporter'), pod('dashboard'), pod('elasticsearch-setup')]),
        [pod('kibana-setup'), pod('kibana'), 5601],
        // Monitoring.
        [pod('prometheus'), ext.kedaOperator, 8080],
        [pod('prometheus'), pod('kafka-exporter'), 9308],
        [pod('prometheus'), pod('elasticsearch-exporter'), 9114],
        [pod('prometheus'), ext.apiServer, 6443],
        [pod('prometheus'), ext.apiServer, 443],
        [pod('grafana'), pod('prometheus'), 9090],
        // The dashboard's stages panel.
        [pod('dashboard'), pod('prometheus'), 9090],
        [pod('dashboard'), ext.apiServer, 6443],
        [pod('dashboard'), ext.apiServer, 443],
        // The UIs through their NodePorts.
        ...uis.flatMap(([name, port]) => into(pod(name), port, [ext.internet, ext.node])),
        ...{
          base: () => zookeeperFlows(),
          kraft: () => into(pod('kafka'), 9093, [pod('kafka')]),
          // The ensemble's quorum, and the Elasticsearch nodes' transport between themselves.
          production: () => [...zookeeperFlows(), ...into(pod('elasticsearch'), 9300, [pod('elasticsearch')])],
        }[variant]!(),
      ];
      const refused = required.map(([from, to, port, protocol]) => policies.check(from, to, port, protocol)).filter((v) => !v.allowed);
      expect(refused.map((v) => v.reason)).toEqual([]);
    });

    it('refuses the flows that must not exist', () => {
      const forbidden: Flow[] = [
        // Nothing but the brokers talks to ZooKeeper (base) — in KRaft there is none.
        ...{
          base: () => into(pod('zookeeper'), 2181, notZookeeperClients()),
          kraft: () => into(pod('kafka'), 9093, [fn('generate')]),
          production: () => [
            ...into(pod('zookeeper'), 2181, notZookeeperClients()),
            ...into(pod('zookeeper'), 2888, [pod('kafka'), ext.otherPod]),
            ...into(pod('zookeeper'), 3888, [pod('kafka'), ext.otherPod]),
            // No plaintext Kafka: 9092 is closed to every client and broker.
            ...into(pod('kafka'), 9092, kafkaClients()),
            // Transport is for the nodes only.
            ...into(pod('elasticsearch'), 9300, [pod('kibana'), pod('elasticsearch-exporter'), pod('elasticsearch-setup'), fn('index'), ext.otherPod]),
          ],
        }[variant]!(),
        // Kafka: not for the UIs, not from other namespaces at large, not from outside.
        ...into(pod('kafka'), kafkaPort, [pod('kibana'), pod('dashboard'), pod('grafana'), pod('prometheus'), pod('elasticsearch-exporter'), ext.otherPod, ext.activator, ext.pingAdapter, ext.internet]),
        // Elasticsearch: not for functions without it, nor anyone else.
        ...into(pod('elasticsearch'), 9200, [
          ...functions.filter((f) => !esFunctions.has(f.name)),
          ext.otherPod,
          ext.internet,
          pod('kafka-exporter'),
          pod('grafana'),
          pod('kafka-topics'),
          pod('kibana-setup'),
        ]),
        [pod('elasticsearch'), ext.internet, 443],
        // Functions reach Kafka and (some) Elasticsearch, nothing else.
        ...functions.flatMap((f): Flow[] => [
          [f, pod('grafana'), 3000],
          [f, pod('kibana'), 5601],
          [f, pod('prometheus'), 9090],
          [f, ext.internet, 443],
          [f, ext.apiServer, 443],
          [ext.otherPod, f, 8012],
          [ext.otherPod, f, 8080],
          [ext.internet, f, 8012],
          [pod('dashboard'), f, 8080],
        ]),
        // Only the autoscaler and activator of Knative Serving, on the queue-proxy's ports.
        [ext.activator, fn('enrich'), 8080],
        [ext.kedaOperator, fn('enrich'), 8012],
        // The UIs only on their own port, and only to what they need.
        [ext.internet, pod('kibana'), 5602],
        [ext.internet, pod('prometheus'), 9091],
        // (The dashboard's and Prometheus's port-only rule for the API server lets them reach 443 anywhere.)
        ...[pod('grafana'), pod('kibana')].map((ui): Flow => [ui, ext.internet, 443]),
        [pod('dashboard'), ext.internet, 80],
        [pod('prometheus'), ext.internet, 80],
        [pod('dashboard'), pod('prometheus'), 8080],
        // Exporters are scraped by Prometheus only.
        [ext.otherPod, pod('kafka-exporter'), 9308],
        [pod('grafana'), pod('elasticsearch-exporter'), 9114],
        // Nobody calls the Jobs.
        [pod('prometheus'), pod('kafka-topics'), 8080],
      ];
      const allowed = forbidden.map(([from, to, port]) => policies.check(from, to, port)).filter((v) => v.allowed);
      expect(allowed.map((v) => v.reason)).toEqual([]);
    });
  });
});
