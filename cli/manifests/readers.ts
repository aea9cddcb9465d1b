/**
 * Small readers of rendered objects shared by the topology and the cross-checks: kinds,
 * annotations, object references, containers and their literal env, delivery durations.
 */
import { type K8sObject, ManifestError, dig } from './objects.ts';

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function annotations(object: K8sObject): Record<string, string> {
  return object.metadata.annotations ?? {};
}

export function templateAnnotations(object: K8sObject): Record<string, string> {
  return (asRecord(dig(object, 'spec', 'template', 'metadata', 'annotations')) ?? {}) as Record<string, string>;
}

export function isKsvc(object: K8sObject): boolean {
  return object.apiVersion === 'serving.knative.dev/v1' && object.kind === 'Service';
}

export function isKafkaSource(object: K8sObject): boolean {
  return object.apiVersion === 'sources.knative.dev/v1' && object.kind === 'KafkaSource';
}

export function isPingSource(object: K8sObject): boolean {
  return object.apiVersion === 'sources.knative.dev/v1' && object.kind === 'PingSource';
}

export function isKafkaSink(object: K8sObject): boolean {
  return object.apiVersion === 'eventing.knative.dev/v1alpha1' && object.kind === 'KafkaSink';
}

export interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export function refAt(object: K8sObject, ...path: string[]): ObjectRef | undefined {
  const ref = asRecord(dig(object, ...path));
  if (!ref) return undefined;
  return {
    apiVersion: asString(ref['apiVersion']),
    kind: asString(ref['kind']),
    name: asString(ref['name']),
    namespace: asString(ref['namespace']),
  };
}

/** The object a reference names among `objects`; the namespace defaults to the owner's. */
export function resolve(objects: K8sObject[], owner: K8sObject, ref: ObjectRef): K8sObject | undefined {
  const namespace = ref.namespace ?? owner.metadata.namespace;
  return objects.find(
    (o) => o.apiVersion === ref.apiVersion && o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === namespace,
  );
}

/** Every container and init container anywhere in the object's spec. */
export function containersOf(object: K8sObject): Record<string, unknown>[] {
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
export function literalEnv(container: Record<string, unknown> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of (container?.['env'] as unknown[] | undefined) ?? []) {
    const name = asString(dig(entry, 'name'));
    const value = asString(dig(entry, 'value'));
    if (name !== undefined && value !== undefined) env[name] = value;
  }
  return env;
}

/** The data of a config-kafka-autoscaler ConfigMap among the objects (Knative's cluster defaults), if any. */
export function autoscalerConfigOf(objects: K8sObject[]): Record<string, string> {
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'config-kafka-autoscaler');
  return Object.fromEntries(Object.entries(asRecord(config?.['data']) ?? {}).map(([k, v]) => [k, String(v)]));
}

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
