/**
 * The Secrets of a deploy: the ones it generates (random values, created once, never
 * overwritten) and the ones the manifests read, which must all be among them.
 */
import { type K8sObject, objectId } from '../manifests/index.ts';
import type { Action } from './steps.ts';

/**
 * The Secrets platform/ and knative/ read, generated once with random values (the table in
 * platform/README.md). plan() checks that every Secret key the manifests reference is here.
 */
export function generatedSecrets(namespace: string): Extract<Action, { type: 'secret' }>[] {
  const secret = (name: string, component: string, data: Extract<Action, { type: 'secret' }>['data']) => ({
    type: 'secret' as const,
    namespace,
    name,
    data,
    labels: {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/component': component,
      'app.kubernetes.io/part-of': 'big-data-pipeline',
      'app.kubernetes.io/managed-by': 'big-data-pipeline-deploy',
    },
  });
  return [
    // The bootstrap password of the built-in superuser `elastic`; only the setup Jobs use it.
    secret('elasticsearch-superuser', 'elasticsearch', { password: { random: 32 } }),
    // The pipeline's own user, which the elasticsearch-setup Job creates with a role limited to its indices.
    secret('elasticsearch-credentials', 'elasticsearch', { username: { value: 'big-data-pipeline' }, password: { random: 32 } }),
    // kibana_system's password (set by the setup Job); encryption-key ≥ 32 characters for saved objects.
    secret('kibana-credentials', 'kibana', { password: { random: 32 }, 'encryption-key': { random: 48 } }),
    secret('grafana-admin', 'grafana', { 'admin-user': { value: 'admin' }, 'admin-password': { random: 32 } }),
  ];
}

/** Every Secret key the objects' pods read (secretKeyRef, envFrom secretRef, secret volumes), optional ones left out. */
export function referencedSecrets(objects: K8sObject[]): { secret: string; key?: string; by: string }[] {
  const found: { secret: string; key?: string; by: string }[] = [];
  const walk = (value: unknown, by: string): void => {
    if (Array.isArray(value)) return value.forEach((v) => walk(v, by));
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    for (const [field, child] of Object.entries(record)) {
      const ref = child as { name?: unknown; key?: unknown; secretName?: unknown; optional?: unknown } | null;
      if (ref && typeof ref === 'object' && ref.optional !== true) {
        if (field === 'secretKeyRef' && typeof ref.name === 'string') found.push({ secret: ref.name, ...(typeof ref.key === 'string' ? { key: ref.key } : {}), by });
        else if (field === 'secretRef' && typeof ref.name === 'string') found.push({ secret: ref.name, by });
        else if (field === 'secret' && typeof ref.secretName === 'string') found.push({ secret: ref.secretName, by });
      }
      walk(child, by);
    }
  };
  for (const o of objects) walk(o['spec'], objectId(o));
  return found;
}

/** The Secret keys the objects read that neither their own Secrets nor the generated ones hold, as `secret.key (by)`. */
export function keysNotGenerated(objects: K8sObject[], generated: Extract<Action, { type: 'secret' }>[]): string[] {
  const own = new Set(objects.filter((o) => o.apiVersion === 'v1' && o.kind === 'Secret').map((o) => o.metadata.name));
  const missing = referencedSecrets(objects).filter((r) => !own.has(r.secret) && !generated.some((g) => g.name === r.secret && (r.key === undefined || r.key in g.data)));
  return [...new Set(missing.map((r) => `${r.secret}${r.key ? `.${r.key}` : ''} (${r.by})`))];
}
