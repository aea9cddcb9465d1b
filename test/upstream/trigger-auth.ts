/**
 * Check (g), run by secure.it.test.ts on its SASL_SSL Kafka: the KEDA trigger that
 * eventing-kafka-broker generates for each KafkaSource of knative/overlays/production, with the
 * kafka-client-auth Secret in the layout the deploy generates, authenticates for real. The real
 * source reconciler and keda package make the ConsumerGroup, the TriggerAuthentication and its
 * Secret (tools/upstream/knative scaledobject.go); KEDA's own resolver turns the
 * authenticationRef into auth params and its Kafka scaler reads the group's lag over SCRAM-SHA-512
 * and TLS (tools/upstream/keda). The lag it reads must be the lag the test committed; a Secret
 * in another layout, or a trigger without its TriggerAuthentication, must fail to authenticate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { generatedSecrets } from '../../cli/deploy/secrets.ts';
import { type K8sObject, PIPELINE_NAMESPACE, dig, render, repoRoot } from '../../cli/manifests/index.ts';
import { kafkaScalerMetric } from '../../cli/scaling/keda.ts';
import { runCheck } from './modules.ts';

export interface SecureKafka {
  admin: Admin;
  producer: Producer;
  /** The client settings of `infra.sh env` for the secure platform. */
  env: Record<string, string>;
  suffix: string;
}

interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string };
  data: Record<string, string>;
}

interface KnativeAnswer {
  id: string;
  error?: string;
  scaledObject: { metadata: { namespace: string }; spec: { triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[] } } | null;
  triggerAuthentication?: { metadata: { name: string; namespace: string }; spec: { secretTargetRef: { parameter: string; name: string; key: string }[] } };
  secret?: { metadata: { name: string; namespace: string }; data: Record<string, string> };
}

interface KedaAnswer {
  id: string;
  error?: string;
  metricMilli: number;
  active: boolean;
}

const SECRET = 'kafka-client-auth';
/** Per partition: records produced, and the offset the consumer group commits. */
const RECORDS = [30, 12, 7];
const COMMITTED = [10, 12, 0];

const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/**
 * kafka-client-auth as the deploy generates it (cli/deploy/secrets.ts), holding this machine's
 * SCRAM user, password and CA instead of the cluster's: every key of the deploy's layout, and
 * the deploy's own literal values (protocol, sasl.mechanism).
 */
export function clientAuthSecret(env: Record<string, string>, rename: Record<string, string> = {}): Secret {
  const spec = generatedSecrets(PIPELINE_NAMESPACE).find((s) => s.name === SECRET);
  if (!spec) throw new Error(`the deploy generates no ${SECRET}`);
  const local: Record<string, string> = { user: env['KAFKA_SASL_USERNAME']!, password: env['KAFKA_SASL_PASSWORD']!, 'ca.crt': readFileSync(env['KAFKA_CA_FILE']!, 'utf8') };
  const data: Record<string, string> = {};
  for (const [key, source] of Object.entries(spec.data)) {
    const value = local[key] ?? ('value' in source ? source.value : undefined);
    if (value === undefined) throw new Error(`${SECRET}.${key}: no local value for it`);
    data[rename[key] ?? key] = base64(value);
  }
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET, namespace: PIPELINE_NAMESPACE }, data };
}

/** A production KafkaSource pointed at this machine's broker, topic and group; its spec.net as rendered. */
function localSource(source: K8sObject, brokers: string, topic: string, group: string, renameType?: string): K8sObject {
  const copy = structuredClone(source);
  const spec = copy.spec as Record<string, unknown>;
  Object.assign(spec, { bootstrapServers: [brokers], topics: [topic], consumerGroup: group });
  if (renameType) (dig(copy, 'spec', 'net', 'sasl', 'type', 'secretKeyRef') as { key: string }).key = renameType;
  return copy;
}

/** The ScaledObject, TriggerAuthentication and Secret Knative generates for a source, with the user's Secret. */
async function generateKeda(cases: { id: string; kafkaSource: K8sObject; secrets: Secret[] }[]): Promise<Map<string, KnativeAnswer>> {
  return runCheck<KnativeAnswer>(
    'knative',
    ['scaledobject'],
    cases.map((c) => ({ ...c, autoscalerConfig: {}, placements: true })),
  );
}

