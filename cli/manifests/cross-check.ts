/**
 * Checks across rendered objects that no schema can see: references that resolve,
 * namespaces and labels, pinned images, only the annotations Knative Eventing Kafka's KEDA
 * integration reads, and the numbers that only work together (source-checks.ts for the
 * sources and sinks, service-checks.ts for the Knative Services).
 */
import type { TopicSpec } from '../../shared/topology.ts';
import { AUTOSCALING, KEDA_CLASS, autoscalerDefaultsFrom } from '../scaling/scaled-object.ts';
import { type K8sObject, PIPELINE_NAMESPACE, type Problem, type Report, objectId } from './objects.ts';
import { annotations, asString, autoscalerConfigOf, containersOf, isKafkaSink, isKafkaSource, isKsvc, isPingSource, refAt, resolve, templateAnnotations } from './readers.ts';
import { serviceProblems } from './service-checks.ts';
import { kafkaSinkProblems, kafkaSourceProblems, pingSourceProblems } from './source-checks.ts';

const LEGACY_KEDA_PREFIX = 'keda.autoscaling.knative.dev/';

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

/**
 * Checks across objects that no schema can see. `topics` is the topic table
 * (shared/topology.ts pipelineTopics) the sources and sinks must match.
 */
export function crossCheck(objects: K8sObject[], topics: TopicSpec[]): Problem[] {
  const problems: Problem[] = [];
  const add: Report = (object, message) => problems.push({ object: objectId(object), message });
  let defaults: ReturnType<typeof autoscalerDefaultsFrom>;
  try {
    defaults = autoscalerDefaultsFrom(autoscalerConfigOf(objects));
  } catch (error) {
    problems.push({ object: 'ConfigMap/config-kafka-autoscaler', message: (error as Error).message });
    defaults = autoscalerDefaultsFrom({});
  }
  for (const object of objects) objectProblems(objects, object, add);
  const kafkaSources = objects.filter(isKafkaSource);
  for (const source of kafkaSources) kafkaSourceProblems(source, defaults, topics, add);
  for (const sink of objects.filter(isKafkaSink)) kafkaSinkProblems(sink, topics, add);
  for (const ping of objects.filter(isPingSource)) pingSourceProblems(ping, add);
  for (const ksvc of objects.filter(isKsvc)) serviceProblems(ksvc, objects, kafkaSources, add);
  return problems;
}

/** An explicit tag other than latest, or a digest; undefined when the image is pinned. */
export function imagePinProblem(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  if (colon < 0) return `image "${image}" has no tag, so it floats on latest: pin a version or a digest`;
  if (lastSegment.slice(colon + 1) === 'latest') return `image "${image}" uses the tag latest: pin a version or a digest`;
  return undefined;
}

/** What every object must get right, whatever its kind. */
function objectProblems(objects: K8sObject[], object: K8sObject, add: Report): void {
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
        add(object, `${where} ${key} is a legacy eventing-autoscaler-keda annotation, ignored by Knative Eventing Kafka's KEDA integration: use ${AUTOSCALING}*`);
      }
      if (key === 'autoscaling.knative.dev/class' && value === KEDA_CLASS) {
        add(object, `${where} ${key}: ${KEDA_CLASS} is the legacy KEDA class (the Serving webhook rejects it on a ksvc): use ${AUTOSCALING}* on the KafkaSource`);
      }
      if (isKafkaSource(object) && key.startsWith('autoscaling.knative.dev/') && key !== 'autoscaling.knative.dev/class') {
        add(object, `${where} ${key} is a legacy KafkaSource annotation: use ${AUTOSCALING}*`);
      }
    }
  }
}
