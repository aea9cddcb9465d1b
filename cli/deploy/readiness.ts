/**
 * Readiness of the kinds the deploy waits for, read from an object as the API server returns
 * it: Deployments, StatefulSets, Jobs, and Knative-style conditions (ksvc, sources, sinks, CRDs).
 */
import type { K8sObject } from '../manifests/index.ts';
import type { WaitStatus } from './steps.ts';

type Condition = { type?: string; status?: string; reason?: string; message?: string };
export type Live = K8sObject & { status?: Record<string, unknown>; spec?: Record<string, unknown> };

function conditions(object: Live): Condition[] {
  const list = object.status?.['conditions'];
  return Array.isArray(list) ? (list as Condition[]) : [];
}

export function conditionIs(object: Live, type: string): Condition | undefined {
  return conditions(object).find((c) => c.type === type);
}

function generationSeen(object: Live): boolean {
  const generation = object.metadata['generation'];
  const observed = object.status?.['observedGeneration'];
  return typeof generation !== 'number' || typeof observed !== 'number' || observed >= generation;
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' ? value : fallback;
}

export function deploymentStatus(d: Live): WaitStatus {
  const want = num(d.spec?.['replicas'], 1);
  const updated = num(d.status?.['updatedReplicas']);
  const available = num(d.status?.['availableReplicas']);
  const condition = conditionIs(d, 'Available');
  const done = generationSeen(d) && condition?.status === 'True' && updated >= want && available >= want;
  return { done, detail: `${d.metadata.name} ${available}/${want} available${condition?.status === 'True' || !condition?.message ? '' : `: ${condition.message}`}` };
}

export function statefulSetStatus(s: Live): WaitStatus {
  const want = num(s.spec?.['replicas'], 1);
  const ready = num(s.status?.['readyReplicas']);
  const updated = num(s.status?.['updatedReplicas'], want);
  const done = generationSeen(s) && ready >= want && updated >= want;
  return { done, detail: `${s.metadata.name} ${ready}/${want} ready` };
}

export function jobStatus(j: Live): WaitStatus {
  const failed = conditionIs(j, 'Failed');
  if (failed?.status === 'True') return { done: false, failed: true, detail: `${j.metadata.name}: ${failed.reason ?? 'Failed'} ${failed.message ?? ''}`.trim() };
  const complete = conditionIs(j, 'Complete')?.status === 'True';
  return { done: complete, detail: `${j.metadata.name} ${complete ? 'complete' : `running (${num(j.status?.['active'])} active, ${num(j.status?.['failed'])} failed pods)`}` };
}

/** Knative-style Ready (ksvc, sources, sinks): the current generation seen and Ready=True. */
export function conditionStatus(o: Live, type: string): WaitStatus {
  const c = conditionIs(o, type);
  const done = generationSeen(o) && c?.status === 'True';
  return { done, detail: `${o.kind}/${o.metadata.name} ${type}=${c?.status ?? 'Unknown'}${c && c.status !== 'True' && (c.reason || c.message) ? ` ${c.reason ?? ''}: ${c.message ?? ''}` : ''}` };
}

export function statusOf(o: Live, condition: string): WaitStatus {
  if (o.apiVersion === 'apps/v1' && o.kind === 'Deployment') return deploymentStatus(o);
  if (o.apiVersion === 'apps/v1' && o.kind === 'StatefulSet') return statefulSetStatus(o);
  if (o.apiVersion === 'batch/v1' && o.kind === 'Job') return jobStatus(o);
  return conditionStatus(o, condition);
}
