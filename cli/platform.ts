/**
 * Checks of the cluster platform in platform/ (kustomize) that no schema can see: workload
 * hardening (resources, non-root security contexts, probes, pinned images), the Secrets the
 * manifests expect the deploy tool to create, and a NetworkPolicy evaluator that answers
 * "may this pod reach that one on this port?" with Kubernetes semantics, so the policies can
 * be tested against the pipeline's real flows without a cluster.
 */
import { dig, imagePinProblem, objectId, type K8sObject, type Problem } from './manifests.ts';

// ---------------------------------------------------------------------------------------
// Small readers

type Json = Record<string, unknown>;

function asRecord(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}


function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(asRecord(value) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

// ---------------------------------------------------------------------------------------
// Secrets the deploy tool creates (never in the manifests: they would commit a value)

export interface SecretSpec {
  keys: string[];
  /** What the deploy tool puts there. */
  contents: string;
}

/**
 * Every Secret that platform/ and knative/ reference, with its keys. The deploy tool creates
 * each one before applying platform/ (random values, e.g. 32 alphanumeric characters) and
 * keeps existing values on later deploys; platform/README.md documents the same table.
 */
export const platformSecrets: Record<string, SecretSpec> = {
  'elasticsearch-superuser': {
    keys: ['password'],
    contents: 'password: the bootstrap password of the built-in superuser `elastic` (Elasticsearch reads it on first start; only the setup Jobs use it).',
  },
  'elasticsearch-credentials': {
    keys: ['username', 'password'],
    contents:
      'username: the pipeline user the elasticsearch-setup Job creates (e.g. `big-data-pipeline`), password: its password. Used by the functions, the web dashboard and the Elasticsearch exporter.',
  },
  'kibana-credentials': {
    keys: ['password', 'encryption-key'],
    contents: 'password: the password the elasticsearch-setup Job gives `kibana_system`; encryption-key: at least 32 characters for xpack.encryptedSavedObjects.encryptionKey.',
  },
  'grafana-admin': {
    keys: ['admin-user', 'admin-password'],
    contents: "admin-user (e.g. `admin`) and admin-password: Grafana's administrator.",
  },
};

// ---------------------------------------------------------------------------------------
// Pod templates

const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** The pod template of a workload object, or undefined for anything else. */
export function podTemplateOf(object: K8sObject): { labels: Record<string, string>; spec: Json } | undefined {
  const path = POD_TEMPLATE_PATHS[object.kind];
  if (!path) return undefined;
  const template = asRecord(dig(object, ...path));
  const spec = asRecord(template?.['spec']);
  if (!spec) return undefined;
  return { labels: stringMap(dig(template, 'metadata', 'labels')), spec };
}

function containersOf(spec: Json): { container: Json; init: boolean }[] {
  return [
    ...asArray(spec['initContainers']).flatMap((c) => (asRecord(c) ? [{ container: c as Json, init: true }] : [])),
    ...asArray(spec['containers']).flatMap((c) => (asRecord(c) ? [{ container: c as Json, init: false }] : [])),
  ];
}

/** All pod templates' containers of the rendered objects, with their object. */
export function workloadContainers(objects: K8sObject[]): { object: K8sObject; container: Json; init: boolean; podSpec: Json }[] {
  return objects.flatMap((object) => {
    const template = podTemplateOf(object);
    return template ? containersOf(template.spec).map((c) => ({ object, ...c, podSpec: template.spec })) : [];
  });
}

// ---------------------------------------------------------------------------------------
// Workload hardening

/**
 * Per container (init containers too): pinned image, cpu and memory requests and limits, a
 * non-root security context (runAsNonRoot and a numeric non-zero runAsUser at pod or
 * container level, allowPrivilegeEscalation false, all capabilities dropped, seccomp
 * RuntimeDefault, not privileged, read-only root filesystem); per pod: no service links
 * (a Service named kafka would leak KAFKA_* variables), fsGroup when it mounts volume
 * claims; readiness and liveness probes on long-running containers.
 */
export function workloadProblems(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    const id = objectId(object);
    const add = (message: string) => problems.push({ object: id, message });
    const pod = template.spec;
    const podSecurity = asRecord(pod['securityContext']) ?? {};

    if (pod['enableServiceLinks'] !== false) add('enableServiceLinks is not false: Service links put KAFKA_PORT and friends into the environment');
    const claims = asArray(dig(object, 'spec', 'volumeClaimTemplates')).length > 0 || asArray(pod['volumes']).some((v) => dig(v, 'persistentVolumeClaim') !== undefined);
    if (claims && typeof podSecurity['fsGroup'] !== 'number') add('mounts a volume claim but sets no numeric fsGroup');

    const longRunning = object.kind !== 'Job' && object.kind !== 'CronJob';
    for (const { container, init } of containersOf(pod)) {
      const name = `${init ? 'init container' : 'container'} ${String(container['name'])}`;
      const image = typeof container['image'] === 'string' ? container['image'] : undefined;
      const pin = image === undefined ? 'has no image' : imagePinProblem(image);
      if (pin) add(`${name}: ${pin}`);

      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (dig(container, 'resources', kind, resource) === undefined) add(`${name}: no ${resource} in resources.${kind}`);
        }
      }

      const security = asRecord(container['securityContext']) ?? {};
      const effective = (field: string): unknown => security[field] ?? podSecurity[field];
      if (effective('runAsNonRoot') !== true) add(`${name}: runAsNonRoot is not true (pod or container)`);
      const user = effective('runAsUser');
      if (typeof user !== 'number' || user === 0) add(`${name}: runAsUser is not a numeric non-root uid (pod or container)`);
      if (security['allowPrivilegeEscalation'] !== false) add(`${name}: allowPrivilegeEscalation is not false`);
      if (security['privileged'] === true) add(`${name}: privileged`);
      if (!asArray(dig(security, 'capabilities', 'drop')).includes('ALL')) add(`${name}: capabilities.drop does not include ALL`);
      if (asArray(dig(security, 'capabilities', 'add')).length > 0) add(`${name}: adds capabilities`);
      if (dig(effective('seccompProfile'), 'type') !== 'RuntimeDefault') add(`${name}: seccompProfile is not RuntimeDefault (pod or container)`);
      if (security['readOnlyRootFilesystem'] !== true) add(`${name}: readOnlyRootFilesystem is not true`);

      if (longRunning && !init) {
        for (const probe of ['readinessProbe', 'livenessProbe']) if (container[probe] === undefined) add(`${name}: no ${probe}`);
      }
    }
  }
  return problems;
}

