/**
 * The deploy's certificate authority: the certificates it issues verify against it with
 * Node's own X.509 code (what kafkajs and the Elasticsearch client use), their keys are
 * PKCS#8 (what Kafka's PEM keystore reads), and they name every host the production overlays
 * dial. Then the secret steps of the production plan, carried out against an in-memory
 * cluster: the CA first, created once and kept. Needs kubectl (kustomize).
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoPlanOptions } from '../../test/deploy-fixtures.ts';
import { type K8sObject, render, repoRoot } from '../manifests/index.ts';
import { issueCertificate } from './certificates.ts';
import { execute } from './execute.ts';
import { plan } from './plan.ts';
import { CA_SECRET, serverNames } from './secrets.ts';
import type { Cluster, Host, Step } from './steps.ts';

const ns = 'big-data-pipeline';
const platform = render(join(repoRoot, 'platform', 'overlays', 'production'));
const knative = render(join(repoRoot, 'knative', 'overlays', 'production'));

/** Every host:port the production overlays dial, with the pod-name variables expanded for each replica. */
function dialled(objects: K8sObject[], port: number): string[] {
  let text = JSON.stringify(objects).replaceAll('$(POD_NAME)', 'kafka-{i}').replaceAll('${HOSTNAME}', 'elasticsearch-{i}');
  // Elasticsearch's readiness probe names its own pod in a shell variable: host="…"; curl https://${host}:9200.
  for (const [, value] of text.matchAll(/host=\\"([^\\"]+)\\"/g)) text = text.replaceAll('${host}', value!);
  const hosts = [...text.matchAll(new RegExp(`([a-z0-9{}.-]+\\.svc\\.cluster\\.local)(?:"?:|:)${port}`, 'g'))].map((m) => m[1]!);
  return [...new Set(hosts.flatMap((h) => (h.includes('{i}') ? [0, 1, 2].map((i) => h.replace('{i}', String(i))) : [h])))];
}

