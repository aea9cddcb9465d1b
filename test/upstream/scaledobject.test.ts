/**
 * Check (e): what the emulation assumes about the KEDA ScaledObject of each KafkaSource
 * (cli/scaling/scaled-object.ts, which the topology and the local runtime use) against the
 * one eventing-kafka-broker knative-v1.23.x generates: the real source reconciler makes the
 * ConsumerGroup, the real keda package the ScaledObject (tools/upstream/knative
 * scaledobject.go). For every rendered KafkaSource in knative/ and 500 generated ones:
 * autoscaled or not, min/max replicas, polling interval, cooldown, and each trigger's
 * metadata. Deliberately altered emulators must be caught.
 */
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type K8sObject, dig, render, repoRoot } from '../../cli/manifests/index.ts';
import { type KafkaSourceInput, type ScaledObjectModel, scaledObjectFor } from '../../cli/scaling/scaled-object.ts';
import { answersTo, differences, generate, report } from './cases.ts';

interface SoCase {
  id: string;
  kafkaSource: K8sObject;
  autoscalerConfig: Record<string, string>;
  placements: boolean;
  features: Record<string, string>;
}

interface Answer {
  id: string;
  error?: string;
  scaledObject: {
    spec: { minReplicaCount?: number; maxReplicaCount?: number; pollingInterval?: number; cooldownPeriod?: number; triggers: { type: string; metadata: Record<string, string> }[] };
  } | null;
}

type Outcome = { error: true } | { scaledObject: ScaledObjectModel | null };

const A = 'autoscaling.eventing.knative.dev/';
const annotationValue = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 200 }).map(String) }, { weight: 1, arbitrary: fc.constantFrom('x', '1.5', '-3', '+7', '2147483648') });

const arbitrary = fc
  .record({
    annotations: fc.record(
      {
        class: fc.constantFrom('keda.autoscaling.knative.dev', 'disabled', 'hpa.autoscaling.knative.dev', ''),
        'min-scale': annotationValue,
        'max-scale': annotationValue,
        'polling-interval': annotationValue,
        'cooldown-period': annotationValue,
        'lag-threshold': annotationValue,
        'activation-lag-threshold': annotationValue,
      },
      { requiredKeys: [] },
    ),
    config: fc.record(
      {
        class: fc.constantFrom('keda.autoscaling.knative.dev', 'disabled'),
        'min-scale': annotationValue,
        'max-scale': annotationValue,
        'polling-interval': annotationValue,
        'cooldown-period': annotationValue,
        'lag-threshold': annotationValue,
      },
      { requiredKeys: [] },
    ),
    topics: fc.uniqueArray(fc.constantFrom('data-stream', 'events-enriched', 'windows', 'audit'), { minLength: 1, maxLength: 3 }),
    brokers: fc.constantFrom(['kafka.big-data-pipeline.svc.cluster.local:9092'], ['k-0:9092', 'k-1:9092']),
    group: fc.constantFrom('big-data-pipeline-enrich', 'g1'),
    placements: fc.boolean(),
    kedaEnabled: fc.constantFrom(true, true, true, false),
  })
  .map(
    (g): Omit<SoCase, 'id'> => ({
      kafkaSource: {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'KafkaSource',
        metadata: { name: 'src', namespace: 'big-data-pipeline', annotations: Object.fromEntries(Object.entries(g.annotations).map(([k, v]) => [A + k, v])) },
        spec: { bootstrapServers: g.brokers, topics: g.topics, consumerGroup: g.group, sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'fn' } } },
      },
      autoscalerConfig: g.config as Record<string, string>,
      placements: g.placements,
      features: { 'controller-autoscaler-keda': g.kedaEnabled ? 'enabled' : 'disabled' },
    }),
  );

const rendered = render(join(repoRoot, 'knative')).filter((o) => o.kind === 'KafkaSource');
const CASES = 500;
const cases: SoCase[] = [
  ...rendered.map((source) => ({ id: `rendered-${source.metadata.name}`, kafkaSource: source, autoscalerConfig: {}, placements: true, features: { 'controller-autoscaler-keda': 'enabled' } })),
  ...generate(arbitrary, CASES, 5).map((c, i) => ({ id: `scaledobject-${i}`, ...c })),
];

