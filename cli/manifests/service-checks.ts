/**
 * Cross-checks of a Knative Service against what sends to it and what it reads: its
 * timeouts against the delivery timeout of the KafkaSources that sink into it, its batch
 * size against the requests the KPA keeps in flight per pod, and window-aggregate's
 * UPSTREAM_CONSUMER_GROUPS against the sources.
 */
import { batchingConfig, bulkRetryConfig, elasticsearchConfig, kafkaConfig } from '../../shared/config.ts';
import { parseGroupTopics } from '../../shared/lag.ts';
import { DELIVERY_FIELD_DEFAULTS, DELIVERY_WHEN_ABSENT, KPA_DEFAULTS, SERVING_DEFAULTS } from '../scaling/defaults.ts';
import { type KpaOptions, kpaOptionsFrom } from '../scaling/kpa-options.ts';
import { type K8sObject, type Report, dig, objectId } from './objects.ts';
import { asRecord, asString, literalEnv, parseIsoDurationMs, refAt, resolve, templateAnnotations } from './readers.ts';

export function serviceProblems(ksvc: K8sObject, objects: K8sObject[], kafkaSources: K8sObject[], add: Report): void {
  const spec = asRecord(dig(ksvc, 'spec', 'template', 'spec')) ?? {};
  const timeout = spec['timeoutSeconds'];
  if (typeof timeout === 'number' && (timeout < 0 || timeout > SERVING_DEFAULTS.maxRevisionTimeoutSeconds)) {
    add(ksvc, `timeoutSeconds ${timeout} is outside 0…${SERVING_DEFAULTS.maxRevisionTimeoutSeconds} (max-revision-timeout-seconds)`);
  }
  let kpa: KpaOptions & { target: number } | undefined;
  try {
    kpa = kpaOptionsFrom(templateAnnotations(ksvc), {}, typeof spec['containerConcurrency'] === 'number' ? spec['containerConcurrency'] : 0);
  } catch (error) {
    add(ksvc, `autoscaling: ${(error as Error).message}`);
  }

  const concurrency = spec['containerConcurrency'];
  if (concurrency !== undefined && concurrency !== 0) {
    add(ksvc, `containerConcurrency is ${String(concurrency)}: a hard per-pod limit queues requests that should have joined a batch (use 0)`);
  }

  const env = literalEnv(asRecord(dig(ksvc, 'spec', 'template', 'spec', 'containers', 0)));
  const timeoutSeconds = typeof timeout === 'number' ? timeout : SERVING_DEFAULTS.timeoutSeconds;
  timeoutProblems(ksvc, timeoutSeconds, env, objects, kafkaSources, add);
  batchProblems(ksvc, env, kpa, add);
  upstreamGroupProblems(ksvc, env, kafkaSources, add);
}

/**
 * The dispatcher's per-attempt timeout must fire before the activator/queue-proxy's, and
 * a request the function holds must be answered before the dispatcher gives up on it.
 */
function timeoutProblems(ksvc: K8sObject, timeoutSeconds: number, env: Record<string, string>, objects: K8sObject[], kafkaSources: K8sObject[], add: Report): void {
  const holdMs = worstCaseAnswerMs(env);
  for (const source of kafkaSources) {
    const ref = refAt(source, 'spec', 'sink', 'ref');
    if (!ref || resolve(objects, source, ref) !== ksvc) continue;
    const deliveryTimeoutMs = deliveryTimeoutOf(source, add);
    if (timeoutSeconds * 1000 <= deliveryTimeoutMs) {
      add(ksvc, `timeoutSeconds ${timeoutSeconds} is not above the delivery timeout of ${objectId(source)} (${deliveryTimeoutMs / 1000} s)`);
    }
    if (holdMs && holdMs.total >= deliveryTimeoutMs) {
      add(ksvc, `a request can be held ${holdMs.total / 1000} s (${holdMs.how}), not less than the delivery timeout of ${objectId(source)} (${deliveryTimeoutMs / 1000} s): it would be retried while still being worked on`);
    }
  }
}

/** The source's per-attempt delivery timeout; a malformed one is reported and the default used. */
function deliveryTimeoutOf(source: K8sObject, add: Report): number {
  if (asRecord(dig(source, 'spec', 'delivery')) === undefined) return DELIVERY_WHEN_ABSENT.timeoutMs;
  const text = asString(dig(source, 'spec', 'delivery', 'timeout'));
  if (text === undefined) return DELIVERY_FIELD_DEFAULTS.timeoutMs;
  try {
    return parseIsoDurationMs(text);
  } catch (error) {
    add(source, `delivery.timeout: ${(error as Error).message}`);
    return DELIVERY_FIELD_DEFAULTS.timeoutMs;
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
    const retries = value('ES_ITEM_RETRIES', bulkRetryConfig);
    parts.push([`ELASTICSEARCH_TIMEOUT_MS × ${retries + 1}`, value('ELASTICSEARCH_TIMEOUT_MS', elasticsearchConfig) * (retries + 1)]);
  }
  if (env['KAFKA_BROKERS'] !== undefined) parts.push(['KAFKA_SEND_TIMEOUT_MS', value('KAFKA_SEND_TIMEOUT_MS', kafkaConfig)]);
  return { total: parts.reduce((sum, [, ms]) => sum + ms, 0), how: parts.map(([k, ms]) => `${k} ${ms / 1000} s`).join(' + ') };
}

/** A batch only fills by count if the KPA leaves at least that many requests in flight per pod. */
function batchProblems(ksvc: K8sObject, env: Record<string, string>, kpa: (KpaOptions & { target: number }) | undefined, add: Report): void {
  const batch = env['BATCH_MAX_ITEMS'];
  if (batch === undefined) return;
  const metric = templateAnnotations(ksvc)['autoscaling.knative.dev/metric'] ?? 'concurrency';
  if (metric !== 'concurrency') add(ksvc, `autoscaling.knative.dev/metric is ${metric}: batching relies on concurrency-based KPA`);
  // Settings the KPA refuses are reported above; there is no in-flight figure to compare.
  if (!kpa) return;
  const utilization = kpa.targetUtilizationPercentage ?? KPA_DEFAULTS.targetUtilizationPercentage;
  const inFlight = (kpa.target * utilization) / 100;
  if (Number(batch) > inFlight) {
    add(ksvc, `BATCH_MAX_ITEMS ${batch} is above the ${inFlight} requests KPA keeps in flight per pod (target ${kpa.target} × ${utilization} %): batches would wait for the timer`);
  }
}

/** window-aggregate's watermark reads the lag of exactly these groups. */
function upstreamGroupProblems(ksvc: K8sObject, env: Record<string, string>, kafkaSources: K8sObject[], add: Report): void {
  const upstream = env['UPSTREAM_CONSUMER_GROUPS'];
  if (upstream === undefined) return;
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
