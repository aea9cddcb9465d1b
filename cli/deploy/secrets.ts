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
    // platform/overlays/production: the brokers' own SCRAM user (inter-broker SASL_SSL).
    secret('kafka-broker-auth', 'kafka', { user: { value: 'broker' }, password: { random: 32 } }),
    // platform/overlays/production: the SCRAM user of every Kafka client, in the one layout the
    // KafkaSource dispatcher, the KafkaSink and the KEDA trigger Knative generates all read.
    // Its ca.crt is the CA of kafka-tls, which the deploy cannot issue (issuedSecretKeys).
    secret('kafka-client-auth', 'kafka', {
      protocol: { value: 'SASL_SSL' },
      'sasl.mechanism': { value: 'SCRAM-SHA-512' },
      user: { value: 'big-data-pipeline' },
      password: { random: 32 },
    }),
  ];
}

/** Generated only for manifests that read them: the base platform has no use for these. */
const generatedWhenRead = new Set(['kafka-broker-auth', 'kafka-client-auth']);

/** The generated Secrets a deploy of `objects` creates. */
export function secretsToCreate(namespace: string, objects: K8sObject[]): Extract<Action, { type: 'secret' }>[] {
  const read = new Set(referencedSecrets(objects).map((r) => r.secret));
  return generatedSecrets(namespace).filter((s) => !generatedWhenRead.has(s.name) || read.has(s.name));
}

/**
 * Secret keys only a certificate authority can fill, so the deploy cannot generate them:
 * the TLS certificates of platform/overlays/production (SANs in platform/README.md) and the
 * CA the Kafka clients trust. Manifests that read them stop a deploy at its checks.
 */
export const issuedSecretKeys: Record<string, string[]> = {
  'kafka-tls': ['tls.crt', 'tls.key', 'ca.crt'],
  'elasticsearch-tls': ['tls.crt', 'tls.key', 'ca.crt'],
  'kafka-client-auth': ['ca.crt'],
};

/** Every Secret key the objects' pods read (secretKeyRef, envFrom secretRef, secret volumes and their items), optional ones left out. */
export function referencedSecrets(objects: K8sObject[]): { secret: string; key?: string; by: string }[] {
  const found: { secret: string; key?: string; by: string }[] = [];
  const walk = (value: unknown, by: string): void => {
    if (Array.isArray(value)) return value.forEach((v) => walk(v, by));
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    for (const [field, child] of Object.entries(record)) {
      const ref = child as { name?: unknown; key?: unknown; secretName?: unknown; items?: unknown; optional?: unknown } | null;
      if (ref && typeof ref === 'object' && ref.optional !== true) {
        if (field === 'secretKeyRef' && typeof ref.name === 'string') found.push({ secret: ref.name, ...(typeof ref.key === 'string' ? { key: ref.key } : {}), by });
        else if (field === 'secretRef' && typeof ref.name === 'string') found.push({ secret: ref.name, by });
        else if (field === 'secret' && typeof ref.secretName === 'string') {
          // A volume that lists its items reads exactly those keys.
          const keys = Array.isArray(ref.items) ? ref.items.map((i: { key?: unknown }) => i.key).filter((k): k is string => typeof k === 'string') : [];
          if (keys.length > 0) for (const key of keys) found.push({ secret: ref.secretName, key, by });
          else found.push({ secret: ref.secretName, by });
        }
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
