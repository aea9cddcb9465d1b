/**
 * The cluster platform in platform/: every kustomization renders and validates, every
 * container is hardened, the topic Job matches shared/topology.ts, the Kibana saved objects
 * match the index mappings, the alert rules have passing promtool tests, and the
 * NetworkPolicies allow exactly the pipeline's flows (evaluated by cli/platform.ts).
 * Needs kubectl (kustomize) but no cluster, Kafka or Elasticsearch.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { crossCheck, imagePinProblem, knownKinds, render, repoRoot, validateObjects, type K8sObject } from '../cli/manifests.ts';
import {
  NetworkPolicies,
  cidrContains,
  externalEndpoints as ext,
  knativeFunctionPods,
  platformSecrets,
  podTemplateOf,
  referenceProblems,
  secretReferences,
  selectorMatches,
  topicJobTopics,
  workloadContainers,
  workloadPods,
  workloadProblems,
  type Endpoint,
} from '../cli/platform.ts';
import { loadConfig, topicConfig } from '../shared/config.ts';
import { aggregatesMapping, eventsMapping } from '../shared/elasticsearch.ts';
import { createMetrics } from '../shared/metrics.ts';
import { pipelineTopics } from '../shared/topology.ts';

const platformDir = join(repoRoot, 'platform');
const topics = pipelineTopics(loadConfig(topicConfig, {}));

/** Every folder under platform/ with a kustomization.yaml; local/ holds no manifests. */
function kustomizations(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (path !== join(platformDir, 'local')) found.push(...kustomizations(path));
    } else if (entry === 'kustomization.yaml') {
      found.push(dir);
    }
  }
  return found;
}

const base = render(platformDir);
const kraft = render(join(platformDir, 'overlays', 'kraft'));
const knative = render(join(repoRoot, 'knative'));
const variants = { base, kraft } as const;

const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
};
/** A ConfigMap by its name before kustomize's hash suffix. */
const configMapNamed = (objects: K8sObject[], name: string): K8sObject => {
  const found = objects.find((o) => o.kind === 'ConfigMap' && (o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name)));
  if (!found) throw new Error(`no ConfigMap ${name}`);
  return found;
};
const containerOf = (objects: K8sObject[], kind: string, name: string, container?: string): Record<string, any> => {
  const all = workloadContainers([named(objects, kind, name)]);
  const found = container === undefined ? all.find((c) => !c.init) : all.find((c) => c.container['name'] === container);
  if (!found) throw new Error(`no container in ${kind}/${name}`);
  return found.container;
};
/** The user container of a Knative Service. */
const ksvcContainer = (ksvc: K8sObject): Record<string, any> => (ksvc['spec'] as any).template.spec.containers[0];
const ksvcNamed = (name: string): K8sObject => named(knative, 'Service', name);
const envOf = (container: Record<string, any>): Record<string, string> =>
  Object.fromEntries((container['env'] ?? []).filter((e: any) => typeof e.value === 'string').map((e: any) => [e.name, e.value]));
const tagOf = (image: string): string => image.slice(image.lastIndexOf(':') + 1);