/**
 * References that would fail at run time: volumeMounts of undeclared volumes, ConfigMap
 * volumes and configMapKeyRef/configMapRef of ConfigMaps not among the objects, secretKeyRef
 * of Secrets or keys not in `secrets`, and $(VAR) references in env values, command and
 * args that name no variable defined before them (Kubernetes leaves those as literal text).
 */
export function referenceProblems(objects: K8sObject[], secrets: Record<string, SecretSpec> = platformSecrets): Problem[] {
  const problems: Problem[] = [];
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, Object.keys(stringMap(o['data']))]));
  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    const add = (message: string) => problems.push({ object: objectId(object), message });
    const pod = template.spec;
    const volumes = new Set([
      ...asArray(pod['volumes']).map((v) => String(dig(v, 'name'))),
      ...asArray(dig(object, 'spec', 'volumeClaimTemplates')).map((v) => String(dig(v, 'metadata', 'name'))),
    ]);
    for (const volume of asArray(pod['volumes'])) {
      const configMap = dig(volume, 'configMap', 'name');
      if (typeof configMap === 'string' && !configMaps.has(configMap)) add(`volume ${String(dig(volume, 'name'))}: ConfigMap ${configMap} is not among the objects`);
      if (dig(volume, 'secret') !== undefined) add(`volume ${String(dig(volume, 'name'))}: Secret volumes are not expected; use secretKeyRef with a documented Secret`);
    }
    for (const { container } of containersOf(pod)) {
      const name = String(container['name']);
      for (const mount of asArray(container['volumeMounts'])) {
        const volume = String(dig(mount, 'name'));
        if (!volumes.has(volume)) add(`container ${name}: volumeMount of undeclared volume ${volume}`);
      }
      const defined = new Set<string>();
      for (const source of asArray(container['envFrom'])) {
        const ref = dig(source, 'configMapRef', 'name');
        if (typeof ref === 'string') {
          const keys = configMaps.get(ref);
          if (keys === undefined) add(`container ${name}: envFrom ConfigMap ${ref} is not among the objects`);
          for (const key of keys ?? []) defined.add(key);
        }
        if (dig(source, 'secretRef') !== undefined) add(`container ${name}: envFrom a Secret; use secretKeyRef with a documented Secret`);
      }
      // Upper-case names only: $(date) in a shell script is command substitution, which
      // Kubernetes leaves alone when no variable of that name exists.
      const unresolved = (text: string, where: string) => {
        for (const match of text.matchAll(/\$\(([A-Z_][A-Z0-9_]*)\)/g)) {
          if (!defined.has(match[1]!)) add(`container ${name}: ${where} refers to $(${match[1]!}), which is not defined before it`);
        }
      };
      for (const entry of asArray(container['env'])) {
        const envName = String(dig(entry, 'name'));
        const value = dig(entry, 'value');
        if (typeof value === 'string') unresolved(value, `env ${envName}`);
        const secret = asRecord(dig(entry, 'valueFrom', 'secretKeyRef'));
        if (secret) {
          const spec = secrets[String(secret['name'])];
          if (!spec) add(`container ${name}: env ${envName} reads Secret ${String(secret['name'])}, which is not in the documented Secrets`);
          else if (!spec.keys.includes(String(secret['key']))) add(`container ${name}: env ${envName} reads key ${String(secret['key'])}, which Secret ${String(secret['name'])} does not have`);
        }
        const configMapKey = asRecord(dig(entry, 'valueFrom', 'configMapKeyRef'));
        if (configMapKey) {
          const keys = configMaps.get(String(configMapKey['name']));
          if (keys === undefined) add(`container ${name}: env ${envName} reads ConfigMap ${String(configMapKey['name'])}, which is not among the objects`);
          else if (!keys.includes(String(configMapKey['key']))) add(`container ${name}: env ${envName} reads key ${String(configMapKey['key'])}, which ConfigMap ${String(configMapKey['name'])} does not have`);
        }
        defined.add(envName);
      }
      for (const field of ['command', 'args']) {
        asArray(container[field]).forEach((part, i) => {
          if (typeof part === 'string') unresolved(part, `${field}[${i}]`);
        });
      }
    }
  }
  return problems;
}