describe('issueCertificate', () => {
  const ca = issueCertificate({ commonName: 'test CA', dnsNames: [], authority: true });
  const names = ['kafka.big-data-pipeline.svc.cluster.local', 'kafka-0.kafka-headless.big-data-pipeline.svc.cluster.local'];
  const server = issueCertificate({ commonName: names[0]!, dnsNames: names }, ca);
  const caCert = new X509Certificate(ca.certificate);
  const serverCert = new X509Certificate(server.certificate);

  it('makes a self-signed CA and a server certificate that verifies against it', () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(serverCert.ca).toBe(false);
    expect(serverCert.checkIssued(caCert)).toBe(true);
    expect(serverCert.verify(caCert.publicKey)).toBe(true);
    // Signed by this CA only.
    const other = new X509Certificate(issueCertificate({ commonName: 'other CA', dnsNames: [], authority: true }).certificate);
    expect(serverCert.verify(other.publicKey)).toBe(false);
  });

  it('names exactly the requested hosts, which clients check', () => {
    for (const name of names) expect(serverCert.checkHost(name), name).toBe(name);
    expect(serverCert.checkHost('kafka-3.kafka-headless.big-data-pipeline.svc.cluster.local')).toBeUndefined();
    expect(serverCert.checkHost('kafka')).toBeUndefined();
    expect(serverCert.checkIP('127.0.0.1')).toBeUndefined();
    expect(serverCert.subjectAltName).toBe(names.map((n) => `DNS:${n}`).join(', '));
    expect(serverCert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
  });

  it('writes the keys as unencrypted PKCS#8, each the pair of its certificate', () => {
    for (const [issued, cert] of [[ca, caCert], [server, serverCert]] as const) {
      expect(issued.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const key = createPrivateKey(issued.key);
      expect(key.asymmetricKeyType).toBe('rsa');
      expect(createPublicKey(key).export({ type: 'spki', format: 'pem' })).toBe(cert.publicKey.export({ type: 'spki', format: 'pem' }));
    }
  });

  it('is valid from now (an hour of clock skew allowed) for two years; the CA for ten', () => {
    const now = Date.now();
    expect(Date.parse(serverCert.validFrom)).toBeLessThan(now);
    expect(Date.parse(serverCert.validTo) - now).toBeGreaterThan(729 * 86_400_000);
    expect(Date.parse(caCert.validTo) - now).toBeGreaterThan(3649 * 86_400_000);
  });

  it('refuses a server certificate without a CA to sign it', () => {
    expect(() => issueCertificate({ commonName: 'x', dnsNames: ['x'] })).toThrow(/needs a CA/);
  });
});

describe('serverNames on the production overlays', () => {
  it('covers every host the production clients dial, for Kafka and for Elasticsearch', () => {
    const kafka = serverNames(platform, 'kafka-tls', ns);
    const elasticsearch = serverNames(platform, 'elasticsearch-tls', ns);
    const kafkaHosts = dialled([...platform, ...knative], 9093);
    const elasticsearchHosts = dialled([...platform, ...knative], 9200);
    // The bootstrap Service and all three advertised broker names are among them.
    expect(kafkaHosts).toEqual(expect.arrayContaining(['kafka.big-data-pipeline.svc.cluster.local', 'kafka-2.kafka-headless.big-data-pipeline.svc.cluster.local']));
    expect(elasticsearchHosts).toEqual(expect.arrayContaining(['elasticsearch.big-data-pipeline.svc.cluster.local', 'elasticsearch-0.elasticsearch-headless.big-data-pipeline.svc.cluster.local']));
    expect(kafka).toEqual(expect.arrayContaining(kafkaHosts));
    expect(elasticsearch).toEqual(expect.arrayContaining(elasticsearchHosts));
    expect(kafka).toHaveLength(5);
    expect(elasticsearch).toHaveLength(5);
  });

  it('finds nothing for a Secret no StatefulSet mounts', () => {
    expect(serverNames(platform, 'kafka-client-auth', ns)).toEqual([]);
  });
});

/** Only what the secret steps use: getSecret and createSecret. */
function secretStore(): Cluster & { secrets: Map<string, Record<string, string>> } {
  const secrets = new Map<string, Record<string, string>>();
  const unused = () => {
    throw new Error('not a secret step');
  };
  return {
    secrets,
    contextName: () => 'kind-bdp',
    info: unused,
    apply: unused,
    applyObjects: unused,
    check: unused,
    getConfigMap: unused,
    getSecret: async (_ns, name) => secrets.get(name) && { ...secrets.get(name) },
    createSecret: async (_ns, name, data) => (secrets.has(name) ? 'exists' : (secrets.set(name, { ...data }), 'created')),
    delete: unused,
    deleteUrl: unused,
    access: unused,
  };
}

const host: Host = { has: async () => true, exists: () => true, run: async () => ({ code: 0, stdout: '', stderr: '' }), fetchText: async () => '', containerTool: async () => ({ tool: 'docker' }), log: () => {} };

describe('the production plan issues its certificates', () => {
  const steps = plan(repoPlanOptions({ knativeObjects: knative, platform: { dir: 'platform/overlays/production', objects: platform } }));
  const secretSteps: Step[] = steps.filter((s) => s.kind === 'secret');

  it('passes its checks, and creates the CA before the Secrets it signs', () => {
    expect(steps.find((s) => s.id === 'check:secrets')).toBeUndefined();
    expect(secretSteps.map((s) => s.id)).toEqual([
      `secret:${CA_SECRET}`,
      'secret:elasticsearch-superuser',
      'secret:elasticsearch-credentials',
      'secret:kibana-credentials',
      'secret:grafana-admin',
      'secret:kafka-broker-auth',
      'secret:kafka-tls',
      'secret:elasticsearch-tls',
      'secret:kafka-client-auth',
    ]);
  });

  it('signs kafka-tls and elasticsearch-tls with the CA that kafka-client-auth and they carry as ca.crt; kept on the next deploy', { timeout: 60_000 }, async () => {
    const cluster = secretStore();
    await execute(secretSteps, cluster, host, { root: repoRoot });
    const ca = cluster.secrets.get(CA_SECRET)!;
    const caCert = new X509Certificate(ca['tls.crt']!);
    for (const [secret, host] of [['kafka-tls', 'kafka-1.kafka-headless.big-data-pipeline.svc.cluster.local'], ['elasticsearch-tls', 'elasticsearch.big-data-pipeline.svc.cluster.local']] as const) {
      const data = cluster.secrets.get(secret)!;
      const cert = new X509Certificate(data['tls.crt']!);
      expect(cert.verify(caCert.publicKey), secret).toBe(true);
      expect(cert.checkHost(host), secret).toBe(host);
      expect(data['ca.crt']).toBe(ca['tls.crt']);
      expect(data['tls.key']).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    }
    const client = cluster.secrets.get('kafka-client-auth')!;
    expect(client).toMatchObject({ protocol: 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', user: 'big-data-pipeline', 'ca.crt': ca['tls.crt'] });

    const before = structuredClone([...cluster.secrets.entries()]);
    const again = await execute(secretSteps, cluster, host, { root: repoRoot });
    expect(again.secrets.every((s) => s.outcome === 'kept')).toBe(true);
    expect([...cluster.secrets.entries()]).toEqual(before);

    // A deleted server certificate is issued anew by the same CA, which the clients still trust.
    cluster.secrets.delete('kafka-tls');
    await execute(secretSteps, cluster, host, { root: repoRoot });
    const reissued = cluster.secrets.get('kafka-tls')!;
    expect(reissued['tls.crt']).not.toBe(before.find(([name]) => name === 'kafka-tls')![1]['tls.crt']);
    expect(new X509Certificate(reissued['tls.crt']!).verify(caCert.publicKey)).toBe(true);
  });

  it('stops with a clear error when the CA Secret lacks its key', async () => {
    const cluster = secretStore();
    cluster.secrets.set(CA_SECRET, { 'tls.crt': 'made by hand' });
    await expect(execute(secretSteps.filter((s) => s.id === 'secret:kafka-tls'), cluster, host, { root: repoRoot })).rejects.toThrow(/kafka-tls is issued by the CA in Secret big-data-pipeline-ca, which has no tls.crt and tls.key/);
  });
});
