/**
 * The single reader of the pipeline's topology. knative/ and keda/ (kustomize) are the
 * source of truth; this module renders them with `kubectl kustomize`, validates every
 * object against its schema, cross-checks the numbers that must agree with each other
 * and turns the manifests into typed values for the local runtime
 * (`make dev`) and the deploy tool. Nothing else parses those folders.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { CronExpressionParser } from 'cron-parser';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import * as coreV1 from 'kubernetes-models/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as knative from '@kubernetes-models/knative';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import kafkaSourceSchema from './schemas/kafkasource.v1.json' with { type: 'json' };
import kafkaSinkSchema from './schemas/kafkasink.v1alpha1.json' with { type: 'json' };
import { batchingConfig, elasticsearchConfig, kafkaConfig } from '../shared/config.ts';
import { parseGroupTopics } from '../shared/lag.ts';
import type { TopicSpec } from '../shared/topology.ts';
import { DELIVERY_FIELD_DEFAULTS, DELIVERY_WHEN_ABSENT, KPA_DEFAULTS, SERVING_DEFAULTS } from './scaling/defaults.ts';
import { type KpaOptions, kpaOptionsFrom } from './scaling/kpa.ts';
import { KEDA_CLASS, type ScaledObjectModel, autoscalerDefaultsFrom, scaledObjectFor } from './scaling/scaled-object.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const PIPELINE_NAMESPACE = 'big-data-pipeline';

// ---------------------------------------------------------------------------------------
// Objects and rendering

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface Problem {
  /** kind/name */
  object: string;
  message: string;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export function objectId(object: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return `${object.kind}/${object.metadata.name}`;
}