/** Secret names and keys the objects read through secretKeyRef. */
export function secretReferences(objects: K8sObject[]): { secret: string; key: string }[] {
  const found: { secret: string; key: string }[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    const record = asRecord(value);
    if (!record) return;
    const ref = asRecord(record['secretKeyRef']);
    if (ref && typeof ref['name'] === 'string' && typeof ref['key'] === 'string') found.push({ secret: ref['name'], key: ref['key'] });
    Object.values(record).forEach(walk);
  };
  objects.forEach(walk);
  return found;
}

// ---------------------------------------------------------------------------------------
// NetworkPolicy evaluation

/** A pod (namespace + labels) or a host outside the pod network (ip only). */
export interface Endpoint {
  /** For messages: e.g. "kafka", "knative-serving/activator", "internet". */
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** Named container ports, for policies that name a port. */
  ports?: Record<string, number>;
  /** Outside the pod network: matched by ipBlock peers and by rules without peers only. */
  ip?: string;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics; an empty selector matches everything. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`unknown label selector operator ${operator}`);
    }
  }
  return true;
}

function ipv4(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

/** IPv4 CIDR containment (the pipeline's policies use IPv4 only). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits = '32'] = cidr.split('/');
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base!) / size);
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

interface Rule {
  peers?: Peer[];
  ports?: PolicyPort[];
}

interface Policy {
  name: string;
  namespace: string;
  podSelector: LabelSelector;
  ingress?: Rule[];
  egress?: Rule[];
}

export interface Verdict {
  allowed: boolean;
  /** Why, in words: which side refused, or which policies allowed it. */
  reason: string;
}

