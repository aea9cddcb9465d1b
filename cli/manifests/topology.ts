/**
 * The pipeline's topology as typed values, read from the rendered knative/ (plus keda/)
 * objects: the local runtime (`make dev`) and the deploy tool take it from here, with
 * Knative's defaults filled in where the manifests are silent.
 */
import { join } from 'node:path';
import { DELIVERY_FIELD_DEFAULTS, DELIVERY_WHEN_ABSENT, KAFKA_SOURCE_DEFAULTS, PING_SOURCE_DEFAULTS, SERVING_DEFAULTS } from '../scaling/defaults.ts';
import { type KpaOptions, kpaOptionsFrom } from '../scaling/kpa-options.ts';
import { type ScaledObjectModel, scaledObjectFor } from '../scaling/scaled-object.ts';
import { type K8sObject, ManifestError, PIPELINE_NAMESPACE, dig, objectId, render, repoRoot } from './objects.ts';
import {
  annotations,
  asRecord,
  asString,
  autoscalerConfigOf,
  isKafkaSink,
  isKafkaSource,
  isKsvc,
  isPingSource,
  literalEnv,
  parseIsoDurationMs,
  refAt,
  resolve,
  templateAnnotations,
} from './readers.ts';

export interface ServiceSpec {
  name: string;
  image: string;
  /** Literal values only; secretKeyRef entries are omitted. */
  env: Record<string, string>;
  containerConcurrency: number;
  timeoutSeconds: number;
  /**
   * The KPA's settings from the template's autoscaling annotations (cli/scaling/kpa-options.ts
   * kpaOptionsFrom); maxScale 0 = no upper bound (Knative's meaning).
   */
  kpa: KpaOptions & { target: number; minScale: number; maxScale: number };
  visibility: 'public' | 'cluster-local';
}

export interface DeliverySpec {
  retry: number;
  backoffPolicy: 'linear' | 'exponential';
  backoffDelayMs: number;
  timeoutMs: number;
  deadLetterSink?: { kind: 'KafkaSink'; name: string };
}

export interface KafkaSourceSpec {
  name: string;
  topics: string[];
  consumerGroup: string;
  initialOffset: 'earliest' | 'latest';
  ordering: 'ordered' | 'unordered';
  /** ksvc name */
  sink: string;
  delivery: DeliverySpec;
  /** spec.consumers: the vreplicas when the source is not autoscaled. */
  consumers: number;
  /** Whether Knative generates a KEDA ScaledObject for it (cli/scaling/scaled-object.ts). */
  autoscaled: boolean;
  /** The ScaledObject's numbers (zeros when not autoscaled). */
  scaling: { minScale: number; maxScale: number; lagThreshold: number; pollingIntervalS: number; cooldownPeriodS: number };
}

export interface PingSourceSpec {
  name: string;
  schedule: string;
  contentType?: string;
  data?: string;
  /** ksvc name */
  sink: string;
}

export interface KafkaSinkSpec {
  name: string;
  topic: string;
}

export interface Topology {
  namespace: string;
  services: ServiceSpec[];
  kafkaSources: KafkaSourceSpec[];
  pingSources: PingSourceSpec[];
  kafkaSinks: KafkaSinkSpec[];
}

/** Renders knative/ under `root` and reads the topology from it. */
export function loadTopology(root: string = repoRoot): Topology {
  return topologyOf(render(join(root, 'knative')));
}

/** The topology of already rendered objects (knative/ plus keda/). */
export function topologyOf(objects: K8sObject[]): Topology {
  const namespaceObject = objects.find((o) => o.apiVersion === 'v1' && o.kind === 'Namespace');
  const namespace = namespaceObject?.metadata.name ?? objects.find(isKsvc)?.metadata.namespace ?? PIPELINE_NAMESPACE;
  const autoscalerConfig = autoscalerConfigOf(objects);
  return {
    namespace,
    services: objects.filter(isKsvc).map(serviceSpecOf),
    kafkaSources: objects.filter(isKafkaSource).map((o) => kafkaSourceSpecOf(o, objects, namespace, autoscalerConfig)),
    pingSources: objects.filter(isPingSource).map((o) => pingSourceSpecOf(o, objects)),
    kafkaSinks: objects.filter(isKafkaSink).map(kafkaSinkSpecOf),
  };
}

function serviceSpecOf(o: K8sObject): ServiceSpec {
  const id = objectId(o);
  const container = asRecord(dig(o, 'spec', 'template', 'spec', 'containers', 0));
  const image = asString(container?.['image']);
  if (!image) throw new ManifestError(`${id}: no container image`);
  const concurrency = dig(o, 'spec', 'template', 'spec', 'containerConcurrency');
  const timeout = dig(o, 'spec', 'template', 'spec', 'timeoutSeconds');
  const containerConcurrency = typeof concurrency === 'number' ? concurrency : SERVING_DEFAULTS.containerConcurrency;
  let kpa: ServiceSpec['kpa'];
  try {
    kpa = kpaOptionsFrom(templateAnnotations(o), {}, containerConcurrency);
  } catch (error) {
    throw new ManifestError(`${id}: ${(error as Error).message}`);
  }
  return {
    name: o.metadata.name,
    image,
    env: literalEnv(container),
    containerConcurrency,
    timeoutSeconds: typeof timeout === 'number' ? timeout : SERVING_DEFAULTS.timeoutSeconds,
    kpa,
    visibility: o.metadata.labels?.['networking.knative.dev/visibility'] === 'cluster-local' ? 'cluster-local' : 'public',
  };
}