describe('platform/ renders and validates', () => {
  it('every kustomization renders, and every object validates against its schema', () => {
    const dirs = kustomizations(platformDir);
    expect(dirs.map((d) => relative(platformDir, d) || '.').sort()).toEqual(
      expect.arrayContaining(['.', 'base', 'overlays/kraft', 'zookeeper', 'kafka', 'elasticsearch', 'kibana', 'prometheus', 'grafana', 'exporters', 'dashboard', 'network']),
    );
    for (const dir of dirs) {
      const objects = render(dir);
      expect(objects.length, dir).toBeGreaterThan(0);
      expect(validateObjects(objects), dir).toEqual([]);
    }
  });

  it('uses only kinds the validator knows', () => {
    const known = new Set(knownKinds().map((k) => k.kind));
    const used = new Set([...base, ...kraft].map((o) => `${o.apiVersion}/${o.kind}`));
    for (const kind of used) expect(known.has(kind), kind).toBe(true);
    expect([...used].sort()).toEqual(
      expect.arrayContaining(['apps/v1/StatefulSet', 'apps/v1/Deployment', 'batch/v1/Job', 'networking.k8s.io/v1/NetworkPolicy', 'rbac.authorization.k8s.io/v1/ClusterRole']),
    );
  });

  it.each(Object.entries(variants))('%s: namespace, labels and pinned images pass the manifest cross-checks', (_, objects) => {
    expect(crossCheck(objects, topics)).toEqual([]);
    expect(objects.filter((o) => o.metadata.namespace !== undefined).every((o) => o.metadata.namespace === 'big-data-pipeline')).toBe(true);
  });

  it.each(Object.entries(variants))('%s: every container has resources and a non-root, read-only security context', (_, objects) => {
    expect(workloadProblems(objects)).toEqual([]);
  });

  it.each(Object.entries(variants))('%s: every volume, ConfigMap, Secret key and $(VAR) reference resolves', (_, objects) => {
    expect(referenceProblems(objects)).toEqual([]);
  });

  it.each(Object.entries(variants))('%s: every Service selects a workload and targets a port it has', (_, objects) => {
    const pods = workloadPods(objects);
    for (const service of objects.filter((o) => o.apiVersion === 'v1' && o.kind === 'Service')) {
      const spec = service['spec'] as { selector: Record<string, string>; ports: { port: number; targetPort?: string | number }[] };
      const selected = pods.filter((p) => selectorMatches({ matchLabels: spec.selector }, p.labels ?? {}));
      expect(selected.length, `Service/${service.metadata.name}`).toBeGreaterThan(0);
      for (const port of spec.ports) {
        if (typeof port.targetPort === 'string') expect(selected.some((p) => p.ports?.[port.targetPort as string] !== undefined), `Service/${service.metadata.name} ${port.targetPort}`).toBe(true);
      }
    }
  });

  it('keeps state on volume claims of the StatefulSets', () => {
    for (const name of ['zookeeper', 'kafka', 'elasticsearch', 'prometheus']) {
      const claims = (named(base, 'StatefulSet', name)['spec'] as { volumeClaimTemplates?: unknown[] }).volumeClaimTemplates ?? [];
      expect(claims.length, name).toBe(1);
    }
    expect(base.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
  });

  it('publishes the four UIs on their NodePorts and nothing else', () => {
    const nodePorts = Object.fromEntries(
      base
        .filter((o) => o.kind === 'Service' && (o['spec'] as { type?: string }).type === 'NodePort')
        .map((o) => [o.metadata.name, (o['spec'] as { ports: { nodePort: number }[] }).ports.map((p) => p.nodePort)]),
    );
    expect(nodePorts).toEqual({ kibana: [30561], dashboard: [30851], prometheus: [30909], grafana: [30300] });
  });

  it('serves the addresses knative/ uses', () => {
    const env = Object.assign({}, ...knative.filter((o) => o.kind === 'Service').map((o) => envOf(ksvcContainer(o))));
    expect(env['KAFKA_BROKERS']).toBe('kafka.big-data-pipeline.svc.cluster.local:9092');
    expect(env['ELASTICSEARCH_URL']).toBe('http://elasticsearch.big-data-pipeline.svc.cluster.local:9200');
    expect((named(base, 'Service', 'kafka')['spec'] as { ports: { port: number }[] }).ports.map((p) => p.port)).toEqual([9092]);
    expect((named(base, 'Service', 'elasticsearch')['spec'] as { ports: { port: number }[] }).ports.map((p) => p.port)).toEqual([9200]);
    const bootstrap = 'kafka.big-data-pipeline.svc.cluster.local:9092';
    for (const source of knative.filter((o) => o.kind === 'KafkaSource' || o.kind === 'KafkaSink')) {
      expect((source['spec'] as { bootstrapServers: string[] }).bootstrapServers, source.metadata.name).toEqual([bootstrap]);
    }
  });

  it('has no Secret objects: the deploy tool creates them', () => {
    expect([...base, ...kraft].filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

// Objects whose containers this module renders, so the unit tests below stay readable.
const pod = (spec: Record<string, unknown>, kind = 'Deployment', name = 'x'): K8sObject =>
  ({
    apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
    kind,
    metadata: { name, namespace: 'big-data-pipeline' },
    spec: { template: { metadata: { labels: { app: name } }, spec } },
  }) as K8sObject;

const hardened = {
  name: 'c',
  image: 'registry/x:1.0.0',
  resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
  securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
  readinessProbe: { tcpSocket: { port: 1 } },
  livenessProbe: { tcpSocket: { port: 1 } },
};

describe('workloadProblems and referenceProblems', () => {
  it('accept a hardened pod', () => {
    expect(workloadProblems([pod({ enableServiceLinks: false, containers: [hardened] })])).toEqual([]);
  });

  it('catch what is missing, init containers included', () => {
    const { resources: _r, securityContext: _s, ...bare } = hardened;
    const problems = workloadProblems([
      pod({
        containers: [{ ...bare, image: 'registry/x:latest', securityContext: { runAsUser: 0, capabilities: { add: ['NET_ADMIN'] } } }],
        initContainers: [{ ...hardened, name: 'init', resources: { requests: { cpu: '1m' } } }],
      }),
    ]).map((p) => p.message);
    expect(problems).toEqual(
      expect.arrayContaining([
        'enableServiceLinks is not false: Service links put KAFKA_PORT and friends into the environment',
        'container c: image "registry/x:latest" uses the tag latest: pin a version or a digest',
        'container c: no cpu in resources.requests',
        'container c: no memory in resources.limits',
        'container c: runAsNonRoot is not true (pod or container)',
        'container c: runAsUser is not a numeric non-root uid (pod or container)',
        'container c: allowPrivilegeEscalation is not false',
        'container c: capabilities.drop does not include ALL',
        'container c: adds capabilities',
        'container c: seccompProfile is not RuntimeDefault (pod or container)',
        'container c: readOnlyRootFilesystem is not true',
        'init container init: no memory in resources.requests',
        'init container init: no cpu in resources.limits',
      ]),
    );
  });

  it('accept pod-level runAsNonRoot, runAsUser and seccomp, and want no probes on Jobs', () => {
    const { securityContext: _s, readinessProbe: _r, livenessProbe: _l, ...rest } = hardened;
    const container = { ...rest, securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } } };
    const securityContext = { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } };
    expect(workloadProblems([pod({ enableServiceLinks: false, securityContext, containers: [container] }, 'Job')])).toEqual([]);
    expect(workloadProblems([pod({ enableServiceLinks: false, securityContext, containers: [container] })]).map((p) => p.message)).toEqual([
      'container c: no readinessProbe',
      'container c: no livenessProbe',
    ]);
  });

  it('catch dangling references and $(VAR)s defined too late', () => {
    const objects = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { A: '1' } } as K8sObject,
      pod({
        volumes: [{ name: 'conf', configMap: { name: 'missing' } }],
        containers: [
          {
            name: 'c',
            envFrom: [{ configMapRef: { name: 'settings' } }],
            env: [
              { name: 'LATER_USED', value: 'x-$(DEFINED_LATER)' },
              { name: 'DEFINED_LATER', value: 'y' },
              { name: 'FROM_CONFIG', value: '$(A)' },
              { name: 'S', valueFrom: { secretKeyRef: { name: 'grafana-admin', key: 'password' } } },
              { name: 'T', valueFrom: { secretKeyRef: { name: 'unknown', key: 'k' } } },
              { name: 'K', valueFrom: { configMapKeyRef: { name: 'settings', key: 'B' } } },
            ],
            // $(date) is shell command substitution, not a variable reference.
            args: ['--x=$(DEFINED_LATER)', '--y=$(NOWHERE)', 'sh -c "$(date)"'],
            volumeMounts: [{ name: 'nope', mountPath: '/x' }],
          },
        ],
      }),
    ];
    expect(referenceProblems(objects).map((p) => p.message)).toEqual([
      'volume conf: ConfigMap missing is not among the objects',
      'container c: volumeMount of undeclared volume nope',
      'container c: env LATER_USED refers to $(DEFINED_LATER), which is not defined before it',
      'container c: env S reads key password, which Secret grafana-admin does not have',
      'container c: env T reads Secret unknown, which is not in the documented Secrets',
      'container c: env K reads key B, which ConfigMap settings does not have',
      'container c: args[1] refers to $(NOWHERE), which is not defined before it',
    ]);
  });
});

describe('images', () => {
  const imagesOf = (objects: K8sObject[]) => new Set(workloadContainers(objects).map((c) => String(c.container['image'])));

  it('are the pinned versions README.md explains', () => {
    expect([...imagesOf(base)].sort()).toEqual(
      [
        'apache/kafka:3.9.2',
        'danielqsj/kafka-exporter:v1.9.0',
        'dev.local/big-data-pipeline/dashboard:0.1.0',
        'docker.elastic.co/elasticsearch/elasticsearch:8.19.21',
        'docker.elastic.co/kibana/kibana:8.19.21',
        'grafana/grafana:12.4.3',
        'prom/prometheus:v3.13.0',
        'quay.io/prometheuscommunity/elasticsearch-exporter:v1.11.0',
        'zookeeper:3.9.5',
      ].sort(),
    );
    const readme = readFileSync(join(platformDir, 'README.md'), 'utf8');
    for (const image of [...imagesOf(base), ...imagesOf(kraft)]) {
      expect(imagePinProblem(image)).toBeUndefined();
      expect(readme, image).toContain(image);
    }
  });

  it('Elasticsearch is the version the tests and make dev run (platform/local/infra.sh)', () => {
    const local = /^readonly ES_VERSION=(\S+)$/m.exec(readFileSync(join(platformDir, 'local', 'infra.sh'), 'utf8'))?.[1];
    expect(local).toMatch(/^8\.19\.\d+$/);
    expect(tagOf(String(containerOf(base, 'StatefulSet', 'elasticsearch')['image']))).toBe(local);
  });

  it('Kibana equals Elasticsearch, whose major is the Node client’s', () => {
    const es = tagOf(String(containerOf(base, 'StatefulSet', 'elasticsearch')['image']));
    expect(tagOf(String(containerOf(base, 'Deployment', 'kibana')['image']))).toBe(es);
    const client = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).dependencies['@elastic/elasticsearch'] as string;
    expect(es.split('.')[0]).toBe(client.replace(/^[^\d]*/, '').split('.')[0]);
  });

  it.each(Object.entries(variants))('%s: kafka-exporter speaks the broker version, and the topic Job uses the broker image', (_, objects) => {
    const broker = String(containerOf(objects, 'StatefulSet', 'kafka')['image']);
    const args = containerOf(objects, 'Deployment', 'kafka-exporter')['args'] as string[];
    expect(args).toContain(`--kafka.version=${tagOf(broker)}`);
    expect(args).toContain('--kafka.server=kafka.big-data-pipeline.svc.cluster.local:9092');
    expect(containerOf(objects, 'Job', 'kafka-topics')['image']).toBe(broker);
  });

  it('elasticsearch-exporter has an explicit --es.uri and the pipeline credentials', () => {
    const exporter = containerOf(base, 'Deployment', 'elasticsearch-exporter');
    expect(exporter['args']).toContain('--es.uri=http://elasticsearch.big-data-pipeline.svc.cluster.local:9200');
    expect(secretReferences([named(base, 'Deployment', 'elasticsearch-exporter')])).toEqual([
      { secret: 'elasticsearch-credentials', key: 'username' },
      { secret: 'elasticsearch-credentials', key: 'password' },
    ]);
  });
});