/** Renders one kustomization (a folder with kustomization.yaml) into its objects. */
export function render(dir: string): K8sObject[] {
  const kubectl = process.env['KUBECTL'] ?? 'kubectl';
  let output: string;
  try {
    output = execFileSync(kubectl, ['kustomize', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new ManifestError(`${kubectl} not found: install kubectl (≥ 1.27, with kustomize v5) or set KUBECTL`);
    throw new ManifestError(`${kubectl} kustomize ${dir} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
  return parseObjects(output, dir);
}

/** Multi-document YAML → objects; empty documents are skipped, anything else must look like a Kubernetes object. */
export function parseObjects(text: string, origin = 'input'): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new ManifestError(`${origin}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const name = dig(value, 'metadata', 'name');
    if (typeof dig(value, 'apiVersion') !== 'string' || typeof dig(value, 'kind') !== 'string' || typeof name !== 'string') {
      throw new ManifestError(`${origin}: a document without apiVersion, kind and metadata.name`);
    }
    objects.push(value as K8sObject);
  }
  return objects;
}

// ---------------------------------------------------------------------------------------
// Schema validation

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

/** Every model class the packages export (group and version namespaces included), keyed by apiVersion/kind. */
function modelsOf(...modules: object[]): Map<string, ModelClass> {
  const models = new Map<string, ModelClass>();
  const collect = (module: object, depth: number): void => {
    for (const value of Object.values(module)) {
      const statics = value as { apiVersion?: unknown; kind?: unknown } | null;
      if (typeof value === 'function' && typeof statics?.apiVersion === 'string' && typeof statics.kind === 'string') {
        models.set(`${statics.apiVersion}/${statics.kind}`, value as ModelClass);
      } else if (value !== null && typeof value === 'object' && depth < 3) {
        collect(value, depth + 1);
      }
    }
  };
  for (const module of modules) collect(module, 0);
  return models;
}

const models = modelsOf(
  coreV1,
  appsV1,
  autoscalingV2,
  batchV1,
  networkingV1,
  policyV1,
  rbacV1,
  knative,
  keda,
);

// @kubernetes-models/knative has no Eventing Kafka kinds: those use the project's schemas,
// which also reject unknown spec fields (the model schemas let them through).
// strictRequired off: the Destination's anyOf names required fields its parent defines.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const projectSchemas = new Map<string, ValidateFunction>([
  ['sources.knative.dev/v1/KafkaSource', ajv.compile(kafkaSourceSchema)],
  ['eventing.knative.dev/v1alpha1/KafkaSink', ajv.compile(kafkaSinkSchema)],
]);

/** The apiVersion/kind pairs validateObjects knows, and which schema each uses. */
export function knownKinds(): { kind: string; schema: 'project' | 'models' }[] {
  return [
    ...[...projectSchemas.keys()].map((kind) => ({ kind, schema: 'project' as const })),
    ...[...models.keys()].map((kind) => ({ kind, schema: 'models' as const })),
  ];
}

function describeError(error: Pick<ErrorObject, 'instancePath' | 'keyword' | 'params' | 'message'>): string {
  const path = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : '(object)';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${path} has unknown field "${String(params['additionalProperty'])}"`;
    case 'enum':
      return `${path} must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`;
    case 'const':
      return `${path} must be ${JSON.stringify(params['allowedValue'])}`;
    default:
      return `${path} ${error.message ?? 'is invalid'}`;
  }
}

/** Each object against its schema; an object of a kind no schema covers is a problem too. */
export function validateObjects(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    const id = objectId(object);
    const key = `${object.apiVersion}/${object.kind}`;
    const validate = projectSchemas.get(key);
    if (validate) {
      if (!validate(object)) for (const e of validate.errors ?? []) problems.push({ object: id, message: describeError(e) });
      continue;
    }
    const Model = models.get(key);
    if (!Model) {
      problems.push({ object: id, message: `unknown kind ${key}: no schema covers it` });
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      const errors = (error as { errors?: unknown }).errors;
      if (Array.isArray(errors) && errors.length > 0) {
        for (const e of errors as ErrorObject[]) problems.push({ object: id, message: describeError(e) });
      } else {
        problems.push({ object: id, message: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// Defaults and small readers

const KEDA_ANNOTATION = 'autoscaling.eventing.knative.dev/';
const KEDA_ANNOTATION_KEYS = ['class', 'min-scale', 'max-scale', 'polling-interval', 'cooldown-period', 'lag-threshold'];
const LEGACY_KEDA_PREFIX = 'keda.autoscaling.knative.dev/';

const ISO_DURATION = /^P(?=\d|T\d)(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * ISO-8601 duration → milliseconds, for the subset Knative delivery fields use: days, hours,
 * minutes, seconds, decimals allowed (PT0.2S, PT30S, PT1M, P1DT2H). Years and months have no
 * fixed length and are rejected.
 */
export function parseIsoDurationMs(text: string): number {
  const match = ISO_DURATION.exec(text);
  if (!match) throw new ManifestError(`"${text}" is not an ISO-8601 duration like PT0.2S, PT30S or PT1M`);
  const [d, h, m, s] = match.slice(1).map((part) => (part === undefined ? 0 : Number(part))) as [number, number, number, number];
  return Math.round((((d * 24 + h) * 60 + m) * 60 + s) * 1000);
}

/** The value at a path in parsed YAML/JSON, or undefined when any step is missing. */
export function dig(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function annotations(object: K8sObject): Record<string, string> {
  return object.metadata.annotations ?? {};
}

function templateAnnotations(object: K8sObject): Record<string, string> {
  return (asRecord(dig(object, 'spec', 'template', 'metadata', 'annotations')) ?? {}) as Record<string, string>;
}

function wholeNumber(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ManifestError(`${what} must be a whole number, got "${value}"`);
  return Number(value);
}

interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

function refAt(object: K8sObject, ...path: string[]): ObjectRef | undefined {
  const ref = asRecord(dig(object, ...path));
  if (!ref) return undefined;
  return {
    apiVersion: asString(ref['apiVersion']),
    kind: asString(ref['kind']),
    name: asString(ref['name']),
    namespace: asString(ref['namespace']),
  };
}

function resolve(objects: K8sObject[], owner: K8sObject, ref: ObjectRef): K8sObject | undefined {
  const namespace = ref.namespace ?? owner.metadata.namespace;
  return objects.find(
    (o) => o.apiVersion === ref.apiVersion && o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === namespace,
  );
}

function isKsvc(object: K8sObject): boolean {
  return object.apiVersion === 'serving.knative.dev/v1' && object.kind === 'Service';
}

function isKafkaSource(object: K8sObject): boolean {
  return object.apiVersion === 'sources.knative.dev/v1' && object.kind === 'KafkaSource';
}

function isPingSource(object: K8sObject): boolean {
  return object.apiVersion === 'sources.knative.dev/v1' && object.kind === 'PingSource';
}

function isKafkaSink(object: K8sObject): boolean {
  return object.apiVersion === 'eventing.knative.dev/v1alpha1' && object.kind === 'KafkaSink';
}

function containersOf(object: K8sObject): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const walk = (value: unknown): void => {
    const record = asRecord(value);
    if (!record) {
      if (Array.isArray(value)) value.forEach(walk);
      return;
    }
    for (const [key, child] of Object.entries(record)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(child)) {
        for (const c of child) if (asRecord(c)) found.push(c as Record<string, unknown>);
      } else {
        walk(child);
      }
    }
  };
  walk(object.spec);
  return found;
}

/** Literal env values of a container; secretKeyRef and other valueFrom entries are left out. */
function literalEnv(container: Record<string, unknown> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of (container?.['env'] as unknown[] | undefined) ?? []) {
    const name = asString(dig(entry, 'name'));
    const value = asString(dig(entry, 'value'));
    if (name !== undefined && value !== undefined) env[name] = value;
  }
  return env;
}

function kpaOf(id: string, templateAnnotations: Record<string, string>, containerConcurrency: number): ServiceSpec['kpa'] {
  try {
    return kpaOptionsFrom(templateAnnotations, {}, containerConcurrency);
  } catch (error) {
    throw new ManifestError(`${id}: ${(error as Error).message}`);
  }
}

/**
 * The longest a function holds a request, from its environment (shared/config.ts defaults
 * where unset): the queue timeout for a batch slot, then the store: an Elasticsearch bulk
 * and its item retries, and a Kafka produce (the notices of index, enrich's output).
 */
function worstCaseAnswerMs(env: Record<string, string>): { total: number; how: string } | undefined {
  // Only the batching functions hold requests for a store (BATCH_MAX_ITEMS set).
  if (env['BATCH_MAX_ITEMS'] === undefined) return undefined;
  const value = (key: string, schema: Record<string, unknown>) => Number(env[key] ?? (schema[key] as { default: number }).default);
  const parts: [string, number][] = [['QUEUE_TIMEOUT_MS', value('QUEUE_TIMEOUT_MS', batchingConfig)]];
  if (env['ELASTICSEARCH_URL'] !== undefined) {
    const retries = Number(env['ES_ITEM_RETRIES'] ?? 2);
    parts.push([`ELASTICSEARCH_TIMEOUT_MS × ${retries + 1}`, value('ELASTICSEARCH_TIMEOUT_MS', elasticsearchConfig) * (retries + 1)]);
  }
  if (env['KAFKA_BROKERS'] !== undefined) parts.push(['KAFKA_SEND_TIMEOUT_MS', value('KAFKA_SEND_TIMEOUT_MS', kafkaConfig)]);
  return { total: parts.reduce((sum, [, ms]) => sum + ms, 0), how: parts.map(([k, ms]) => `${k} ${ms / 1000} s`).join(' + ') };
}

const CRON_DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/**
 * A PingSource schedule the eventing webhook refuses (ping_validation.go: robfig cron with
 * optional seconds and descriptors, but not @every; the timezone an IANA zone).
 */
export function pingScheduleProblem(schedule: string, timezone: string | undefined): string | undefined {
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      return `timezone "${timezone}" is not a known IANA time zone`;
    }
  }
  const text = schedule.trim();
  if (text.startsWith('@')) return CRON_DESCRIPTORS.has(text) ? undefined : `schedule "${schedule}": unsupported descriptor (use 5 or 6 cron fields, or @hourly, @daily, @weekly, @monthly, @yearly)`;
  const fields = text.split(/\s+/).length;
  if (fields < 5 || fields > 6) return `schedule "${schedule}": expected 5 to 6 fields, found ${fields}`;
  try {
    CronExpressionParser.parse(text, { tz: 'UTC' });
  } catch (error) {
    return `schedule "${schedule}": ${(error as Error).message}`;
  }
  return undefined;
}

/** The data of a config-kafka-autoscaler ConfigMap among the objects (Knative's cluster defaults), if any. */
function autoscalerConfigOf(objects: K8sObject[]): Record<string, string> {
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'config-kafka-autoscaler');
  return Object.fromEntries(Object.entries(asRecord(config?.['data']) ?? {}).map(([k, v]) => [k, String(v)]));
}

// ---------------------------------------------------------------------------------------
// Typed topology

export interface ServiceSpec {
  name: string;
  image: string;
  /** Literal values only; secretKeyRef entries are omitted. */
  env: Record<string, string>;
  containerConcurrency: number;
  timeoutSeconds: number;
  /** maxScale 0 = no upper bound (Knative's meaning). */
  /** The KPA's settings from the template's autoscaling annotations (cli/scaling/kpa.ts kpaOptionsFrom). */
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
  /** config-kafka-features enables Knative Eventing Kafka's KEDA integration (keda/). */
  services: ServiceSpec[];
  kafkaSources: KafkaSourceSpec[];
  pingSources: PingSourceSpec[];
  kafkaSinks: KafkaSinkSpec[];
}

/** Renders knative/ under `root` and reads the topology from it. */
export function loadTopology(root: string = repoRoot): Topology {
  return topologyOf(render(join(root, 'knative')));
}

function ksvcSink(objects: K8sObject[], owner: K8sObject): string {
  const ref = refAt(owner, 'spec', 'sink', 'ref');
  const target = ref && resolve(objects, owner, ref);
  if (!target || !isKsvc(target)) {
    throw new ManifestError(`${objectId(owner)}: spec.sink.ref must name a Knative Service among the manifests`);
  }
  return target.metadata.name;
}

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

/** The topology of already rendered objects (knative/ plus keda/). */
export function topologyOf(objects: K8sObject[]): Topology {
  const namespaceObject = objects.find((o) => o.apiVersion === 'v1' && o.kind === 'Namespace');
  const namespace = namespaceObject?.metadata.name ?? objects.find(isKsvc)?.metadata.namespace ?? PIPELINE_NAMESPACE;
  const autoscalerConfig = autoscalerConfigOf(objects);

  const services = objects.filter(isKsvc).map((o): ServiceSpec => {
    const id = objectId(o);
    const a = templateAnnotations(o);
    const container = asRecord(dig(o, 'spec', 'template', 'spec', 'containers', 0));
    const image = asString(container?.['image']);
    if (!image) throw new ManifestError(`${id}: no container image`);
    const concurrency = dig(o, 'spec', 'template', 'spec', 'containerConcurrency');
    const timeout = dig(o, 'spec', 'template', 'spec', 'timeoutSeconds');
    return {
      name: o.metadata.name,
      image,
      env: literalEnv(container),
      containerConcurrency: typeof concurrency === 'number' ? concurrency : SERVING_DEFAULTS.containerConcurrency,
      timeoutSeconds: typeof timeout === 'number' ? timeout : SERVING_DEFAULTS.timeoutSeconds,
      kpa: kpaOf(id, a, typeof concurrency === 'number' ? concurrency : SERVING_DEFAULTS.containerConcurrency),
      visibility: o.metadata.labels?.['networking.knative.dev/visibility'] === 'cluster-local' ? 'cluster-local' : 'public',
    };
  });

  const kafkaSources = objects.filter(isKafkaSource).map((o): KafkaSourceSpec => {
    const id = objectId(o);
    const initialOffset = asString(dig(o, 'spec', 'initialOffset')) ?? 'latest';
    const ordering = asString(dig(o, 'spec', 'ordering')) ?? 'ordered';
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
      consumers: typeof consumers === 'number' ? consumers : 1,
      autoscaled: scaledObject !== undefined,
      scaling: {
        minScale: scaledObject?.minReplicaCount ?? 0,
        maxScale: scaledObject?.maxReplicaCount ?? 0,
        lagThreshold: scaledObject?.triggers[0]?.lagThreshold ?? 0,
        pollingIntervalS: scaledObject?.pollingIntervalS ?? 0,
        cooldownPeriodS: scaledObject?.cooldownPeriodS ?? 0,
      },
    };
  });

  const pingSources = objects.filter(isPingSource).map((o): PingSourceSpec => {
    const spec: PingSourceSpec = {
      name: o.metadata.name,
      schedule: asString(dig(o, 'spec', 'schedule')) ?? '* * * * *',
      sink: ksvcSink(objects, o),
    };
    const contentType = asString(dig(o, 'spec', 'contentType'));
    const data = asString(dig(o, 'spec', 'data'));
    if (contentType !== undefined) spec.contentType = contentType;
    if (data !== undefined) spec.data = data;
    return spec;
  });

  const kafkaSinks = objects.filter(isKafkaSink).map((o): KafkaSinkSpec => {
    const topic = asString(dig(o, 'spec', 'topic'));
    if (!topic) throw new ManifestError(`${objectId(o)}: no spec.topic`);
    return { name: o.metadata.name, topic };
  });

  return { namespace, services, kafkaSources, pingSources, kafkaSinks };
}

// ---------------------------------------------------------------------------------------
// Cross-checks: the numbers that only work together

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'PersistentVolume',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'ClusterTriggerAuthentication',
  'ClusterDomainClaim',
]);

/** An explicit tag other than latest, or a digest; undefined when the image is pinned. */
export function imagePinProblem(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  if (colon < 0) return `image "${image}" has no tag, so it floats on latest: pin a version or a digest`;
  if (lastSegment.slice(colon + 1) === 'latest') return `image "${image}" uses the tag latest: pin a version or a digest`;
  return undefined;
}

function durationOrProblem(object: K8sObject, field: string, problems: Problem[]): number | undefined {
  const text = asString(dig(object, 'spec', 'delivery', field));
  if (text === undefined) return undefined;
  try {
    return parseIsoDurationMs(text);
  } catch (error) {
    problems.push({ object: objectId(object), message: `delivery.${field}: ${(error as Error).message}` });
    return undefined;
  }
}

/**
 * Checks across objects that no schema can see. `topics` is the topic table
 * (shared/topology.ts pipelineTopics) the sources and sinks must match.
 */
export function crossCheck(objects: K8sObject[], topics: TopicSpec[]): Problem[] {
  const problems: Problem[] = [];
  const add = (object: K8sObject, message: string) => problems.push({ object: objectId(object), message });
  const partitionsOf = new Map(topics.map((t) => [t.name, t.partitions]));
  let defaults: ReturnType<typeof autoscalerDefaultsFrom>;
  try {
    defaults = autoscalerDefaultsFrom(autoscalerConfigOf(objects));
  } catch (error) {
    problems.push({ object: 'ConfigMap/config-kafka-autoscaler', message: (error as Error).message });
    defaults = autoscalerDefaultsFrom({});
  }

  for (const object of objects) {
    // Every sink and dead-letter sink names an object that is deployed with it.
    for (const [what, path] of [
      ['sink', ['spec', 'sink', 'ref']],
      ['deadLetterSink', ['spec', 'delivery', 'deadLetterSink', 'ref']],
      ['subscriber', ['spec', 'subscriber', 'ref']],
    ] as const) {
      const ref = refAt(object, ...path);
      if (ref && !resolve(objects, object, ref)) {
        add(object, `${what} → ${ref.kind ?? '?'} "${ref.name ?? '?'}" (${ref.apiVersion ?? '?'}) is not among the rendered objects`);
      }
    }

    // Namespaces: everything in ours, except Knative's own ConfigMaps that keda/ patches.
    const namespace = object.metadata.namespace;
    if (CLUSTER_SCOPED.has(object.kind)) {
      if (object.kind === 'Namespace' && object.metadata.name !== PIPELINE_NAMESPACE) add(object, `a namespace other than ${PIPELINE_NAMESPACE}`);
    } else if (namespace === undefined) {
      add(object, `has no namespace (expected ${PIPELINE_NAMESPACE})`);
    } else if (namespace !== PIPELINE_NAMESPACE && !(object.kind === 'ConfigMap' && namespace === 'knative-eventing')) {
      add(object, `is in namespace ${namespace}, not ${PIPELINE_NAMESPACE}`);
    }

    // Our labels on everything that is ours.
    if (namespace === PIPELINE_NAMESPACE || object.kind === 'Namespace') {
      const labels = object.metadata.labels ?? {};
      for (const key of ['app.kubernetes.io/name', 'app.kubernetes.io/component']) {
        if (!labels[key]) add(object, `has no label ${key}`);
      }
      if (labels['app.kubernetes.io/part-of'] !== PIPELINE_NAMESPACE) add(object, `label app.kubernetes.io/part-of is not ${PIPELINE_NAMESPACE}`);
    }

    for (const container of containersOf(object)) {
      const image = asString(container['image']);
      const problem = image === undefined ? 'a container without an image' : imagePinProblem(image);
      if (problem) add(object, problem);
    }

    // Only the built-in integration's annotations: the legacy controller's keys do nothing
    // there, and keda as a Serving class is rejected by the Serving webhook.
    for (const [where, map] of [
      ['metadata.annotations', annotations(object)],
      ['spec.template.metadata.annotations', templateAnnotations(object)],
    ] as const) {
      for (const [key, value] of Object.entries(map)) {
        if (key.startsWith(LEGACY_KEDA_PREFIX)) {
          add(object, `${where} ${key} is a legacy eventing-autoscaler-keda annotation, ignored by Knative Eventing Kafka's KEDA integration: use ${KEDA_ANNOTATION}*`);
        }
        if (key === 'autoscaling.knative.dev/class' && value === KEDA_CLASS) {
          add(object, `${where} ${key}: ${KEDA_CLASS} is the legacy KEDA class (the Serving webhook rejects it on a ksvc): use ${KEDA_ANNOTATION}* on the KafkaSource`);
        }
        if (isKafkaSource(object) && key.startsWith('autoscaling.knative.dev/') && key !== 'autoscaling.knative.dev/class') {
          add(object, `${where} ${key} is a legacy KafkaSource annotation: use ${KEDA_ANNOTATION}*`);
        }
      }
    }
  }

  const ksvcs = objects.filter(isKsvc);
  const kafkaSources = objects.filter(isKafkaSource);

  for (const source of kafkaSources) {
    const a = annotations(source);
    for (const key of Object.keys(a).filter((k) => k.startsWith(KEDA_ANNOTATION))) {
      const name = key.slice(KEDA_ANNOTATION.length);
      if (name === 'activation-lag-threshold') add(source, `${key} is accepted but not used since eventing-kafka-broker PR #3479; KEDA's activation threshold stays 0`);
      else if (!KEDA_ANNOTATION_KEYS.includes(name)) add(source, `${key} is not an annotation the KEDA integration knows (${KEDA_ANNOTATION_KEYS.join(', ')})`);
    }
    const numberOf = (name: string, fallback: number): number | undefined => {
      const value = a[KEDA_ANNOTATION + name];
      if (value === undefined) return fallback;
      if (/^\d+$/.test(value)) return Number(value);
      add(source, `${KEDA_ANNOTATION}${name} must be a whole number, got "${value}"`);
      return undefined;
    };
    const minScale = numberOf('min-scale', defaults.minScale);
    const maxScale = numberOf('max-scale', defaults.maxScale);
    const lagThreshold = numberOf('lag-threshold', defaults.lagThreshold);
    const pollingInterval = numberOf('polling-interval', defaults.pollingIntervalS);
    numberOf('cooldown-period', defaults.cooldownPeriodS);
    if (lagThreshold === 0) add(source, `${KEDA_ANNOTATION}lag-threshold must be above 0`);
    if (pollingInterval === 0) add(source, `${KEDA_ANNOTATION}polling-interval must be at least 1`);
    if (minScale !== undefined && maxScale !== undefined && minScale > maxScale) add(source, `min-scale ${minScale} is above max-scale ${maxScale}`);

    const sourceTopics = dig(source, 'spec', 'topics');
    for (const topic of Array.isArray(sourceTopics) ? sourceTopics.map(String) : []) {
      const partitions = partitionsOf.get(topic);
      if (partitions === undefined) {
        add(source, `topic "${topic}" is not in the topic table (shared/topology.ts)`);
        continue;
      }
      // Knative sets allowIdleConsumers on the trigger it generates, so KEDA itself would
      // not stop at the partition count: consumers beyond it would own no partition.
      // Only the source's own class annotation turns it off (keda.IsEnabled); the ConfigMap's does not.
      const klass = a[KEDA_ANNOTATION + 'class'];
      const scaledByKeda = klass === undefined || klass === '' || klass === KEDA_CLASS;
      if (scaledByKeda && maxScale !== undefined && maxScale > partitions) {
        add(source, `max-scale ${maxScale}${a[KEDA_ANNOTATION + 'max-scale'] === undefined ? ' (the default)' : ''} exceeds the ${partitions} partitions of topic "${topic}"`);
      }
    }
  }

  for (const sink of objects.filter(isKafkaSink)) {
    const topic = asString(dig(sink, 'spec', 'topic'));
    if (topic !== undefined && !partitionsOf.has(topic)) add(sink, `topic "${topic}" is not in the topic table (shared/topology.ts)`);
  }

  for (const ping of objects.filter(isPingSource)) {
    const schedule = asString(dig(ping, 'spec', 'schedule')) ?? '* * * * *';
    const problem = pingScheduleProblem(schedule, asString(dig(ping, 'spec', 'timezone')));
    if (problem) add(ping, problem);
    const data = asString(dig(ping, 'spec', 'data'));
    const dataBase64 = asString(dig(ping, 'spec', 'dataBase64'));
    if (data && dataBase64) add(ping, 'spec.data and spec.dataBase64 are exclusive: set one');
    if (data && asString(dig(ping, 'spec', 'contentType')) === 'application/json') {
      try {
        JSON.parse(data);
      } catch {
        add(ping, 'spec.data is not JSON although contentType is application/json');
      }
    }
  }

  for (const ksvc of ksvcs) {
    const spec = asRecord(dig(ksvc, 'spec', 'template', 'spec')) ?? {};
    const timeout = spec['timeoutSeconds'];
    if (typeof timeout === 'number' && (timeout < 0 || timeout > SERVING_DEFAULTS.maxRevisionTimeoutSeconds)) {
      add(ksvc, `timeoutSeconds ${timeout} is outside 0…${SERVING_DEFAULTS.maxRevisionTimeoutSeconds} (max-revision-timeout-seconds)`);
    }
    try {
      kpaOptionsFrom(templateAnnotations(ksvc), {}, typeof spec['containerConcurrency'] === 'number' ? spec['containerConcurrency'] : 0);
    } catch (error) {
      add(ksvc, `autoscaling: ${(error as Error).message}`);
    }
    const a = templateAnnotations(ksvc);

    const concurrency = spec['containerConcurrency'];
    if (concurrency !== undefined && concurrency !== 0) {
      add(ksvc, `containerConcurrency is ${String(concurrency)}: a hard per-pod limit queues requests that should have joined a batch (use 0)`);
    }

    // The dispatcher's per-attempt timeout must fire before the activator/queue-proxy's, and
    // a request the function holds must be answered before the dispatcher gives up on it.
    const env = literalEnv(asRecord(dig(ksvc, 'spec', 'template', 'spec', 'containers', 0)));
    const timeoutSeconds = typeof spec['timeoutSeconds'] === 'number' ? spec['timeoutSeconds'] : SERVING_DEFAULTS.timeoutSeconds;
    const holdMs = worstCaseAnswerMs(env);
    for (const source of kafkaSources) {
      const ref = refAt(source, 'spec', 'sink', 'ref');
      if (!ref || resolve(objects, source, ref) !== ksvc) continue;
      const hasDelivery = asRecord(dig(source, 'spec', 'delivery')) !== undefined;
      const deliveryTimeoutMs = hasDelivery ? (durationOrProblem(source, 'timeout', problems) ?? DELIVERY_FIELD_DEFAULTS.timeoutMs) : DELIVERY_WHEN_ABSENT.timeoutMs;
      if (timeoutSeconds * 1000 <= deliveryTimeoutMs) {
        add(ksvc, `timeoutSeconds ${timeoutSeconds} is not above the delivery timeout of ${objectId(source)} (${deliveryTimeoutMs / 1000} s)`);
      }
      if (holdMs && holdMs.total >= deliveryTimeoutMs) {
        add(ksvc, `a request can be held ${holdMs.total / 1000} s (${holdMs.how}), not less than the delivery timeout of ${objectId(source)} (${deliveryTimeoutMs / 1000} s): it would be retried while still being worked on`);
      }
    }

    // A batch only fills by count if KPA leaves at least that many requests in flight per pod.
    const batch = env['BATCH_MAX_ITEMS'];
    if (batch !== undefined) {
      const metric = a['autoscaling.knative.dev/metric'] ?? 'concurrency';
      const target = Number(a['autoscaling.knative.dev/target'] ?? KPA_DEFAULTS.target);
      const utilization = Number(a['autoscaling.knative.dev/target-utilization-percentage'] ?? KPA_DEFAULTS.targetUtilizationPercentage);
      const inFlight = (target * utilization) / 100;
      if (metric !== 'concurrency') add(ksvc, `autoscaling.knative.dev/metric is ${metric}: batching relies on concurrency-based KPA`);
      if (Number(batch) > inFlight) {
        add(ksvc, `BATCH_MAX_ITEMS ${batch} is above the ${inFlight} requests KPA keeps in flight per pod (target ${target} × ${utilization} %): batches would wait for the timer`);
      }
    }

    // window-aggregate's watermark reads the lag of exactly these groups.
    const upstream = env['UPSTREAM_CONSUMER_GROUPS'];
    if (upstream !== undefined) {
      let pairs: { group: string; topic: string }[] = [];
      try {
        pairs = parseGroupTopics(upstream);
      } catch (error) {
        add(ksvc, `UPSTREAM_CONSUMER_GROUPS: ${(error as Error).message}`);
      }
      for (const { group, topic } of pairs) {
        const match = kafkaSources.some((s) => dig(s, 'spec', 'consumerGroup') === group && (dig(s, 'spec', 'topics') as unknown[] | undefined)?.includes(topic));
        if (!match) add(ksvc, `UPSTREAM_CONSUMER_GROUPS names ${group}:${topic}, but no KafkaSource has that consumerGroup and topic`);
      }
    }
  }

  return problems;
}
