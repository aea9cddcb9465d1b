/**
 * The manifests in knative/ render, validate against their schemas and pass every
 * cross-check. Needs kubectl (kustomize) but no cluster, Kafka or Elasticsearch.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, topicConfig } from '../../shared/config.ts';
import { pipelineTopics } from '../../shared/topology.ts';
import { crossCheck } from './cross-check.ts';
import { dig, objectId, render, repoRoot } from './objects.ts';
import { type Topology, topologyOf } from './topology.ts';
import { validateObjects } from './validate.ts';

const topics = pipelineTopics(loadConfig(topicConfig, {}));

function kustomizations(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...kustomizations(path));
    else if (entry === 'kustomization.yaml') found.push(dir);
  }
  return found;
}

describe('the real manifests', () => {
  const objects = render(join(repoRoot, 'knative'));

  it('every kustomization under knative/ renders', () => {
    const dirs = kustomizations(join(repoRoot, 'knative'));
    expect(dirs.map((d) => relative(repoRoot, d)).sort()).toEqual(expect.arrayContaining(['knative']));
    for (const dir of dirs) expect(render(dir).length, dir).toBeGreaterThan(0);
  });

  it('render everything the pipeline needs, and nothing from releases.yaml', () => {
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(ids).toEqual(
      [
        'KafkaSink/dead-letters',
        'KafkaSource/enrich',
        'KafkaSource/index',
        'KafkaSource/window-aggregate',
        'Namespace/big-data-pipeline',
        'PingSource/finalize-tick',
        'PingSource/generate-tick',
        'Service/enrich',
        'Service/generate',
        'Service/index',
        'Service/window-aggregate',
      ].sort(),
    );
  });

  it('validate against their schemas and pass every cross-check', () => {
    expect(validateObjects(objects)).toEqual([]);
    expect(crossCheck(objects, topics)).toEqual([]);
  });

  it('every kustomization under knative/ validates and passes every cross-check', () => {
    for (const dir of kustomizations(join(repoRoot, 'knative'))) {
      const rendered = render(dir);
      expect([...validateObjects(rendered), ...crossCheck(rendered, topics)], relative(repoRoot, dir)).toEqual([]);
    }
  });

  it('never use the legacy KEDA annotations, anywhere', () => {
    const text = JSON.stringify(objects);
    expect(text).not.toContain('keda.autoscaling.knative.dev/');
  });
});

describe('knative/overlays/production', () => {
  const base = topologyOf(render(join(repoRoot, 'knative')));
  const objects = render(join(repoRoot, 'knative', 'overlays', 'production'));
  const production = topologyOf(objects);
  const KAFKA = 'kafka.big-data-pipeline.svc.cluster.local:9093';

  it('is the same topology as the base, with the production endpoints and TLS settings in the functions', () => {
    const withoutEnv = (t: Topology) => ({ ...t, services: t.services.map(({ env: _env, ...rest }) => rest) });
    expect(withoutEnv(production)).toEqual(withoutEnv(base));
    for (const service of production.services) {
      const before = base.services.find((s) => s.name === service.name)!.env;
      const tls = { KAFKA_BROKERS: KAFKA, KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_CA_FILE: '/etc/big-data-pipeline/kafka/ca.crt' };
      const es = before['ELASTICSEARCH_URL'] ? { ELASTICSEARCH_URL: 'https://elasticsearch.big-data-pipeline.svc.cluster.local:9200', ELASTICSEARCH_CA_FILE: '/etc/big-data-pipeline/elasticsearch/ca.crt' } : {};
      expect(service.env, service.name).toEqual({ ...before, ...tls, ...es });
    }
  });

  it('points every KafkaSource and the KafkaSink at SASL_SSL with kafka-client-auth, by the key names Knative and KEDA read', () => {
    const ref = (key: string) => ({ secretKeyRef: { name: 'kafka-client-auth', key } });
    for (const o of objects.filter((x) => x.kind === 'KafkaSource')) {
      expect(dig(o, 'spec', 'bootstrapServers'), objectId(o)).toEqual([KAFKA]);
      expect(dig(o, 'spec', 'net'), objectId(o)).toEqual({ sasl: { enable: true, type: ref('sasl.mechanism'), user: ref('user'), password: ref('password') }, tls: { enable: true, caCert: ref('ca.crt') } });
    }
    const sink = objects.find((x) => x.kind === 'KafkaSink')!;
    expect(dig(sink, 'spec', 'bootstrapServers')).toEqual([KAFKA]);
    expect(dig(sink, 'spec', 'auth')).toEqual({ secret: { ref: { name: 'kafka-client-auth' } } });
  });

  it('mounts only ca.crt of each Secret, read-only, where the functions are told to find it', () => {
    for (const o of objects.filter((x) => x.kind === 'Service')) {
      const volumes = dig(o, 'spec', 'template', 'spec', 'volumes') as { name: string; secret: { secretName: string; items: unknown[] } }[];
      for (const v of volumes) expect(v.secret.items, `${objectId(o)} ${v.name}`).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]);
      const mounts = dig(o, 'spec', 'template', 'spec', 'containers', 0, 'volumeMounts') as { name: string; mountPath: string; readOnly: boolean }[];
      expect(mounts.map((m) => m.name).sort()).toEqual(volumes.map((v) => v.name).sort());
      const env = production.services.find((s) => s.name === o.metadata.name)!.env;
      for (const file of [env['KAFKA_CA_FILE'], env['ELASTICSEARCH_CA_FILE']].filter((f): f is string => f !== undefined)) {
        expect(mounts.some((m) => m.readOnly && `${m.mountPath}/ca.crt` === file), `${objectId(o)} ${file}`).toBe(true);
      }
    }
  });

  it('drops nothing and leaves no plaintext endpoint', () => {
    expect(objects.map(objectId).sort()).toEqual(render(join(repoRoot, 'knative')).map(objectId).sort());
    expect(JSON.stringify(objects)).not.toMatch(/:9092|http:\/\/elasticsearch/);
  });
});
