/**
 * Test inputs for the deploy plan: the repository's own knative/ and releases, and a
 * stand-in for platform/ (its real manifests are applied as rendered; the plan only needs
 * their workloads and Services).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type K8sObject, render, repoRoot } from '../cli/manifests/index.ts';
import { loadReleases } from '../cli/manifests/releases.ts';
import type { PlanOptions } from '../cli/deploy/plan.ts';

const ns = 'big-data-pipeline';
const workload = (apiVersion: string, kind: string, name: string, extra: Record<string, unknown> = {}): K8sObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/name': name } },
  ...extra,
});

export const fakePlatform: K8sObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  workload('v1', 'Service', 'kafka', { spec: { ports: [{ port: 9092 }] } }),
  workload('v1', 'Service', 'kibana', { spec: { ports: [{ port: 5601 }] } }),
  workload('v1', 'Service', 'grafana', { spec: { ports: [{ port: 3000 }] } }),
  workload('v1', 'Service', 'prometheus', { spec: { ports: [{ port: 9090 }] } }),
  workload('apps/v1', 'StatefulSet', 'zookeeper'),
  workload('apps/v1', 'StatefulSet', 'kafka'),
  workload('apps/v1', 'StatefulSet', 'elasticsearch'),
  workload('apps/v1', 'Deployment', 'kibana'),
  workload('apps/v1', 'Deployment', 'grafana'),
  workload('apps/v1', 'Deployment', 'prometheus'),
  workload('batch/v1', 'Job', 'kafka-topics'),
  workload('batch/v1', 'Job', 'elasticsearch-setup'),
];

let rendered: K8sObject[] | undefined;

export function repoPlanOptions(overrides: Partial<PlanOptions> = {}): PlanOptions {
  rendered ??= render(join(repoRoot, 'knative'));
  return {
    version: (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version,
    releases: loadReleases(),
    knativeObjects: rendered,
    platform: { dir: 'platform', objects: fakePlatform },
    context: 'kind-bdp',
    ...overrides,
  };
}
