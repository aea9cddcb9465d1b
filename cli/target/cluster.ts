/**
 * The pipeline `make deploy` put on a Kubernetes cluster, seen from this machine through the
 * Kubernetes API and `kubectl port-forward`s.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import { connect } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { brokersOf } from '../../shared/config.ts';
import { createKafka } from '../../shared/kafka.ts';
import { readGroupLag } from '../../shared/lag.ts';
import { KubeCluster } from '../deploy/kube.ts';
import { type PortForward, portForward } from '../deploy/port-forward.ts';
import { PIPELINE_NAMESPACE, type Topology, loadTopology } from '../manifests/index.ts';
import { type ElasticsearchEndpoint, type PipelineTarget, type SourceView, topicEndOf } from './pipeline-target.ts';

export interface ClusterTargetOptions {
  /** A kubeconfig file; else where kubectl looks. */
  kubeconfig?: string;
  /** The kube context; else the kubeconfig's current one. */
  context?: string;
  kubectl?: string;
  namespace?: string;
  /** The local ends of the port-forwards (generate: the proxy to Kourier). */
  ports: { kafka: number; elasticsearch: number; generate: number };
  /** generate's URL when it resolves from here (GENERATE_URL): no proxy then. */
  generateUrl?: string;
}

/** A Kubernetes quantity (as an HPA reports a metric) → number: 1500m, 12, 10k, 2Mi. */
export function parseQuantity(text: string): number {
  const match = /^([+-]?\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi)?$/.exec(text.trim());
  if (!match) return Number.NaN;
  const factor: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(match[1]) * (match[2] ? factor[match[2]]! : 1);
}