describe('Kafka', () => {
  it.each(Object.entries(variants))('%s: the topic Job creates exactly the topics of shared/topology.ts', (_, objects) => {
    expect(topicJobTopics(objects)).toEqual(topics);
    const env = containerOf(objects, 'Job', 'kafka-topics')['env'] as { name: string; valueFrom?: unknown }[];
    expect(env.find((e) => e.name === 'REPLICATION_FACTOR')?.valueFrom).toEqual({ configMapKeyRef: { name: 'kafka-settings', key: 'KAFKA_DEFAULT_REPLICATION_FACTOR' } });
  });

  it('topicJobTopics parses name:partitions and refuses anything else', () => {
    const job = (value: string) => [pod({ containers: [{ name: 'c', env: [{ name: 'TOPICS', value }] }] }, 'Job', 'kafka-topics')];
    expect(topicJobTopics(job(' a:1  b.c:12 '))).toEqual([
      { name: 'a', partitions: 1 },
      { name: 'b.c', partitions: 12 },
    ]);
    expect(() => topicJobTopics(job('a=1'))).toThrow(/not name:partitions/);
  });

  it('base: ZooKeeper mode through kafka-server-start.sh, replication from kafka-settings', () => {
    const kafka = containerOf(base, 'StatefulSet', 'kafka');
    expect(kafka['command']).toEqual(['/opt/kafka/bin/kafka-server-start.sh', '/opt/kafka/config/server.properties']);
    const overrides = (kafka['args'] as string[]).filter((a) => a !== '--override');
    expect(overrides).toEqual(
      expect.arrayContaining([
        'zookeeper.connect=zookeeper.big-data-pipeline.svc.cluster.local:2181',
        'broker.id=$(BROKER_ID)',
        'advertised.listeners=PLAINTEXT://$(POD_NAME).kafka-headless.big-data-pipeline.svc.cluster.local:9092',
        'default.replication.factor=$(KAFKA_DEFAULT_REPLICATION_FACTOR)',
        'offsets.topic.replication.factor=$(KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR)',
        'min.insync.replicas=$(KAFKA_MIN_INSYNC_REPLICAS)',
        'num.partitions=$(KAFKA_NUM_PARTITIONS)',
      ]),
    );
    expect((named(base, 'StatefulSet', 'kafka')['spec'] as { replicas: number }).replicas).toBe(1);
    expect(named(base, 'ConfigMap', 'kafka-settings')['data']).toMatchObject({ KAFKA_DEFAULT_REPLICATION_FACTOR: '1', KAFKA_MIN_INSYNC_REPLICAS: '1' });
  });

  it('kraft: Kafka 4 through the image launcher, and no trace of ZooKeeper', () => {
    expect(JSON.stringify(kraft).toLowerCase()).not.toContain('zookeeper');
    const kafka = containerOf(kraft, 'StatefulSet', 'kafka');
    expect(String(kafka['image'])).toMatch(/^apache\/kafka:4\.\d+\.\d+$/);
    expect(kafka['command']).toEqual(['/etc/kafka/docker/run']);
    expect(kafka['args']).toBeUndefined();
    expect(envOf(kafka)).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER' });
    expect(named(kraft, 'ConfigMap', 'kafka-settings')['data']).toMatchObject({
      KAFKA_CONTROLLER_QUORUM_VOTERS: '0@kafka-0.kafka-headless.big-data-pipeline.svc.cluster.local:9093',
      CLUSTER_ID: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    // Every other object of the base is still there.
    const ids = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`);
    const removed = ids(base).filter((id) => !ids(kraft).includes(id));
    expect(removed.sort()).toEqual(
      [
        'ConfigMap/kafka-log4j',
        'ConfigMap/zookeeper-config',
        'NetworkPolicy/kafka-to-zookeeper',
        'NetworkPolicy/zookeeper',
        'Service/zookeeper',
        'Service/zookeeper-headless',
        'StatefulSet/zookeeper',
      ].sort(),
    );
  });

  it('no pod gets Service-link variables (a Service named kafka would add KAFKA_PORT)', () => {
    for (const object of [...base, ...kraft]) {
      const template = podTemplateOf(object);
      if (template) expect(template.spec['enableServiceLinks'], object.metadata.name).toBe(false);
    }
  });
});

describe('Elasticsearch and Kibana', () => {
  it('security on, no mmap, heap set, bootstrap password from elasticsearch-superuser', () => {
    const settings = parseYaml(String((configMapNamed(base, 'elasticsearch-config')['data'] as Record<string, string>)['elasticsearch.yml']));
    expect(settings).toMatchObject({
      'discovery.type': 'single-node',
      'xpack.security.enabled': true,
      'xpack.security.http.ssl.enabled': false,
      'node.store.allow_mmap': false,
    });
    const es = containerOf(base, 'StatefulSet', 'elasticsearch');
    expect(envOf(es)['ES_JAVA_OPTS']).toBe('-Xms512m -Xmx512m');
    expect(secretReferences([named(base, 'StatefulSet', 'elasticsearch')])).toEqual([{ secret: 'elasticsearch-superuser', key: 'password' }]);
    // No privileged sysctl init container: the only init container copies the config.
    expect(workloadContainers([named(base, 'StatefulSet', 'elasticsearch')]).filter((c) => c.init).map((c) => c.container['name'])).toEqual(['config']);
  });

  it('the setup Job grants the pipeline user exactly the indices knative/ uses', () => {
    const indices = new Set<string>();
    for (const ksvc of knative.filter((o) => o.kind === 'Service')) {
      const env = envOf(ksvcContainer(ksvc));
      for (const key of ['EVENTS_INDEX', 'AGGREGATES_INDEX', 'FINALS_INDEX']) if (env[key]) indices.add(env[key]);
    }
    expect([...indices].sort()).toEqual(['events', 'events-aggregated', 'window-finals']);
    const granted = envOf(containerOf(base, 'Job', 'elasticsearch-setup'))['PIPELINE_INDICES']!.split(',').sort();
    expect(granted).toEqual([...indices].sort());
  });

  describe('setup.sh, against a stand-in curl', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bdp-es-setup-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    // Records method, path and body of each call; answers 200.
    writeFileSync(
      join(dir, 'curl'),
      `#!/usr/bin/env bash
out=""; method=GET; url=""; body=""
while (($#)); do
  case $1 in
    -o) out=$2; shift ;;
    -X) method=$2; shift ;;
    --data-binary) body=$2; shift ;;
    -w|-u|-H) shift ;;
    -*) ;;
    *) url=$1 ;;
  esac
  shift
done
if [[ $method != GET ]]; then printf '%s %s %s\\n' "$method" "\${url#http://es:9200}" "$(tr -d '\\n' <<< "$body")" >> "$CALLS"; fi
[[ -n $out && $out != /dev/null ]] && echo '{}' > "$out"
printf 200
`,
    );
    chmodSync(join(dir, 'curl'), 0o755);
    const run = (env: Record<string, string>) => {
      const calls = join(dir, 'calls');
      writeFileSync(calls, '');
      const result = spawnSync('bash', [join(platformDir, 'elasticsearch', 'setup.sh')], {
        env: { PATH: `${dir}:${process.env['PATH'] ?? ''}`, TMPDIR: dir, CALLS: calls, ELASTICSEARCH_URL: 'http://es:9200', PIPELINE_INDICES: 'events,events-aggregated,window-finals', ...env },
        encoding: 'utf8',
      });
      expect(result.status, result.stderr).toBe(0);
      return readFileSync(calls, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [method, path, ...body] = line.split(' ');
          return { method, path, body: JSON.parse(body.join(' ')) as unknown };
        });
    };

    it('sets kibana_system’s password, the role and the user, with valid JSON even for odd passwords', () => {
      const calls = run({ ELASTIC_PASSWORD: 'root', KIBANA_SYSTEM_PASSWORD: 'k"b\\1', PIPELINE_USERNAME: 'big-data-pipeline', PIPELINE_PASSWORD: 'p"w' });
      expect(calls).toEqual([
        { method: 'POST', path: '/_security/user/kibana_system/_password', body: { password: 'k"b\\1' } },
        {
          method: 'PUT',
          path: '/_security/role/big-data-pipeline',
          body: {
            cluster: ['monitor', 'manage_index_templates'],
            indices: [{ names: ['events', 'events-aggregated', 'window-finals'], privileges: ['create_index', 'write', 'read', 'view_index_metadata', 'maintenance', 'monitor'] }],
          },
        },
        {
          method: 'PUT',
          path: '/_security/user/big-data-pipeline',
          body: { password: 'p"w', roles: ['big-data-pipeline'], full_name: 'big-data-pipeline functions, dashboard and exporter' },
        },
      ]);
    });

    it('creates no user when the Secret names elastic itself', () => {
      const calls = run({ ELASTIC_PASSWORD: 'root', KIBANA_SYSTEM_PASSWORD: 'k', PIPELINE_USERNAME: 'elastic', PIPELINE_PASSWORD: 'root' });
      expect(calls.map((c) => c.path)).toEqual(['/_security/user/kibana_system/_password']);
    });
  });

  it('Kibana logs in as kibana_system and imports the saved objects the supported way', () => {
    const kibana = containerOf(base, 'Deployment', 'kibana');
    expect(envOf(kibana)).toMatchObject({ ELASTICSEARCH_USERNAME: 'kibana_system', ELASTICSEARCH_HOSTS: 'http://elasticsearch.big-data-pipeline.svc.cluster.local:9200' });
    const script = (containerOf(base, 'Job', 'kibana-setup')['args'] as string[]).join('\n');
    expect(script).toContain('/api/saved_objects/_import?overwrite=true');
    expect(script).toContain("-H 'kbn-xsrf: true'");
    expect(script).toMatch(/--form file=@\/saved-objects\/[\w-]+\.ndjson/);
    const mount = (containerOf(base, 'Job', 'kibana-setup')['volumeMounts'] as { name: string; mountPath: string }[]).find((m) => m.mountPath === '/saved-objects');
    expect(mount).toBeDefined();
    const configMap = configMapNamed(base, 'kibana-saved-objects');
    expect(Object.keys(configMap['data'] as object)).toEqual(['saved-objects.ndjson']);
  });

  describe('saved objects', () => {
    const ndjson = readFileSync(join(platformDir, 'kibana', 'saved-objects.ndjson'), 'utf8');
    type SavedObject = { id: string; type: string; attributes: Record<string, any>; references: { id: string; type: string; name: string }[] };
    const objects = ndjson
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as SavedObject);
    const byId = new Map(objects.map((o) => [o.id, o]));
    const mappings: Record<string, { properties?: Record<string, { type?: string }> }> = { events: eventsMapping, 'events-aggregated': aggregatesMapping };
    const fieldType = (dataViewId: string, field: string): string | undefined => mappings[byId.get(dataViewId)!.attributes['title']]?.properties?.[field]?.type;

    it('are one object a line with unique ids, and every reference resolves', () => {
      expect(new Set(objects.map((o) => o.id)).size).toBe(objects.length);
      for (const object of objects) {
        for (const ref of object.references) expect(byId.get(ref.id)?.type, `${object.id} → ${ref.id}`).toBe(ref.type);
      }
    });

    it('include data views over events (timestamp) and events-aggregated (window_start)', () => {
      const views = objects.filter((o) => o.type === 'index-pattern').map((o) => [o.attributes['title'], o.attributes['timeFieldName']]);
      expect(views).toEqual([
        ['events', 'timestamp'],
        ['events-aggregated', 'window_start'],
      ]);
      for (const view of objects.filter((o) => o.type === 'index-pattern')) expect(fieldType(view.id, view.attributes['timeFieldName']), view.id).toBe('date');
    });

    it('have a saved search whose columns and sort are fields of its index', () => {
      const searches = objects.filter((o) => o.type === 'search');
      expect(searches.length).toBe(1);
      for (const search of searches) {
        const view = search.references.find((r) => r.name === 'kibanaSavedObjectMeta.searchSourceJSON.index')!.id;
        for (const field of [...search.attributes['columns'], ...search.attributes['sort'].map((s: string[]) => s[0])]) {
          expect(fieldType(view, field), `${search.id}: ${field}`).toBeDefined();
        }
      }
    });

    it('have a dashboard whose panels use fields the mappings have, with the right types', () => {
      const dashboard = objects.find((o) => o.type === 'dashboard')!;
      const panels = JSON.parse(dashboard.attributes['panelsJSON']) as Record<string, any>[];
      expect(panels.length).toBeGreaterThanOrEqual(3);
      const refNames = new Set(dashboard.references.map((r) => r.name));
      const want: Record<string, string[]> = { date_histogram: ['date'], sum: ['long', 'double', 'integer'], terms: ['keyword'] };
      for (const panel of panels) {
        if (panel['panelRefName']) {
          expect(refNames.has(`${panel['panelIndex']}:${panel['panelRefName']}`), panel['panelIndex']).toBe(true);
          continue;
        }
        const attributes = panel['embeddableConfig'].attributes;
        for (const [layerId, layer] of Object.entries(attributes.state.datasourceStates.formBased.layers as Record<string, any>)) {
          const ref = dashboard.references.find((r) => r.name === `${panel['panelIndex']}:indexpattern-datasource-layer-${layerId}`);
          expect(ref, `${panel['panelIndex']} layer ${layerId}`).toBeDefined();
          expect(layer.columnOrder.sort()).toEqual(Object.keys(layer.columns).sort());
          for (const column of Object.values(layer.columns as Record<string, any>)) {
            if (column.operationType === 'count') continue;
            expect(want[column.operationType], column.operationType).toContain(fieldType(ref!.id, column.sourceField));
          }
        }
      }
    });
  });
});

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

  it('tools/promtool builds the promtool of the Prometheus image the cluster runs', () => {
    const goMod = readFileSync(join(repoRoot, 'tools', 'promtool', 'go.mod'), 'utf8');
    const pinned = /^require github\.com\/prometheus\/prometheus v0\.(\d)(\d\d)\.(\d+)$/m.exec(goMod);
    expect(pinned, 'tools/promtool/go.mod requires github.com/prometheus/prometheus v0.3XX.Y').not.toBeNull();
    const image = /image: prom\/prometheus:v(\d+\.\d+\.\d+)$/m.exec(readFileSync(join(dir, 'prometheus.yaml'), 'utf8'));
    expect(`${pinned![1]}.${Number(pinned![2])}.${pinned![3]}`).toBe(image![1]);
  });
});

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

describe('Secrets', () => {
  it('the manifests (platform/ and knative/) read exactly the documented Secrets and keys', () => {
    const refs = secretReferences([...base, ...kraft, ...knative]);
    for (const { secret, key } of refs) expect(platformSecrets[secret]?.keys, `${secret}/${key}`).toContain(key);
    const used = new Set(refs.map((r) => `${r.secret}/${r.key}`));
    for (const [secret, spec] of Object.entries(platformSecrets)) for (const key of spec.keys) expect(used.has(`${secret}/${key}`), `${secret}/${key} is never read`).toBe(true);
  });

  it('README.md documents every Secret and key', () => {
    const readme = readFileSync(join(platformDir, 'README.md'), 'utf8');
    for (const [secret, spec] of Object.entries(platformSecrets)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${secret}\``));
      expect(row, secret).toBeDefined();
      for (const key of spec.keys) expect(row, `${secret}/${key}`).toContain(`\`${key}\``);
    }
  });
});