/** The KEDA scaler case for a generated trigger: its metadata, and its authenticationRef resolved against the objects. */
function kedaCase(id: string, a: KnativeAnswer, userSecret: Secret, withAuth = true) {
  if (a.error || !a.scaledObject || !a.triggerAuthentication || !a.secret) throw new Error(`${a.id}: ${a.error ?? 'no KEDA objects'}`);
  const trigger = a.scaledObject.spec.triggers[0]!;
  return {
    id,
    metadata: trigger.metadata,
    ...(withAuth
      ? {
          authentication: {
            namespace: a.scaledObject.metadata.namespace,
            ref: trigger.authenticationRef,
            objects: [
              { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', ...a.triggerAuthentication },
              { apiVersion: 'v1', kind: 'Secret', ...a.secret },
              userSecret,
            ],
          },
        }
      : {}),
  };
}

export function describeTriggerAuthentication(kafka: () => SecureKafka): void {
  describe('(g) the KEDA trigger Knative generates for the production KafkaSources, on SASL_SSL', { timeout: 240_000 }, () => {
    const sources = render(join(repoRoot, 'knative', 'overlays', 'production')).filter((o) => o.kind === 'KafkaSource');

    it('authenticates with the deploy’s kafka-client-auth layout and reads the committed lag; other layouts fail', async () => {
      const { admin, producer, env, suffix } = kafka();
      expect(sources.map((s) => s.metadata.name).sort()).toEqual(['enrich', 'index', 'window-aggregate']);
      const topic = `keda-auth-${suffix}`;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: RECORDS.length, replicationFactor: 1 }] });
      const messages = RECORDS.flatMap((n, partition) => Array.from({ length: n }, (_, i) => ({ partition, value: String(i) })));
      await producer.send({ topic, acks: -1, messages });
      const group = (name: string) => `keda-auth-${suffix}-${name}`;
      for (const source of sources) {
        await admin.setOffsets({ groupId: group(source.metadata.name), topic, partitions: COMMITTED.map((offset, partition) => ({ partition, offset: String(offset) })) });
      }

      const secret = clientAuthSecret(env);
      // Layout (b): the mechanism under another key and no `protocol`: the dispatcher would still
      // use SCRAM-SHA-512 (it reads the referenced key), but the generator guesses PLAIN.
      const { protocol: _protocol, ...renamed } = clientAuthSecret(env, { 'sasl.mechanism': 'type' }).data;
      const otherLayout: Secret = { ...secret, data: renamed };
      const generated = await generateKeda([
        ...sources.map((s) => ({ id: s.metadata.name, kafkaSource: localSource(s, env['KAFKA_BROKERS']!, topic, group(s.metadata.name)), secrets: [secret] })),
        { id: 'other-layout', kafkaSource: localSource(sources[0]!, env['KAFKA_BROKERS']!, topic, group(sources[0]!.metadata.name), 'type'), secrets: [otherLayout] },
      ]);

      for (const s of sources) {
        const a = generated.get(s.metadata.name)!;
        expect(a.error).toBeUndefined();
        // What KEDA is given: SCRAM-SHA-512 and TLS from the generated Secret, the rest from the user's.
        const refs = Object.fromEntries(a.triggerAuthentication!.spec.secretTargetRef.map((r) => [r.parameter, `${r.name === SECRET ? SECRET : 'generated'}/${r.key}`]));
        expect(refs).toEqual({ sasl: 'generated/sasl', username: `${SECRET}/user`, password: `${SECRET}/password`, tls: 'generated/tls', ca: `${SECRET}/ca.crt` });
        expect(Buffer.from(a.secret!.data['sasl']!, 'base64').toString()).toBe('scram_sha512');
      }
      const other = generated.get('other-layout')!;
      expect(Buffer.from(other.secret!.data['sasl']!, 'base64').toString()).toBe('plaintext');

      const kedaCases = [
        ...sources.map((s) => kedaCase(s.metadata.name, generated.get(s.metadata.name)!, secret)),
        kedaCase('other-layout', other, otherLayout),
        kedaCase('no-authentication', generated.get(sources[0]!.metadata.name)!, secret, false),
      ];
      const answers = await runCheck<KedaAnswer>('keda', ['kafka-scaler'], kedaCases);

      const partitionLags = RECORDS.map((n, p) => n - COMMITTED[p]!);
      for (const c of kedaCases.slice(0, sources.length)) {
        const a = answers.get(c.id)!;
        expect(a.error, c.id).toBeUndefined();
        const expected = kafkaScalerMetric({ partitionLags, lagThreshold: Number(c.metadata['lagThreshold']), allowIdleConsumers: c.metadata['allowIdleConsumers'] === 'true', limitToPartitionsWithLag: false });
        expect(a.metricMilli, c.id).toBe(expected.metric * 1000);
        expect(a.metricMilli, c.id).toBe(partitionLags.reduce((x, y) => x + y, 0) * 1000);
        expect(a.active, c.id).toBe(true);
      }
      // The broker drops a client that fails SASL: sarama gives up on every broker.
      expect(answers.get('other-layout')!.error).toMatch(/run out of available brokers/);
      expect(answers.get('no-authentication')!.error).toMatch(/run out of available brokers/);
    });
  });
}