function kafkaSourceSpecOf(o: K8sObject, objects: K8sObject[], namespace: string, autoscalerConfig: Record<string, string>): KafkaSourceSpec {
  const id = objectId(o);
  const initialOffset = asString(dig(o, 'spec', 'initialOffset')) ?? KAFKA_SOURCE_DEFAULTS.initialOffset;
  const ordering = asString(dig(o, 'spec', 'ordering')) ?? KAFKA_SOURCE_DEFAULTS.ordering;
  if (initialOffset !== 'earliest' && initialOffset !== 'latest') throw new ManifestError(`${id}: initialOffset "${initialOffset}"`);
  if (ordering !== 'ordered' && ordering !== 'unordered') throw new ManifestError(`${id}: ordering "${ordering}"`);
  const topics = dig(o, 'spec', 'topics');
  const bootstrapServers = dig(o, 'spec', 'bootstrapServers');
  // Knative would generate knative-kafka-source-<uuid>; a stable stand-in keeps local runs repeatable.
  const consumerGroup = asString(dig(o, 'spec', 'consumerGroup')) ?? `knative-kafka-source-${namespace}-${o.metadata.name}`;
  const input = {
    annotations: annotations(o),
    topics: Array.isArray(topics) ? topics.map(String) : [],
    bootstrapServers: Array.isArray(bootstrapServers) ? bootstrapServers.map(String) : [],
    consumerGroup,
  };
  let scaledObject: ScaledObjectModel | undefined;
  try {
    // The emulation runs with placements, when Knative sets allowIdleConsumers.
    scaledObject = scaledObjectFor(input, autoscalerConfig, { hasPlacements: true });
  } catch (error) {
    throw new ManifestError(`${id}: ${(error as Error).message}`);
  }
  const consumers = dig(o, 'spec', 'consumers');
  return {
    name: o.metadata.name,
    topics: input.topics,
    consumerGroup,
    initialOffset,
    ordering,
    sink: ksvcSink(objects, o),
    delivery: deliveryOf(o),
    // Not autoscaled (class annotation not KEDA's): spec.consumers vreplicas, as the source reconciler sets them.
    consumers: typeof consumers === 'number' ? consumers : KAFKA_SOURCE_DEFAULTS.consumers,
    autoscaled: scaledObject !== undefined,
    scaling: {
      minScale: scaledObject?.minReplicaCount ?? 0,
      maxScale: scaledObject?.maxReplicaCount ?? 0,
      lagThreshold: scaledObject?.triggers[0]?.lagThreshold ?? 0,
      pollingIntervalS: scaledObject?.pollingIntervalS ?? 0,
      cooldownPeriodS: scaledObject?.cooldownPeriodS ?? 0,
    },
  };
}

function pingSourceSpecOf(o: K8sObject, objects: K8sObject[]): PingSourceSpec {
  const spec: PingSourceSpec = {
    name: o.metadata.name,
    schedule: asString(dig(o, 'spec', 'schedule')) ?? PING_SOURCE_DEFAULTS.schedule,
    sink: ksvcSink(objects, o),
  };
  const contentType = asString(dig(o, 'spec', 'contentType'));
  const data = asString(dig(o, 'spec', 'data'));
  if (contentType !== undefined) spec.contentType = contentType;
  if (data !== undefined) spec.data = data;
  return spec;
}

function kafkaSinkSpecOf(o: K8sObject): KafkaSinkSpec {
  const topic = asString(dig(o, 'spec', 'topic'));
  if (!topic) throw new ManifestError(`${objectId(o)}: no spec.topic`);
  return { name: o.metadata.name, topic };
}

function ksvcSink(objects: K8sObject[], owner: K8sObject): string {
  const ref = refAt(owner, 'spec', 'sink', 'ref');
  const target = ref && resolve(objects, owner, ref);
  if (!target || !isKsvc(target)) {
    throw new ManifestError(`${objectId(owner)}: spec.sink.ref must name a Knative Service among the manifests`);
  }
  return target.metadata.name;
}

/** The delivery a source uses: the reconciler's defaults without a block, the block as written (unset fields at their own defaults) with one. */
function deliveryOf(object: K8sObject): DeliverySpec {
  const delivery = asRecord(dig(object, 'spec', 'delivery'));
  if (!delivery) return { ...DELIVERY_WHEN_ABSENT };
  const id = objectId(object);
  const d = DELIVERY_FIELD_DEFAULTS;
  const policy = delivery['backoffPolicy'] ?? d.backoffPolicy;
  if (policy !== 'linear' && policy !== 'exponential') throw new ManifestError(`${id}: delivery.backoffPolicy "${String(policy)}"`);
  const duration = (field: string, fallback: number): number => {
    const text = asString(delivery[field]);
    if (text === undefined) return fallback;
    try {
      return parseIsoDurationMs(text);
    } catch (error) {
      throw new ManifestError(`${id}: delivery.${field}: ${(error as Error).message}`);
    }
  };
  const spec: DeliverySpec = {
    retry: typeof delivery['retry'] === 'number' ? delivery['retry'] : d.retry,
    backoffPolicy: policy,
    backoffDelayMs: duration('backoffDelay', d.backoffDelayMs),
    timeoutMs: duration('timeout', d.timeoutMs),
  };
  const dls = refAt(object, 'spec', 'delivery', 'deadLetterSink', 'ref');
  if (dls) {
    if (dls.kind !== 'KafkaSink' || !dls.name) throw new ManifestError(`${id}: only a KafkaSink is supported as deadLetterSink`);
    spec.deadLetterSink = { kind: 'KafkaSink', name: dls.name };
  }
  return spec;
}