describe('the NetworkPolicy evaluator', () => {
  const np = (name: string, spec: Record<string, unknown>, namespace = 'app'): K8sObject =>
    ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec }) as K8sObject;
  const web: Endpoint = { name: 'web', namespace: 'app', labels: { role: 'web' }, ports: { http: 8080 } };
  const db: Endpoint = { name: 'db', namespace: 'app', labels: { role: 'db', tier: 'data' } };
  const other: Endpoint = { name: 'other', namespace: 'app', labels: { role: 'other' } };
  const monitor: Endpoint = { name: 'monitor', namespace: 'ops', labels: { role: 'monitor' } };
  const stranger: Endpoint = { name: 'stranger', namespace: 'ops', labels: { role: 'stranger' } };
  const outside: Endpoint = { name: 'outside', ip: '198.51.100.9' };

  it('leaves pods no policy selects unrestricted', () => {
    const policies = new NetworkPolicies([]);
    expect(policies.allowed(web, db, 5432)).toBe(true);
    expect(policies.allowed(outside, web, 1)).toBe(true);
  });

  it('default deny stops everything, in both directions, only in its namespace', () => {
    const policies = new NetworkPolicies([np('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    expect(policies.allowed(web, db, 5432)).toBe(false);
    expect(policies.allowed(monitor, web, 8080)).toBe(false);
    expect(policies.allowed(web, monitor, 9090)).toBe(false);
    expect(policies.allowed(monitor, stranger, 1)).toBe(true);
  });

  it('needs egress of the source and ingress of the destination', () => {
    const objects = [
      np('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      np('db-in', { podSelector: { matchLabels: { role: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }], ports: [{ port: 5432 }] }] }),
    ];
    expect(new NetworkPolicies(objects).check(web, db, 5432)).toEqual({ allowed: false, reason: "web → db:5432/TCP: no egress rule of web's policies allows it" });
    const withEgress = new NetworkPolicies([
      ...objects,
      np('web-out', { podSelector: { matchLabels: { role: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { tier: 'data' } } }] }] }),
    ]);
    expect(withEgress.check(web, db, 5432)).toEqual({ allowed: true, reason: 'web → db:5432/TCP: egress web-out, ingress db-in' });
    expect(withEgress.allowed(web, db, 5433)).toBe(false);
    expect(withEgress.allowed(other, db, 5432)).toBe(false);
    expect(withEgress.allowed(web, db, 5432, 'UDP')).toBe(false);
  });

  it('defaults policyTypes from the rules: Ingress always, Egress only with egress rules', () => {
    const ingressOnly = new NetworkPolicies([np('p', { podSelector: { matchLabels: { role: 'db' } }, ingress: [] })]);
    expect(ingressOnly.allowed(web, db, 1)).toBe(false);
    expect(ingressOnly.allowed(db, web, 1)).toBe(true);
    const both = new NetworkPolicies([np('p', { podSelector: { matchLabels: { role: 'db' } }, egress: [] })]);
    expect(both.allowed(web, db, 1)).toBe(false);
    expect(both.allowed(db, web, 1)).toBe(false);
  });

  it('matches namespaceSelector alone, with a podSelector, and a podSelector alone only in the policy namespace', () => {
    const policy = (from: unknown[]) => new NetworkPolicies([np('p', { podSelector: { matchLabels: { role: 'web' } }, ingress: [{ from }] })], { ops: { team: 'sre' } });
    const byNamespace = policy([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } } }]);
    expect(byNamespace.allowed(monitor, web, 8080)).toBe(true);
    expect(byNamespace.allowed(stranger, web, 8080)).toBe(true);
    expect(byNamespace.allowed(other, web, 8080)).toBe(false);
    const byBoth = policy([{ namespaceSelector: { matchLabels: { team: 'sre' } }, podSelector: { matchLabels: { role: 'monitor' } } }]);
    expect(byBoth.allowed(monitor, web, 8080)).toBe(true);
    expect(byBoth.allowed(stranger, web, 8080)).toBe(false);
    const byPod = policy([{ podSelector: { matchLabels: { role: 'monitor' } } }]);
    expect(byPod.allowed(monitor, web, 8080)).toBe(false);
    // Two peers in one rule are alternatives.
    const either = policy([{ podSelector: { matchLabels: { role: 'other' } } }, { namespaceSelector: {}, podSelector: { matchLabels: { role: 'stranger' } } }]);
    expect(either.allowed(other, web, 8080)).toBe(true);
    expect(either.allowed(stranger, web, 8080)).toBe(true);
    expect(either.allowed(monitor, web, 8080)).toBe(false);
  });

  it('treats a rule without peers as everyone, and ipBlock as hosts outside the pod network', () => {
    const open = new NetworkPolicies([np('p', { podSelector: { matchLabels: { role: 'web' } }, ingress: [{ ports: [{ port: 'http' }] }] })]);
    expect(open.allowed(outside, web, 8080)).toBe(true);
    expect(open.allowed(stranger, web, 8080)).toBe(true);
    expect(open.allowed(stranger, web, 8081)).toBe(false);
    const blocks = new NetworkPolicies([
      np('p', { podSelector: { matchLabels: { role: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.0/29'] } }] }] }),
    ]);
    expect(blocks.allowed(outside, web, 8080)).toBe(true);
    expect(blocks.allowed({ name: 'excepted', ip: '198.51.100.3' }, web, 8080)).toBe(false);
    expect(blocks.allowed({ name: 'elsewhere', ip: '192.0.2.1' }, web, 8080)).toBe(false);
    expect(blocks.allowed(stranger, web, 8080)).toBe(false);
  });

  it('handles port ranges, named ports, protocols and matchExpressions', () => {
    const policies = new NetworkPolicies([
      np('deny', { podSelector: {}, policyTypes: ['Egress'] }),
      np('p', {
        podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['web', 'other'] }] },
        policyTypes: ['Egress'],
        egress: [
          { to: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }], ports: [{ port: 5000, endPort: 5432 }] },
          { to: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }, { key: 'role', operator: 'NotIn', values: ['other'] }] } }], ports: [{ protocol: 'UDP', port: 'http' }] },
        ],
      }),
    ]);
    expect(policies.allowed(web, db, 5432)).toBe(true);
    expect(policies.allowed(other, db, 5000)).toBe(true);
    expect(policies.allowed(web, db, 5433)).toBe(false);
    expect(policies.allowed(db, db, 5432)).toBe(false);
    expect(policies.allowed(other, web, 8080, 'UDP')).toBe(true);
    expect(policies.allowed(other, web, 8080)).toBe(false);
    expect(policies.allowed(web, other, 8080, 'UDP')).toBe(false);
  });

  it('finds selectors that select nothing', () => {
    const policies = new NetworkPolicies([
      np('typo', { podSelector: { matchLabels: { role: 'wbe' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'db' } } }, { podSelector: { matchLabels: { role: 'dbb' } } }] }] }),
    ]);
    expect(policies.unmatchedSelectors([web, db])).toEqual([
      'typo: podSelector selects no pod',
      'typo: ingress[0] peer {"podSelector":{"matchLabels":{"role":"dbb"}}} matches no pod',
    ]);
  });

  it('cidrContains', () => {
    expect(cidrContains('0.0.0.0/0', '203.0.113.7')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '10.255.1.2')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '11.0.0.1')).toBe(false);
    expect(cidrContains('192.0.2.7/32', '192.0.2.7')).toBe(true);
    expect(() => cidrContains('10.0.0.0/8', 'fe80::1')).toThrow(/IPv4/);
  });
});

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
      const required: [Endpoint, Endpoint, number, ('TCP' | 'UDP')?][] = [
        // DNS, for everyone.
        ...ours.flatMap((p): [Endpoint, Endpoint, number, 'TCP' | 'UDP'][] => [
          [p, ext.kubeDns, 53, 'UDP'],
          [p, ext.kubeDns, 53, 'TCP'],
        ]),
        // Knative's data path into the functions, and Prometheus scraping them.
        ...functions.flatMap((f): [Endpoint, Endpoint, number][] => [
          [ext.activator, f, 8012],
          [ext.activator, f, 8013],
          [ext.autoscaler, f, 9090],
          [ext.kourierGateway, f, 8012],
          [ext.sourceDispatcher, f, 8012],
          [pod('prometheus'), f, 8080],
          [f, pod('kafka'), 9092],
        ]),
        ...[...esFunctions].map((name): [Endpoint, Endpoint, number] => [fn(name), pod('elasticsearch'), 9200]),
        // Kafka's clients and peers.
        [pod('kafka'), pod('kafka'), 9092],
        [ext.kafkaController, pod('kafka'), 9092],
        [ext.sourceDispatcher, pod('kafka'), 9092],
        [ext.sinkReceiver, pod('kafka'), 9092],
        [ext.kedaOperator, pod('kafka'), 9092],
        [pod('kafka-exporter'), pod('kafka'), 9092],
        [pod('kafka-topics'), pod('kafka'), 9092],
        // Elasticsearch's clients.
        [pod('kibana'), pod('elasticsearch'), 9200],
        [pod('elasticsearch-exporter'), pod('elasticsearch'), 9200],
        [pod('dashboard'), pod('elasticsearch'), 9200],
        [pod('elasticsearch-setup'), pod('elasticsearch'), 9200],
        [pod('kibana-setup'), pod('kibana'), 5601],
        // Monitoring.
        [pod('prometheus'), ext.kedaOperator, 8080],
        [pod('prometheus'), pod('kafka-exporter'), 9308],
        [pod('prometheus'), pod('elasticsearch-exporter'), 9114],
        [pod('prometheus'), ext.apiServer, 6443],
        [pod('prometheus'), ext.apiServer, 443],
        [pod('grafana'), pod('prometheus'), 9090],
        // The UIs through their NodePorts.
        ...uis.flatMap(([name, port]): [Endpoint, Endpoint, number][] => [
          [ext.internet, pod(name), port],
          [ext.node, pod(name), port],
        ]),
        ...(variant === 'base'
          ? ([
              [pod('kafka'), pod('zookeeper'), 2181],
              [pod('zookeeper'), pod('zookeeper'), 2888],
              [pod('zookeeper'), pod('zookeeper'), 3888],
            ] as [Endpoint, Endpoint, number][])
          : ([[pod('kafka'), pod('kafka'), 9093]] as [Endpoint, Endpoint, number][])),
      ];
      const refused = required.map(([from, to, port, protocol]) => policies.check(from, to, port, protocol)).filter((v) => !v.allowed);
      expect(refused.map((v) => v.reason)).toEqual([]);
    });

    it('refuses the flows that must not exist', () => {
      const forbidden: [Endpoint, Endpoint, number][] = [
        // Nothing but the brokers talks to ZooKeeper (base) — in KRaft there is none.
        ...(variant === 'base'
          ? ([
              [fn('generate'), pod('zookeeper'), 2181],
              [fn('index'), pod('zookeeper'), 2181],
              [pod('kafka-exporter'), pod('zookeeper'), 2181],
              [pod('kafka-topics'), pod('zookeeper'), 2181],
              [ext.kafkaController, pod('zookeeper'), 2181],
              [ext.otherPod, pod('zookeeper'), 2181],
            ] as [Endpoint, Endpoint, number][])
          : ([[fn('generate'), pod('kafka'), 9093]] as [Endpoint, Endpoint, number][])),
        // Kafka: not for the UIs, not from other namespaces at large, not from outside.
        [pod('kibana'), pod('kafka'), 9092],
        [pod('dashboard'), pod('kafka'), 9092],
        [pod('grafana'), pod('kafka'), 9092],
        [pod('prometheus'), pod('kafka'), 9092],
        [pod('elasticsearch-exporter'), pod('kafka'), 9092],
        [ext.otherPod, pod('kafka'), 9092],
        [ext.activator, pod('kafka'), 9092],
        [ext.pingAdapter, pod('kafka'), 9092],
        [ext.internet, pod('kafka'), 9092],
        // Elasticsearch: not for functions without it, nor anyone else.
        ...functions.filter((f) => !esFunctions.has(f.name)).map((f): [Endpoint, Endpoint, number] => [f, pod('elasticsearch'), 9200]),
        [ext.otherPod, pod('elasticsearch'), 9200],
        [ext.internet, pod('elasticsearch'), 9200],
        [pod('kafka-exporter'), pod('elasticsearch'), 9200],
        [pod('grafana'), pod('elasticsearch'), 9200],
        [pod('kafka-topics'), pod('elasticsearch'), 9200],
        [pod('kibana-setup'), pod('elasticsearch'), 9200],
        [pod('elasticsearch'), ext.internet, 443],
        // Functions reach Kafka and (some) Elasticsearch, nothing else.
        ...functions.flatMap((f): [Endpoint, Endpoint, number][] => [
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
        [pod('grafana'), ext.internet, 443],
        [pod('kibana'), ext.internet, 443],
        [pod('dashboard'), ext.internet, 443],
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