function input(source: K8sObject): KafkaSourceInput {
  return {
    annotations: source.metadata.annotations ?? {},
    bootstrapServers: dig(source, 'spec', 'bootstrapServers') as string[],
    topics: dig(source, 'spec', 'topics') as string[],
    consumerGroup: dig(source, 'spec', 'consumerGroup') as string,
  };
}

type Emulate = typeof scaledObjectFor;
function emulate(c: SoCase, emulator: Emulate = scaledObjectFor): Outcome {
  try {
    return { scaledObject: emulator(input(c.kafkaSource), c.autoscalerConfig, { hasPlacements: c.placements, kedaEnabled: c.features['controller-autoscaler-keda'] === 'enabled' }) ?? null };
  } catch {
    return { error: true };
  }
}

function upstream(a: Answer): Outcome {
  if (a.error) return { error: true };
  if (!a.scaledObject) return { scaledObject: null };
  const s = a.scaledObject.spec;
  return {
    scaledObject: {
      minReplicaCount: s.minReplicaCount!,
      maxReplicaCount: s.maxReplicaCount!,
      pollingIntervalS: s.pollingInterval!,
      cooldownPeriodS: s.cooldownPeriod!,
      triggers: s.triggers.map((t) => {
        expect(t.type).toBe('kafka');
        const { topic, bootstrapServers, consumerGroup, lagThreshold, allowIdleConsumers, ...rest } = t.metadata;
        // Nothing else (offsetResetPolicy, activationLagThreshold…) is set: KEDA's defaults apply.
        expect(rest).toEqual({});
        return { topic: topic!, bootstrapServers: bootstrapServers!, consumerGroup: consumerGroup!, lagThreshold: Number(lagThreshold), allowIdleConsumers: allowIdleConsumers === 'true' };
      }),
    },
  };
}

const same = (e: Outcome, u: Outcome) => isDeepStrictEqual(e, u);

describe('(e) ScaledObject generation vs eventing-kafka-broker knative-v1.23.x', { timeout: 300_000 }, () => {
  const answer = answersTo<Answer>('knative', ['scaledobject'], cases);

  it('the rendered KafkaSources get the ScaledObjects the emulation runs', () => {
    expect(rendered.map((s) => s.metadata.name).sort()).toEqual(['enrich', 'index', 'window-aggregate']);
    for (const source of rendered) {
      const u = upstream(answer(`rendered-${source.metadata.name}`));
      expect(u).toEqual(emulate(cases.find((c) => c.id === `rendered-${source.metadata.name}`)!));
      expect(u).toMatchObject({ scaledObject: { minReplicaCount: 0, triggers: [{ allowIdleConsumers: true }] } });
    }
  });

  it(`agrees on ${CASES} generated KafkaSources and autoscaler configs`, () => {
    const diffs = differences(cases, (c) => emulate(c), (c) => upstream(answer(c.id)), same);
    expect(diffs, report('scaledobject', diffs, cases.length)).toEqual([]);
    const outcomes = cases.map((c) => upstream(answer(c.id)));
    expect(outcomes.filter((o) => 'error' in o).length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => 'scaledObject' in o && o.scaledObject === null).length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => 'scaledObject' in o && o.scaledObject !== null).length).toBeGreaterThan(100);
  });

  it.each<[string, Emulate]>([
    ['the ConfigMap class honoured like the annotation', (s, config, o) => (config?.['class'] === 'disabled' ? undefined : scaledObjectFor(s, config, o))],
    ['allowIdleConsumers always on', (s, config, o) => scaledObjectFor(s, config, { ...o, hasPlacements: true })],
    ['the cluster defaults ignored', (s, _config, o) => scaledObjectFor(s, {}, o)],
  ])('catches an emulator with %s', (_what, emulator) => {
    const diffs = differences(cases, (c) => emulate(c, emulator), (c) => upstream(answer(c.id)), same);
    expect(diffs.length).toBeGreaterThan(0);
  });
});
