/**
 * The groups of rendered objects a deploy treats differently (the order of plan() is by
 * group), and what it reads from them: readiness waits, the user container, the consoles.
 */
import type { K8sObject } from '../manifests/index.ts';
import { type WaitFor, refOf } from './steps.ts';

const isKind = (apiVersion: string, kind: string) => (o: K8sObject) => o.apiVersion === apiVersion && o.kind === kind;
export const isNamespace = isKind('v1', 'Namespace');
export const isKsvc = isKind('serving.knative.dev/v1', 'Service');
export const isKafkaSink = isKind('eventing.knative.dev/v1alpha1', 'KafkaSink');
export const isKafkaSource = (o: K8sObject) => o.apiVersion.startsWith('sources.knative.dev/') && o.kind === 'KafkaSource';
export const isPingSource = (o: K8sObject) => o.apiVersion.startsWith('sources.knative.dev/') && o.kind === 'PingSource';

export function ready(objects: K8sObject[]): WaitFor[] {
  return objects.map((o) => ({ type: 'condition', ref: refOf(o), condition: 'Ready' }));
}

export function names(objects: K8sObject[]): string {
  return objects.map((o) => o.metadata.name).join(', ');
}

export function userContainer(ksvc: K8sObject): { name: string; image: string } | undefined {
  const spec = (ksvc['spec'] as { template?: { spec?: { containers?: { name?: string; image?: string }[] } } } | undefined)?.template?.spec;
  const container = spec?.containers?.[0];
  if (!container?.image) return undefined;
  // Knative names an unnamed container user-container.
  return { name: container.name ?? 'user-container', image: container.image };
}

/** The workloads platform/ must have ready before any function starts. */
export function platformWaits(objects: K8sObject[]): WaitFor[] {
  const waits: WaitFor[] = [];
  for (const o of objects) {
    if (o.apiVersion === 'apps/v1' && o.kind === 'StatefulSet') waits.push({ type: 'statefulset-ready', ref: refOf(o) });
    else if (o.apiVersion === 'apps/v1' && o.kind === 'Deployment') waits.push({ type: 'condition', ref: refOf(o), condition: 'Available' });
    else if (o.apiVersion === 'batch/v1' && o.kind === 'Job') waits.push({ type: 'condition', ref: refOf(o), condition: 'Complete' });
  }
  return waits;
}

/** Consoles for port-forward and the summary: platform Services with these names. */
export function consolesOf(objects: K8sObject[]): { name: string; service: string; port: number }[] {
  const wanted = ['kibana', 'grafana', 'prometheus', 'dashboard'];
  const consoles: { name: string; service: string; port: number }[] = [];
  for (const name of wanted) {
    const service = objects.find((o) => o.apiVersion === 'v1' && o.kind === 'Service' && (o.metadata.name === name || o.metadata.labels?.['app.kubernetes.io/name'] === name));
    const port = (service?.['spec'] as { ports?: { port?: number }[] } | undefined)?.ports?.[0]?.port;
    if (service && typeof port === 'number') consoles.push({ name, service: service.metadata.name, port });
  }
  return consoles;
}
