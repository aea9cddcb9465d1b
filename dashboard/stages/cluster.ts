/**
 * Stages on a cluster: scaling from the Kubernetes API (Knative Services, KafkaSources and
 * the ConsumerGroups KEDA scales), rates, lag and consumers from Prometheus (the functions'
 * counters, kafka-exporter). In the pod the API is reached with its service account
 * (platform/dashboard: a Role that may only read these three kinds).
 */
import * as k8s from '@kubernetes/client-node';
import { type StageHealth, type StageReader, type StagesReport, known } from './types.ts';
import { Prometheus, byLabel } from './prometheus.ts';

type Live = { metadata?: { name?: string; uid?: string; annotations?: Record<string, string> }; spec?: Record<string, unknown>; status?: Record<string, unknown> };

export interface SourceInfo {
  name: string;
  sink: string;
  topics: string[];
  consumerGroup: string;
  maxScale: number | null;
  /** From its ConsumerGroup: spec.replicas (KEDA) and status.placements (the scheduler); null when unread. */
  vreplicas: number | null;
  placements: number | null;
}

/** What a KafkaSource and the ConsumerGroup Knative made for it (named after the source's UID) say of its scaling. */
export function sourceInfoOf(source: Live, group: Live | undefined): SourceInfo {
  const spec = source.spec ?? {};
  const sink = (spec['sink'] as { ref?: { name?: string } } | undefined)?.ref?.name ?? '';
  const maxScale = Number(source.metadata?.annotations?.['autoscaling.eventing.knative.dev/max-scale']);
  const placements = group?.status?.['placements'];
  return {
    name: source.metadata?.name ?? '',
    sink,
    topics: Array.isArray(spec['topics']) ? (spec['topics'] as string[]) : [],
    consumerGroup: typeof spec['consumerGroup'] === 'string' ? spec['consumerGroup'] : '',
    maxScale: known(maxScale),
    vreplicas: group ? Number(group.spec?.['replicas'] ?? 0) : null,
    placements: group ? (Array.isArray(placements) ? placements.length : 0) : null,
  };
}

/** Prometheus's answers; a query that failed is undefined, and everything it would give is unknown. */
export interface ClusterMetrics {
  lag?: Map<string, number>;
  consumers?: Map<string, number>;
  instances?: Map<string, number>;
  inRate?: Map<string, number>;
  outRate?: Map<string, number>;
  rejected?: Map<string, number>;
}

/** Each query, and the label its answer is keyed by (its `by` clause). */
export const CLUSTER_QUERIES: Record<keyof ClusterMetrics, { promql: string; by: string }> = {
  lag: { promql: 'sum by (consumergroup) (kafka_consumergroup_lag_sum)', by: 'consumergroup' },
  consumers: { promql: 'max by (consumergroup) (kafka_consumergroup_members)', by: 'consumergroup' },
  instances: { promql: 'count by (knative_service) (up{job="pipeline-functions"} == 1)', by: 'knative_service' },
  inRate: { promql: 'sum by (function) (rate(pipeline_events_in_total[1m]))', by: 'function' },
  outRate: { promql: 'sum by (function) (rate(pipeline_events_out_total[1m]))', by: 'function' },
  // A 400 is never retried: the dispatcher sends the event to the dead-letter sink.
  rejected: { promql: 'sum by (function) (increase(pipeline_events_in_total{outcome="bad_request"}[1h]))', by: 'function' },
};

export function stagesOfCluster(functions: string[], sources: SourceInfo[], m: ClusterMetrics): StageHealth[] {
  // Per function, a series exists only while it has pods: a successful query without one means none (0).
  const perFunction = (values: Map<string, number> | undefined, name: string) => (values ? (values.get(name) ?? 0) : null);
  // Per consumer group, a missing series means kafka-exporter does not know the group: unknown.
  const perGroup = (values: Map<string, number> | undefined, group: string | undefined) => (values && group ? known(values.get(group)) : null);
  const names = [...new Set([...functions, ...sources.map((s) => s.sink)])].sort();
  return names.map((name) => {
    const source = sources.find((s) => s.sink === name);
    return {
      function: name,
      source: source?.name ?? null,
      topic: source ? source.topics.join(',') : null,
      lag: perGroup(m.lag, source?.consumerGroup),
      vreplicas: source?.vreplicas ?? null,
      maxVReplicas: source?.maxScale ?? null,
      dispatcherPods: source?.placements ?? null,
      consumers: perGroup(m.consumers, source?.consumerGroup),
      instances: perFunction(m.instances, name),
      inPerSecond: perFunction(m.inRate, name),
      outPerSecond: perFunction(m.outRate, name),
      deadLetters: source ? (m.rejected ? Math.round(m.rejected.get(name) ?? 0) : null) : null,
    };
  });
}

export interface ClusterStagesOptions {
  prometheusUrl: string;
  namespace: string;
  timeoutMs: number;
  /** Where the Kubernetes API is; default: the pod's own service account (in-cluster). */
  kubeConfig?: k8s.KubeConfig;
}

export class ClusterStages implements StageReader {
  readonly #prometheus: Prometheus;
  readonly #kube: k8s.KubeConfig;

  constructor(private readonly options: ClusterStagesOptions) {
    this.#prometheus = new Prometheus(options.prometheusUrl, options.timeoutMs);
    this.#kube = options.kubeConfig ?? inCluster();
  }

  async read(): Promise<StagesReport> {
    const errors: string[] = [];
    const metrics: ClusterMetrics = {};
    const queries = Object.entries(CLUSTER_QUERIES).map(async ([key, { promql, by }]) => {
      try {
        metrics[key as keyof ClusterMetrics] = byLabel(await this.#prometheus.query(promql), by);
      } catch (error) {
        errors.push(`Prometheus: ${(error as Error).message}`);
      }
    });
    const [objects] = await Promise.all([this.#objects().catch((error: Error) => (errors.push(`Kubernetes API: ${error.message}`), undefined)), ...queries]);
    return {
      origin: 'Prometheus + Kubernetes API',
      at: new Date().toISOString(),
      stages: stagesOfCluster(objects?.functions ?? [], objects?.sources ?? [], metrics),
      deadLetterNote: 'events the function answered 400 in the last hour (never retried: each one is dead-lettered)',
      ...(errors.length > 0 ? { error: [...new Set(errors)].join('; ') } : {}),
    };
  }

  async #objects(): Promise<{ functions: string[]; sources: SourceInfo[] }> {
    const api = k8s.KubernetesObjectApi.makeApiClient(this.#kube);
    const { namespace } = this.options;
    const [services, sources] = await Promise.all([api.list<Live>('serving.knative.dev/v1', 'Service', namespace), api.list<Live>('sources.knative.dev/v1', 'KafkaSource', namespace)]);
    const infos = await Promise.all(
      sources.items.map(async (source) => {
        const uid = source.metadata?.uid;
        const group = uid
          ? ((await api.read({ apiVersion: 'internal.kafka.eventing.knative.dev/v1alpha1', kind: 'ConsumerGroup', metadata: { name: uid, namespace } }).catch(() => undefined)) as Live | undefined)
          : undefined;
        return sourceInfoOf(source, group);
      }),
    );
    return { functions: services.items.map((s) => s.metadata?.name ?? '').filter(Boolean), sources: infos };
  }
}

function inCluster(): k8s.KubeConfig {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromCluster();
  return kubeConfig;
}