export class NetworkPolicies {
  readonly #policies: Policy[];
  readonly #namespaceLabels: Record<string, Record<string, string>>;

  /**
   * `objects` may contain anything; only NetworkPolicies are used. `namespaceLabels` adds
   * labels beyond kubernetes.io/metadata.name, which every namespace has.
   */
  constructor(objects: K8sObject[], namespaceLabels: Record<string, Record<string, string>> = {}) {
    this.#namespaceLabels = namespaceLabels;
    this.#policies = objects
      .filter((o) => o.apiVersion === 'networking.k8s.io/v1' && o.kind === 'NetworkPolicy')
      .map((o): Policy => {
        const spec = asRecord(o['spec']) ?? {};
        const types = asArray(spec['policyTypes']).map(String);
        // Without policyTypes: Ingress always, Egress when there are egress rules.
        const ingress = types.length > 0 ? types.includes('Ingress') : true;
        const egress = types.length > 0 ? types.includes('Egress') : spec['egress'] !== undefined;
        const rules = (field: 'ingress' | 'egress', peersField: 'from' | 'to'): Rule[] =>
          asArray(spec[field]).map((rule) => {
            const r: Rule = {};
            const peers = dig(rule, peersField);
            if (Array.isArray(peers)) r.peers = peers as Peer[];
            const ports = dig(rule, 'ports');
            if (Array.isArray(ports)) r.ports = ports as PolicyPort[];
            return r;
          });
        const policy: Policy = {
          name: o.metadata.name,
          namespace: o.metadata.namespace ?? 'default',
          podSelector: (asRecord(spec['podSelector']) ?? {}) as LabelSelector,
        };
        if (ingress) policy.ingress = rules('ingress', 'from');
        if (egress) policy.egress = rules('egress', 'to');
        return policy;
      });
  }

  get names(): string[] {
    return this.#policies.map((p) => `${p.namespace}/${p.name}`);
  }

  #namespaceLabelsOf(namespace: string): Record<string, string> {
    return { 'kubernetes.io/metadata.name': namespace, ...this.#namespaceLabels[namespace] };
  }

