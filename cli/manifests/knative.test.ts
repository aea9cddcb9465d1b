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
import { render, repoRoot } from './objects.ts';
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

  it('never use the legacy KEDA annotations, anywhere', () => {
    const text = JSON.stringify(objects);
    expect(text).not.toContain('keda.autoscaling.knative.dev/');
  });
});
