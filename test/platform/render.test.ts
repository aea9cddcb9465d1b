/**
 * platform/ renders and validates: every kustomization, the kinds, the cross-checks, hardening and
 * references of every variant, the Services, the volume claims, the NodePorts and the addresses
 * knative/ uses.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crossCheck, knownKinds, render, validateObjects } from '../../cli/manifests/index.ts';
import { workloadPods } from './endpoints.ts';
import { platformDir, topics, base, kraft, production, knative, variants, named, ksvcContainer, envOf } from './fixtures.ts';
import { selectorMatches } from './network-policies.ts';
import { workloadProblems, referenceProblems } from './workload-checks.ts';

/** Every folder under platform/ with a kustomization.yaml; local/ holds no manifests. */
function kustomizations(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (path !== join(platformDir, 'local')) found.push(...kustomizations(path));
    } else if (entry === 'kustomization.yaml') {
      found.push(dir);
    }
  }
  return found;
}

const readme = readFileSync(join(platformDir, 'README.md'), 'utf8');

/** The "Reached as" cell of a folder's row in platform/README.md, without code marks. */
function reachedAs(folder: string): string {
  const row = readme.split('\n').find((line) => line.startsWith(`| \`${folder}/\``));
  return (row?.split('|').at(-2) ?? '').trim().replaceAll('`', '');
}

describe('platform/ renders and validates', () => {
  it('every kustomization renders, and every object validates against its schema', () => {
    const dirs = kustomizations(platformDir);
    expect(dirs.map((d) => relative(platformDir, d) || '.').sort()).toEqual(
      expect.arrayContaining(['.', 'base', 'overlays/kraft', 'overlays/production', 'zookeeper', 'kafka', 'elasticsearch', 'kibana', 'prometheus', 'grafana', 'exporters', 'dashboard', 'network']),
    );
    for (const dir of dirs) {
      const objects = render(dir);
      expect(objects.length, dir).toBeGreaterThan(0);
      expect(validateObjects(objects), dir).toEqual([]);
    }
  });

  it('uses only kinds the validator knows', () => {
    const known = new Set(knownKinds().map((k) => k.kind));
    const used = new Set([...base, ...kraft, ...production].map((o) => `${o.apiVersion}/${o.kind}`));
    for (const kind of used) expect(known.has(kind), kind).toBe(true);
    expect([...used].sort()).toEqual(
      expect.arrayContaining(['apps/v1/StatefulSet', 'apps/v1/Deployment', 'batch/v1/Job', 'networking.k8s.io/v1/NetworkPolicy', 'rbac.authorization.k8s.io/v1/ClusterRole', 'policy/v1/PodDisruptionBudget']),
    );
  });

  it.each(Object.entries(variants))('%s: namespace, labels and pinned images pass the manifest cross-checks', (_, objects) => {
    expect(crossCheck(objects, topics)).toEqual([]);
    expect(objects.filter((o) => o.metadata.namespace !== undefined).every((o) => o.metadata.namespace === 'big-data-pipeline')).toBe(true);
  });

  it.each(Object.entries(variants))('%s: every container has resources and a non-root, read-only security context', (_, objects) => {
    expect(workloadProblems(objects)).toEqual([]);
  });

  it.each(Object.entries(variants))('%s: every volume, ConfigMap, Secret key and $(VAR) reference resolves', (_, objects) => {
    expect(referenceProblems(objects)).toEqual([]);
  });

  it.each(Object.entries(variants))('%s: every Service selects a workload and targets a port it has', (_, objects) => {
    const pods = workloadPods(objects);
    for (const service of objects.filter((o) => o.apiVersion === 'v1' && o.kind === 'Service')) {
      const spec = service['spec'] as { selector: Record<string, string>; ports: { port: number; targetPort?: string | number }[] };
      const selected = pods.filter((p) => selectorMatches({ matchLabels: spec.selector }, p.labels ?? {}));
      expect(selected.length, `Service/${service.metadata.name}`).toBeGreaterThan(0);
      for (const port of spec.ports) {
        if (typeof port.targetPort === 'string') expect(selected.some((p) => p.ports?.[port.targetPort as string] !== undefined), `Service/${service.metadata.name} ${port.targetPort}`).toBe(true);
      }
    }
  });

  it('keeps state on volume claims of the StatefulSets', () => {
    for (const name of ['zookeeper', 'kafka', 'elasticsearch', 'prometheus']) {
      const claims = (named(base, 'StatefulSet', name)['spec'] as { volumeClaimTemplates?: unknown[] }).volumeClaimTemplates ?? [];
      expect(claims.length, name).toBe(1);
    }
    expect(base.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
  });

  it('publishes the four UIs on the NodePorts platform/README.md gives, and nothing else', () => {
    const nodePorts = Object.fromEntries(
      base
        .filter((o) => o.kind === 'Service' && (o['spec'] as { type?: string }).type === 'NodePort')
        .map((o) => [o.metadata.name, (o['spec'] as { ports: { nodePort: number }[] }).ports.map((p) => p.nodePort)]),
    );
    expect(Object.keys(nodePorts).sort()).toEqual(['dashboard', 'grafana', 'kibana', 'prometheus']);
    for (const [name, ports] of Object.entries(nodePorts)) expect(ports.map((p) => `NodePort **${p}**`), name).toEqual([reachedAs(name)]);
  });

  it('serves the addresses knative/ uses, as platform/README.md gives them', () => {
    const kafka = reachedAs('kafka');
    const elasticsearch = reachedAs('elasticsearch');
    for (const address of [kafka, elasticsearch]) {
      const [, service, port] = /^(?:http:\/\/)?([a-z-]+)\.big-data-pipeline\.svc\.cluster\.local:(\d+)$/.exec(address) ?? [];
      expect(service, address).toBeDefined();
      expect((named(base, 'Service', service!)['spec'] as { ports: { port: number }[] }).ports.map((p) => p.port), address).toEqual([Number(port)]);
    }
    const envs = knative.filter((o) => o.kind === 'Service').map((o) => envOf(ksvcContainer(o)));
    expect(envs.filter((e) => e['KAFKA_BROKERS'] !== undefined).length).toBeGreaterThan(0);
    expect(envs.filter((e) => e['ELASTICSEARCH_URL'] !== undefined).length).toBeGreaterThan(0);
    for (const env of envs) {
      if (env['KAFKA_BROKERS'] !== undefined) expect(env['KAFKA_BROKERS']).toBe(kafka);
      if (env['ELASTICSEARCH_URL'] !== undefined) expect(env['ELASTICSEARCH_URL']).toBe(elasticsearch);
    }
    for (const source of knative.filter((o) => o.kind === 'KafkaSource' || o.kind === 'KafkaSink')) {
      expect((source['spec'] as { bootstrapServers: string[] }).bootstrapServers, source.metadata.name).toEqual([kafka]);
    }
  });

  it('has no Secret objects: the deploy tool creates them', () => {
    expect([...base, ...kraft, ...production].filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});