  #selects(policy: Policy, endpoint: Endpoint): boolean {
    return endpoint.namespace === policy.namespace && selectorMatches(policy.podSelector, endpoint.labels ?? {});
  }

  #peerMatches(peer: Peer, policy: Policy, endpoint: Endpoint): boolean {
    if (peer.ipBlock) {
      // Pods are matched by selectors, hosts outside the pod network by ipBlock (whether an
      // ipBlock also matches pod IPs differs between CNIs, so the policies must not rely on it).
      if (endpoint.ip === undefined) return false;
      return cidrContains(peer.ipBlock.cidr, endpoint.ip) && !(peer.ipBlock.except ?? []).some((c) => cidrContains(c, endpoint.ip!));
    }
    if (endpoint.namespace === undefined) return false;
    if (peer.namespaceSelector) {
      if (!selectorMatches(peer.namespaceSelector, this.#namespaceLabelsOf(endpoint.namespace))) return false;
    } else if (endpoint.namespace !== policy.namespace) {
      return false;
    }
    return selectorMatches(peer.podSelector, endpoint.labels ?? {});
  }

  #portMatches(ports: PolicyPort[] | undefined, destination: Endpoint, port: number, protocol: string): boolean {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
      if ((p.protocol ?? 'TCP') !== protocol) return false;
      if (p.port === undefined) return true;
      if (typeof p.port === 'string') return destination.ports?.[p.port] === port;
      return p.endPort === undefined ? p.port === port : port >= p.port && port <= p.endPort;
    });
  }

  /**
   * Whether `subject` may send (egress, to `peer`) or receive (ingress, from `peer`) the flow
   * to `destination`'s port, and which of its policies allow it (none when no policy of
   * that direction selects it: then it is unrestricted).
   */
  #side(direction: 'ingress' | 'egress', subject: Endpoint, peer: Endpoint, destination: Endpoint, port: number, protocol: string): { ok: boolean; by: string[] } {
    const applicable = this.#policies.filter((p) => p[direction] !== undefined && this.#selects(p, subject));
    if (applicable.length === 0) return { ok: true, by: [] };
    const by = applicable
      .filter((p) =>
        p[direction]!.some(
          (rule) => (!rule.peers || rule.peers.length === 0 || rule.peers.some((peerRule) => this.#peerMatches(peerRule, p, peer))) && this.#portMatches(rule.ports, destination, port, protocol),
        ),
      )
      .map((p) => p.name);
    return { ok: by.length > 0, by };
  }

  /**
   * A flow is allowed iff the source's egress allows it and the destination's ingress allows
   * it. A pod no policy selects for a direction is unrestricted in that direction; hosts
   * outside the pod network have no policies.
   */
  check(from: Endpoint, to: Endpoint, port: number, protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP'): Verdict {
    const egress = from.namespace === undefined ? { ok: true, by: [] } : this.#side('egress', from, to, to, port, protocol);
    const ingress = to.namespace === undefined ? { ok: true, by: [] } : this.#side('ingress', to, from, to, port, protocol);
    const flow = `${from.name} → ${to.name}:${port}/${protocol}`;
    if (!egress.ok) return { allowed: false, reason: `${flow}: no egress rule of ${from.name}'s policies allows it` };
    if (!ingress.ok) return { allowed: false, reason: `${flow}: no ingress rule of ${to.name}'s policies allows it` };
    const by = [...egress.by.map((n) => `egress ${n}`), ...ingress.by.map((n) => `ingress ${n}`)];
    return { allowed: true, reason: `${flow}: ${by.length > 0 ? by.join(', ') : 'no policy restricts it'}` };
  }

  allowed(from: Endpoint, to: Endpoint, port: number, protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP'): boolean {
    return this.check(from, to, port, protocol).allowed;
  }

  /**
   * Selectors that select nothing among `endpoints` (a typo makes a policy silently
   * inert): each policy's podSelector, and each peer's selectors.
   */
  unmatchedSelectors(endpoints: Endpoint[]): string[] {
    const found: string[] = [];
    for (const policy of this.#policies) {
      if (!endpoints.some((e) => this.#selects(policy, e))) found.push(`${policy.name}: podSelector selects no pod`);
      for (const direction of ['ingress', 'egress'] as const) {
        (policy[direction] ?? []).forEach((rule, i) => {
          for (const peer of rule.peers ?? []) {
            if (peer.ipBlock) continue;
            if (!endpoints.some((e) => this.#peerMatches(peer, policy, e))) {
              found.push(`${policy.name}: ${direction}[${i}] peer ${JSON.stringify(peer)} matches no pod`);
            }
          }
        });
      }
    }
    return found;
  }
}

/** The pods the workloads among `objects` run (one per workload), from their templates. */
export function workloadPods(objects: K8sObject[]): Endpoint[] {
  return objects.flatMap((object) => {
    const template = podTemplateOf(object);
    if (!template) return [];
    const ports: Record<string, number> = {};
    for (const { container } of containersOf(template.spec)) {
      for (const p of asArray(container['ports'])) {
        const name = dig(p, 'name');
        const number = dig(p, 'containerPort');
        if (typeof name === 'string' && typeof number === 'number') ports[name] = number;
      }
    }
    const endpoint: Endpoint = { name: object.metadata.name, labels: template.labels, ports };
    if (object.metadata.namespace !== undefined) endpoint.namespace = object.metadata.namespace;
    return [endpoint];
  });
}

/**
 * The revision pods of the Knative Services among `objects`: the template's labels plus the
 * labels Knative adds (serving.knative.dev/service, …/configuration).
 */
export function knativeFunctionPods(objects: K8sObject[]): Endpoint[] {
  return objects
    .filter((o) => o.apiVersion === 'serving.knative.dev/v1' && o.kind === 'Service')
    .map((o) => {
      const endpoint: Endpoint = {
        name: o.metadata.name,
        labels: {
          ...stringMap(dig(o, 'spec', 'template', 'metadata', 'labels')),
          'serving.knative.dev/service': o.metadata.name,
          'serving.knative.dev/configuration': o.metadata.name,
        },
        ports: { 'user-port': 8080, 'queue-port': 8012, 'http-autometric': 9090 },
      };
      if (o.metadata.namespace !== undefined) endpoint.namespace = o.metadata.namespace;
      return endpoint;
    });
}

/**
 * The pods of other namespaces the pipeline talks to, with the labels their releases give
 * them (Knative Serving, Kourier, Eventing Kafka, KEDA, CoreDNS), plus a pod of an unrelated
 * namespace and hosts outside the pod network.
 */
export const externalEndpoints = {
  activator: { name: 'knative-serving/activator', namespace: 'knative-serving', labels: { app: 'activator', role: 'activator' } },
  autoscaler: { name: 'knative-serving/autoscaler', namespace: 'knative-serving', labels: { app: 'autoscaler' } },
  kourierGateway: { name: 'kourier-system/3scale-kourier-gateway', namespace: 'kourier-system', labels: { app: '3scale-kourier-gateway' } },
  sourceDispatcher: {
    name: 'knative-eventing/kafka-source-dispatcher',
    namespace: 'knative-eventing',
    labels: { app: 'kafka-source-dispatcher', 'app.kubernetes.io/component': 'kafka-dispatcher' },
  },
  kafkaController: { name: 'knative-eventing/kafka-controller', namespace: 'knative-eventing', labels: { app: 'kafka-controller', 'app.kubernetes.io/component': 'kafka-controller' } },
  sinkReceiver: { name: 'knative-eventing/kafka-sink-receiver', namespace: 'knative-eventing', labels: { app: 'kafka-sink-receiver' } },
  pingAdapter: { name: 'knative-eventing/pingsource-mt-adapter', namespace: 'knative-eventing', labels: { 'eventing.knative.dev/source': 'ping-source-controller', 'sources.knative.dev/role': 'adapter' } },
  kedaOperator: { name: 'keda/keda-operator', namespace: 'keda', labels: { app: 'keda-operator', name: 'keda-operator' } },
  kedaMetricsServer: { name: 'keda/keda-operator-metrics-apiserver', namespace: 'keda', labels: { app: 'keda-operator-metrics-apiserver' } },
  kubeDns: { name: 'kube-system/coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
  otherPod: { name: 'default/some-pod', namespace: 'default', labels: { app: 'some-pod' } },
  internet: { name: 'internet client', ip: '203.0.113.7' },
  node: { name: 'a node (NodePort)', ip: '172.18.0.2' },
  apiServer: { name: 'kube-apiserver', ip: '172.18.0.3' },
} satisfies Record<string, Endpoint>;

// ---------------------------------------------------------------------------------------
// The topic job

/** The TOPICS env of the kafka-topics Job ("name:partitions …"), as a table. */
export function topicJobTopics(objects: K8sObject[]): { name: string; partitions: number }[] {
  const job = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'kafka-topics');
  if (!job) throw new Error('no Job kafka-topics among the objects');
  const container = containersOf(podTemplateOf(job)!.spec).find((c) => !c.init)?.container;
  const value = asArray(container?.['env']).find((e) => dig(e, 'name') === 'TOPICS');
  const text = dig(value, 'value');
  if (typeof text !== 'string') throw new Error('Job kafka-topics has no literal TOPICS env');
  return text
    .trim()
    .split(/\s+/)
    .map((spec) => {
      const match = /^([A-Za-z0-9._-]+):(\d+)$/.exec(spec);
      if (!match) throw new Error(`TOPICS entry "${spec}" is not name:partitions`);
      return { name: match[1]!, partitions: Number(match[2]) };
    });
}
