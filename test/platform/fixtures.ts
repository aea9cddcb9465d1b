/**
 * The rendered platform (base, the KRaft and the production overlays) and knative/, and finders over them,
 * for the tests of platform/. Needs kubectl (kustomize).
 */
import { join } from 'node:path';
import { type K8sObject, render, repoRoot } from '../../cli/manifests/index.ts';
import { loadConfig, topicConfig } from '../../shared/config.ts';
import { pipelineTopics } from '../../shared/topology.ts';
import { workloadContainers } from './pods.ts';

export const platformDir = join(repoRoot, 'platform');
export const topics = pipelineTopics(loadConfig(topicConfig, {}));

export const base = render(platformDir);
export const kraft = render(join(platformDir, 'overlays', 'kraft'));
export const production = render(join(platformDir, 'overlays', 'production'));
export const knative = render(join(repoRoot, 'knative'));
export const variants = { base, kraft, production } as const;

export const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
};
/** A ConfigMap by its name before kustomize's hash suffix. */
export const configMapNamed = (objects: K8sObject[], name: string): K8sObject => {
  const found = objects.find((o) => o.kind === 'ConfigMap' && (o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name)));
  if (!found) throw new Error(`no ConfigMap ${name}`);
  return found;
};
export const containerOf = (objects: K8sObject[], kind: string, name: string, container?: string): Record<string, any> => {
  const all = workloadContainers([named(objects, kind, name)]);
  const found = container === undefined ? all.find((c) => !c.init) : all.find((c) => c.container['name'] === container);
  if (!found) throw new Error(`no container in ${kind}/${name}`);
  return found.container;
};
/** The user container of a Knative Service. */
export const ksvcContainer = (ksvc: K8sObject): Record<string, any> => (ksvc['spec'] as any).template.spec.containers[0];
export const ksvcNamed = (name: string): K8sObject => named(knative, 'Service', name);
export const envOf = (container: Record<string, any>): Record<string, string> =>
  Object.fromEntries((container['env'] ?? []).filter((e: any) => typeof e.value === 'string').map((e: any) => [e.name, e.value]));
export const tagOf = (image: string): string => image.slice(image.lastIndexOf(':') + 1);

