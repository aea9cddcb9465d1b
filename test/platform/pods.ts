/**
 * Readers of the workloads in rendered platform/ objects: pod templates, their containers,
 * the topic table of the kafka-topics Job, and a workload builder for unit tests.
 */
import { type K8sObject, dig } from '../../cli/manifests/index.ts';

export type Json = Record<string, unknown>;

export function asRecord(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(asRecord(value) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

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

/** A pod spec's init containers, then its containers. */
export function containersOf(spec: Json): { container: Json; init: boolean }[] {
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

/** A workload object around a pod spec, so the unit tests stay readable. */
export const pod = (spec: Record<string, unknown>, kind = 'Deployment', name = 'x'): K8sObject =>
  ({
    apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
    kind,
    metadata: { name, namespace: 'big-data-pipeline' },
    spec: { template: { metadata: { labels: { app: name } }, spec } },
  }) as K8sObject;