/** "host.namespace.svc.cluster.local:9092" or "http://host.namespace.svc…:9200" → the Service and port. */
export function serviceOf(address: string, fallbackPort: number): { service: string; port: number } {
  const hostPort = address.replace(/^[a-z]+:\/\//, '').split('/')[0]!.split(',')[0]!;
  const [host = '', port] = hostPort.split(':');
  return { service: host.split('.')[0]!, port: port ? Number(port) : fallbackPort };
}

type Live = { metadata?: { name?: string; uid?: string }; spec?: Record<string, unknown>; status?: Record<string, unknown> };

/**
 * The pipeline on a Kubernetes cluster, reached through `kubectl port-forward`s that start
 * on first use and end with the process:
 * - generateUrl(): a local HTTP proxy to Kourier that adds generate's Host header (load.ts
 *   posts to a plain URL). GENERATE_URL skips it when the ksvc URL resolves from here.
 * - kafka() / elasticsearch(): forwards to the kafka and elasticsearch Services named
 *   in knative/ (with the pipeline user's credentials from elasticsearch-credentials).
 * - sources(): lag from Kafka through the forward (KEDA's metric from the HPA when Kafka is
 *   out of reach), vreplicas and placements from the KafkaSource's ConsumerGroup (KEDA sets
 *   the replicas, the scheduler the placements), group members from Kafka,
 *   instances = ready pods of the Knative Service, delivered = committed offsets.
 */
export class ClusterTarget implements PipelineTarget {
  readonly name = 'cluster';
  readonly #kube: KubeCluster;
  readonly #namespace: string;
  readonly #forwards = new Map<string, PortForward>();
  #topology?: Topology;
  #admin?: Promise<Admin>;
  #proxy?: Server;
  #kafkaUrl?: string;
  #elasticsearch?: Promise<ElasticsearchEndpoint>;
  readonly #options: ClusterTargetOptions;

  constructor(options: ClusterTargetOptions) {
    const { kubeconfig, context, kubectl } = options;
    this.#kube = new KubeCluster({ ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}), ...(kubectl ? { kubectl } : {}) });
    this.#namespace = options.namespace ?? PIPELINE_NAMESPACE;
    this.#options = options;
    try {
      void this.#kube.kubeConfig;
    } catch (error) {
      throw new Error(`TARGET=cluster needs a cluster: ${(error as Error).message}`);
    }
  }

  #topo(): Topology {
    this.#topology ??= loadTopology();
    return this.#topology;
  }

  #env(name: string): string | undefined {
    return this.#topo().services.map((s) => s.env[name]).find((v) => v !== undefined);
  }

  #forward(key: string, namespace: string, target: string, remotePort: number, localPort: number): PortForward {
    let forward = this.#forwards.get(key);
    if (!forward) {
      forward = portForward({ kubectl: this.#options.kubectl, kubectlArgs: this.#kube.kubectlArgs, namespace, target, remotePort, localPort, unref: true });
      this.#forwards.set(key, forward);
    }
    return forward;
  }

  get kafkaBrokers(): string {
    if (!this.#kafkaUrl) {
      const { service, port } = serviceOf(this.#env('KAFKA_BROKERS') ?? 'kafka:9092', 9092);
      const local = this.#options.ports.kafka;
      this.#forward('kafka', this.#namespace, `svc/${service}`, port, local);
      this.#kafkaUrl = `127.0.0.1:${local}`;
    }
    return this.#kafkaUrl;
  }

  kafka(clientId: string, connectionTimeoutMs = 5000): Kafka {
    return createKafka({ brokers: brokersOf(this.kafkaBrokers), clientId, connectionTimeoutMs });
  }

  elasticsearch(): Promise<ElasticsearchEndpoint> {
    this.#elasticsearch ??= (async () => {
      const { service, port } = serviceOf(this.#env('ELASTICSEARCH_URL') ?? 'http://elasticsearch:9200', 9200);
      const local = this.#options.ports.elasticsearch;
      this.#forward('elasticsearch', this.#namespace, `svc/${service}`, port, local);
      return { url: `http://127.0.0.1:${local}`, ...(await this.#credentials()) };
    })();
    return this.#elasticsearch;
  }

  /** The pipeline user, from the Secret the deploy generated; none when it cannot be read. */
  async #credentials(): Promise<{ username: string; password: string } | undefined> {
    const data = await this.#kube.getSecret(this.#namespace, 'elasticsearch-credentials').catch(() => undefined);
    return data?.['username'] && data['password'] ? { username: data['username'], password: data['password'] } : undefined;
  }

  generateUrl(): string {
    if (this.#options.generateUrl) return this.#options.generateUrl;
    const port = this.#options.ports.generate;
    if (!this.#proxy) {
      const generate = this.#topo().services.find((s) => s.name === 'generate');
      if (!generate) throw new Error('knative/ has no generate service');
      // Kourier routes by Host: the ksvc URL's host (status.url), through its public or internal gateway.
      const upstream = (async () => {
        const ksvc = (await this.#objects().read({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'generate', namespace: this.#namespace } })) as Live;
        const url = typeof ksvc.status?.['url'] === 'string' ? (ksvc.status['url'] as string) : `http://generate.${this.#namespace}.svc.cluster.local`;
        const gateway = generate.visibility === 'cluster-local' ? 'svc/kourier-internal' : 'svc/kourier';
        const local = await this.#forward('kourier', 'kourier-system', gateway, 80, 0).ready;
        return { host: new URL(url).host, port: local };
      })();
      upstream.catch(() => undefined);
      this.#proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
        upstream.then(
          ({ host, port: local }) => {
            const proxied = request({ host: '127.0.0.1', port: local, method: req.method, path: req.url, headers: { ...req.headers, host } }, (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            });
            proxied.on('error', (error) => {
              res.writeHead(502, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ error: `Kourier port-forward: ${error.message}` }));
            });
            req.pipe(proxied);
          },
          (error: Error) => {
            res.writeHead(502, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: `cannot reach generate on the cluster: ${error.message}` }));
          },
        );
      });
      this.#proxy.listen(port, '127.0.0.1');
      this.#proxy.unref();
    }
    return `http://127.0.0.1:${port}`;
  }

  #objects(): k8s.KubernetesObjectApi {
    return k8s.KubernetesObjectApi.makeApiClient(this.#kube.kubeConfig);
  }

  /**
   * Kafka admin through the forward. Brokers advertise their in-cluster addresses, so every
   * connection is sent to the forward instead (right for the platform's single broker).
   */
  #kafkaAdmin(): Promise<Admin> {
    this.#admin ??= (async () => {
      const [, port] = this.kafkaBrokers.split(':');
      await this.#forwards.get('kafka')!.ready;
      const kafka = new Kafka({
        clientId: 'watch-cluster',
        brokers: [this.kafkaBrokers],
        connectionTimeout: 3000,
        retry: { retries: 1 },
        logLevel: logLevel.NOTHING,
        socketFactory: ({ onConnect }) => connect({ host: '127.0.0.1', port: Number(port) }, onConnect),
      });
      const admin = kafka.admin();
      await admin.connect();
      return admin;
    })();
    this.#admin.catch(() => (this.#admin = undefined));
    return this.#admin;
  }

  /** KEDA's view of the lag: the HPA's external metric (average per consumer) × consumers. */
  async #kedaLag(consumerGroup: string): Promise<number> {
    const api = this.#objects();
    const scaledObjects = await api.list<Live>('keda.sh/v1alpha1', 'ScaledObject', this.#namespace);
    const so = scaledObjects.items.find((o) => (o.spec?.['scaleTargetRef'] as { name?: string } | undefined)?.name === consumerGroup);
    if (!so) return 0; // no ScaledObject: KEDA is not scaling this source (or it is at rest)
    const hpaName = (so.status?.['hpaName'] as string | undefined) ?? `keda-hpa-${so.metadata?.name}`;
    const hpa = (await api.read({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: hpaName, namespace: this.#namespace } })) as Live;
    const metrics = (hpa.status?.['currentMetrics'] as { external?: { current?: { averageValue?: string; value?: string } } }[] | undefined) ?? [];
    const replicas = Math.max(1, Number(hpa.status?.['currentReplicas'] ?? 0));
    return metrics.reduce((sum, m) => {
      const current = m.external?.current;
      if (current?.value) return sum + parseQuantity(current.value);
      return sum + (current?.averageValue ? parseQuantity(current.averageValue) * replicas : 0);
    }, 0);
  }

  async sources(): Promise<SourceView[]> {
    const api = this.#objects();
    const core = this.#kube.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const admin = await this.#kafkaAdmin().catch(() => undefined);
    return Promise.all(
      this.#topo().kafkaSources.map(async (source): Promise<SourceView> => {
        const live = (await api
          .read({ apiVersion: 'sources.knative.dev/v1', kind: 'KafkaSource', metadata: { name: source.name, namespace: this.#namespace } })
          .catch(() => undefined)) as Live | undefined;
        // Knative names the source's ConsumerGroup after its UID; KEDA scales its spec.replicas.
        const uid = live?.metadata?.uid;
        const group = uid
          ? ((await api.read({ apiVersion: 'internal.kafka.eventing.knative.dev/v1alpha1', kind: 'ConsumerGroup', metadata: { name: uid, namespace: this.#namespace } }).catch(() => undefined)) as Live | undefined)
          : undefined;
        const vreplicas = Number(group?.spec?.['replicas'] ?? 0);
        const placements = group?.status?.['placements'];
        const pods = Array.isArray(placements) ? placements.length : 0;
        const functionPods = await core.listNamespacedPod({ namespace: this.#namespace, labelSelector: `serving.knative.dev/service=${source.sink}` });
        const instances = functionPods.items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
        let lag = Number.NaN;
        let delivered = Number.NaN;
        let members = Number.NaN;
        if (admin) {
          members = await admin
            .describeGroups([source.consumerGroup])
            .then(({ groups }) => groups[0]?.members.length ?? 0)
            .catch(() => Number.NaN);
          const lags = await Promise.all(source.topics.map((topic) => readGroupLag(admin, source.consumerGroup, topic, source.initialOffset))).catch(() => undefined);
          if (lags) {
            lag = lags.reduce((sum, l) => sum + l.total, 0);
            delivered = lags.reduce((sum, l) => sum + l.partitions.reduce((s, p) => s + Math.max(0, p.committed), 0), 0);
          }
        }
        if (Number.isNaN(lag) && uid) lag = await this.#kedaLag(uid).catch(() => Number.NaN);
        return {
          name: source.name,
          topic: source.topics.join(','),
          sink: source.sink,
          lag,
          vreplicas,
          maxVReplicas: source.scaling.maxScale,
          pods,
          members,
          instances,
          delivered,
          // Not counted per source on a cluster: the dispatcher exports no such metric by default.
          deadLettered: Number.NaN,
        };
      }),
    );
  }

  async topicEnd(topic: string): Promise<number> {
    return topicEndOf(await this.#kafkaAdmin(), topic);
  }

  /** Recent Kubernetes events of the namespace: HPA rescales, KEDA, revisions, pods. */
  async events(): Promise<string[]> {
    const core = this.#kube.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespacedEvent({ namespace: this.#namespace });
    const at = (e: k8s.CoreV1Event) => new Date(e.eventTime ?? e.lastTimestamp ?? e.firstTimestamp ?? 0).getTime();
    return list.items
      .sort((a, b) => at(a) - at(b))
      .slice(-30)
      .map((e) => `${new Date(at(e)).toISOString().slice(11, 19)} ${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason ?? ''}: ${(e.message ?? '').trim()}`);
  }
}
