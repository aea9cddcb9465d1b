/** Which kustomization of the pipeline a deploy applies with PLATFORM. Needs kubectl (kustomize). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { knativeDirFor, knativeObjects, platformInput } from './inputs.ts';

describe('knativeDirFor', () => {
  it('takes the knative/ overlay named like the platform overlay', () => {
    expect(knativeDirFor('platform/overlays/production')).toBe('knative/overlays/production');
    expect(knativeDirFor('platform/overlays/production/')).toBe('knative/overlays/production');
    expect(knativeDirFor('./platform/overlays/production')).toBe('knative/overlays/production');
  });

  it('is knative/ for the base platform, and for an overlay knative/ has no counterpart of', () => {
    expect(knativeDirFor('platform')).toBe('knative');
    expect(knativeDirFor('platform/overlays/kraft')).toBe('knative');
    expect(knativeDirFor('elsewhere/overlays/production')).toBe('knative');
  });
});

describe('knativeObjects and platformInput', () => {
  const root = mkdtempSync(join(tmpdir(), 'bdp-inputs-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('render the production overlays', () => {
    const sources = knativeObjects('knative/overlays/production').filter((o) => o.kind === 'KafkaSource');
    expect(sources.map((o) => (o['spec'] as { bootstrapServers: string[] }).bootstrapServers)).toEqual(sources.map(() => ['kafka.big-data-pipeline.svc.cluster.local:9093']));
    expect(platformInput('platform/overlays/production').objects?.length).toBeGreaterThan(0);
  });

  it('say why there is no platform; refuse a pipeline that does not validate', () => {
    expect(platformInput('nowhere', root).problem).toMatch(/nowhere\/ has no kustomization.yaml/);
    mkdirSync(join(root, 'broken'));
    writeFileSync(join(root, 'broken', 'kustomization.yaml'), 'resources: [ksvc.yaml]\n');
    writeFileSync(join(root, 'broken', 'ksvc.yaml'), 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{image: 1}]}}}\n');
    expect(() => knativeObjects('broken', root)).toThrow(/broken\/ does not validate/);
  });
});
