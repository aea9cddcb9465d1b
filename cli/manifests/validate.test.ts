import { describe, expect, it } from 'vitest';
import { knownKinds, validateObjects } from './validate.ts';

describe('schemas', () => {
  it('cover the Knative and KEDA kinds the pipeline uses, with the project schemas for Eventing Kafka', () => {
    const kinds = new Map(knownKinds().map((k) => [k.kind, k.schema]));
    expect(kinds.get('sources.knative.dev/v1/KafkaSource')).toBe('project');
    expect(kinds.get('eventing.knative.dev/v1alpha1/KafkaSink')).toBe('project');
    expect(kinds.get('serving.knative.dev/v1/Service')).toBe('models');
    expect(kinds.get('sources.knative.dev/v1/PingSource')).toBe('models');
    expect(kinds.get('keda.sh/v1alpha1/ScaledObject')).toBe('models');
    expect(kinds.get('v1/ConfigMap')).toBe('models');
  });

  it('flag an unknown kind', () => {
    const problems = validateObjects([{ apiVersion: 'sources.knative.dev/v1beta1', kind: 'KafkaSource', metadata: { name: 'old' } }]);
    expect(problems).toEqual([{ object: 'KafkaSource/old', message: expect.stringMatching(/unknown kind sources.knative.dev\/v1beta1\/KafkaSource/) }]);
  });

  it('validate KEDA objects with @kubernetes-models/keda', () => {
    const scaledObject = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'so', namespace: 'big-data-pipeline' },
      spec: { scaleTargetRef: { name: 'x' }, triggers: [{ type: 'kafka', metadata: { lagThreshold: '10' } }] },
    };
    expect(validateObjects([scaledObject])).toEqual([]);
    const broken = { ...scaledObject, spec: { scaleTargetRef: {}, triggers: 'kafka' } };
    expect(validateObjects([broken]).map((p) => p.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/spec.scaleTargetRef must have required property name/), expect.stringMatching(/spec.triggers must be array/)]),
    );
  });
});
