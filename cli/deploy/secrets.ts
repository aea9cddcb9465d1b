/**
 * The Secrets of a deploy: the ones it generates (random values, and certificates of its own
 * CA; created once, never overwritten) and the ones the manifests read, which must all be
 * among them.
 */
import { type K8sObject, PIPELINE_NAMESPACE, dig, objectId } from '../manifests/index.ts';
import type { Action } from './steps.ts';

/** The Secret of the deploy's certificate authority (tls.crt, tls.key): it signs kafka-tls and
 * elasticsearch-tls, and its certificate is their ca.crt and kafka-client-auth's. */
export const CA_SECRET = 'big-data-pipeline-ca';

/** Secrets with a server certificate of the CA, for the StatefulSets that mount them. */
const SERVER_CERTIFICATES = ['kafka-tls', 'elasticsearch-tls'];

type SecretAction = Extract<Action, { type: 'secret' }>;

/**
 * The Secrets platform/ and knative/ read, generated once with random values or by the CA
 * (the tables in platform/README.md). plan() checks that every Secret key the manifests
 * reference is here. `objects` are the manifests deployed: the server certificates carry
 * the DNS names of the pods and Services that serve with them (serverNames).
 */
export function generatedSecrets(namespace: string, objects: K8sObject[] = []): SecretAction[] {
  const secret = (name: string, component: string, data: SecretAction['data'], tls: Pick<SecretAction, 'issuer' | 'certificate'> = {}) => generated(namespace, name, component, data, tls);
  const served = (name: string, component: string) => {
    const dnsNames = serverNames(objects, name, namespace);
    return secret(name, component, { 'tls.crt': { pem: 'certificate' }, 'tls.key': { pem: 'key' }, 'ca.crt': { pem: 'ca' } }, { issuer: CA_SECRET, certificate: { commonName: dnsNames[0] ?? name, dnsNames } });
  };
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
    // platform/overlays/production: the brokers' and Elasticsearch's own certificates, for the
    // names of the pods and Services that serve with them, signed by the deploy's CA.
    served('kafka-tls', 'kafka'),
    served('elasticsearch-tls', 'elasticsearch'),
    // platform/overlays/production: the SCRAM user of every Kafka client, in the one layout the
    // KafkaSource dispatcher, the KafkaSink and the KEDA trigger Knative generates all read.
    secret(
      'kafka-client-auth',
      'kafka',
      {
        protocol: { value: 'SASL_SSL' },
        'sasl.mechanism': { value: 'SCRAM-SHA-512' },
        user: { value: 'big-data-pipeline' },
        password: { random: 32 },
        'ca.crt': { pem: 'ca' },
      },
      { issuer: CA_SECRET },
    ),
  ];
}

/** The deploy's certificate authority: no manifest reads it; the deploy reads it back to issue the others. */
export function authoritySecret(namespace: string): SecretAction {
  return generated(namespace, CA_SECRET, 'certificate-authority', { 'tls.crt': { pem: 'certificate' }, 'tls.key': { pem: 'key' } }, { certificate: { commonName: 'big-data-pipeline CA', dnsNames: [], authority: true } });
}

function generated(namespace: string, name: string, component: string, data: SecretAction['data'], tls: Pick<SecretAction, 'issuer' | 'certificate'>): SecretAction {
  return {
    type: 'secret',
    namespace,
    name,
    data,
    labels: {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/component': component,
      'app.kubernetes.io/part-of': 'big-data-pipeline',
      'app.kubernetes.io/managed-by': 'big-data-pipeline-deploy',
    },
    ...tls,
  };
}

/** The Secret keys the deploy's CA issues (PEM), by Secret. */
export const issuedSecretKeys: Record<string, string[]> = Object.fromEntries(
  generatedSecrets(PIPELINE_NAMESPACE)
    .map((s) => [s.name, Object.entries(s.data).filter(([, v]) => 'pem' in v).map(([k]) => k)] as const)
    .filter(([, keys]) => keys.length > 0),
);

/** Generated only for manifests that read them: the base platform has no use for these. */
const generatedWhenRead = new Set(['kafka-broker-auth', 'kafka-client-auth', ...SERVER_CERTIFICATES]);

/**
 * The generated Secrets a deploy of `objects` creates, in order: the CA first when one of them
 * needs it, because the others are issued by reading it back from the cluster (so a
 * certificate issued on a later deploy chains to the CA every client already trusts).
 */
export function secretsToCreate(namespace: string, objects: K8sObject[]): SecretAction[] {
  const read = new Set(referencedSecrets(objects).map((r) => r.secret));
  const wanted = generatedSecrets(namespace, objects).filter((s) => !generatedWhenRead.has(s.name) || read.has(s.name));
  return [...(wanted.some((s) => s.issuer === CA_SECRET) ? [authoritySecret(namespace)] : []), ...wanted];
}

/** What stops a deploy of these Secrets: a server certificate with no name to carry. */
export function secretProblems(secrets: SecretAction[]): string[] {
  return secrets
    .filter((s) => s.certificate && !s.certificate.authority && s.certificate.dnsNames.length === 0)
    .map((s) => `${s.name} is read, but no StatefulSet mounts it to serve with it: its certificate would name no host (serverNames in cli/deploy/secrets.ts)`);
}

const CLUSTER_DOMAIN = 'svc.cluster.local';

/**
 * The DNS names clients dial to reach the servers that mount `secret`: every pod of each
 * StatefulSet with a volume of it (<pod>.<serviceName>.<namespace>.svc.cluster.local, the
 * names Kafka advertises and Elasticsearch's probe uses) and every Service that selects
 * those pods (the bootstrap and client names). Clients verify the name they dialled.
 */
export function serverNames(objects: K8sObject[], secret: string, namespace: string): string[] {
  const names: string[] = [];
  for (const set of objects.filter((o) => o.apiVersion === 'apps/v1' && o.kind === 'StatefulSet')) {
    const volumes = dig(set, 'spec', 'template', 'spec', 'volumes');
    if (!Array.isArray(volumes) || !volumes.some((v) => dig(v, 'secret', 'secretName') === secret)) continue;
    const ns = set.metadata.namespace ?? namespace;
    const replicas = dig(set, 'spec', 'replicas');
    const governing = dig(set, 'spec', 'serviceName');
    const podLabels = (dig(set, 'spec', 'template', 'metadata', 'labels') ?? {}) as Record<string, unknown>;
    for (const service of objects.filter((o) => o.apiVersion === 'v1' && o.kind === 'Service' && (o.metadata.namespace ?? namespace) === ns)) {
      const selector = Object.entries((dig(service, 'spec', 'selector') ?? {}) as Record<string, unknown>);
      if (selector.length > 0 && selector.every(([k, v]) => podLabels[k] === v)) names.push(`${service.metadata.name}.${ns}.${CLUSTER_DOMAIN}`);
    }
    if (typeof governing === 'string') {
      for (let i = 0; i < (typeof replicas === 'number' ? replicas : 1); i++) names.push(`${set.metadata.name}-${i}.${governing}.${ns}.${CLUSTER_DOMAIN}`);
    }
  }
  return [...new Set(names)];
}

/** Every Secret key the objects read (secretKeyRef, envFrom secretRef, secret volumes and their items, a KafkaSink's auth), optional ones left out. */
export function referencedSecrets(objects: K8sObject[]): { secret: string; key?: string; by: string }[] {
  const found: { secret: string; key?: string; by: string }[] = [];
  const walk = (value: unknown, by: string): void => {
    if (Array.isArray(value)) return value.forEach((v) => walk(v, by));
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    for (const [field, child] of Object.entries(record)) {
      const ref = child as { name?: unknown; key?: unknown; secretName?: unknown; items?: unknown; optional?: unknown; ref?: { name?: unknown } } | null;
      if (ref && typeof ref === 'object' && ref.optional !== true) {
        if (field === 'secretKeyRef' && typeof ref.name === 'string') found.push({ secret: ref.name, ...(typeof ref.key === 'string' ? { key: ref.key } : {}), by });
        else if (field === 'secretRef' && typeof ref.name === 'string') found.push({ secret: ref.name, by });
        // A KafkaSink's spec.auth.secret.ref: the whole Secret, by Knative's key names.
        else if (field === 'secret' && typeof ref.ref?.name === 'string') found.push({ secret: ref.ref.name, by });
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
export function keysNotGenerated(objects: K8sObject[], generated: SecretAction[]): string[] {
  const own = new Set(objects.filter((o) => o.apiVersion === 'v1' && o.kind === 'Secret').map((o) => o.metadata.name));
  const missing = referencedSecrets(objects).filter((r) => !own.has(r.secret) && !generated.some((g) => g.name === r.secret && (r.key === undefined || r.key in g.data)));
  return [...new Set(missing.map((r) => `${r.secret}${r.key ? `.${r.key}` : ''} (${r.by})`))];
}
