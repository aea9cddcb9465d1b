/**
 * Deliberately broken copies of knative/ are caught by the schemas and the cross-checks.
 * Needs kubectl (kustomize) but no cluster, Kafka or Elasticsearch.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { loadConfig, topicConfig } from '../../shared/config.ts';
import { pipelineTopics } from '../../shared/topology.ts';
import { crossCheck, imagePinProblem } from './cross-check.ts';
import { type K8sObject, type Problem, render, repoRoot } from './objects.ts';
import { loadTopology } from './topology.ts';
import { validateObjects } from './validate.ts';

const topics = pipelineTopics(loadConfig(topicConfig, {}));

function renderAll(root: string): K8sObject[] {
  return render(join(root, 'knative'));
}

function problemsOf(objects: K8sObject[]): Problem[] {
  return [...validateObjects(objects), ...crossCheck(objects, topics)];
}

describe('imagePinProblem', () => {
  it.each([
    ['dev.local/big-data-pipeline/enrich:0.1.0', false],
    ['localhost:5000/enrich:1.2', false],
    [`registry.example/enrich@sha256:${'a'.repeat(64)}`, false],
    ['localhost:5000/enrich', true],
    ['dev.local/big-data-pipeline/enrich', true],
    ['enrich:latest', true],
  ])('%s → problem: %s', (image, problem) => {
    expect(imagePinProblem(image) !== undefined).toBe(problem);
  });
});

describe('broken copies are caught', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of knative/ with one file's objects edited. */
  function brokenCopy(file: string, edit: (objects: K8sObject[]) => void): string {
    const root = mkdtempSync(join(tmpdir(), 'bdp-manifests-'));
    made.push(root);
    cpSync(join(repoRoot, 'knative'), join(root, 'knative'), { recursive: true });
    const path = join(root, file);
    const objects = parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as K8sObject);
    const before = JSON.stringify(objects);
    edit(objects);
    expect(JSON.stringify(objects), 'the edit changed nothing').not.toBe(before);
    writeFileSync(path, objects.map((o) => stringify(o)).join('---\n'));
    return root;
  }

  const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`no ${kind}/${name}`);
    return found;
  };
  const spec = (object: K8sObject) => object['spec'] as Record<string, any>;

  function expectProblem(root: string, object: string, message: RegExp): void {
    const problems = problemsOf(renderAll(root));
    expect(problems).toContainEqual({ object, message: expect.stringMatching(message) });
  }

  it('(a) a legacy keda.autoscaling.knative.dev annotation', () => {
    const root = brokenCopy('knative/base/enrich.yaml', (objects) => {
      named(objects, 'KafkaSource', 'enrich').metadata.annotations!['keda.autoscaling.knative.dev/kafkaLagThreshold'] = '50';
    });
    expectProblem(root, 'KafkaSource/enrich', /keda.autoscaling.knative.dev\/kafkaLagThreshold is a legacy eventing-autoscaler-keda annotation/);
  });

  it('(a) the keda class on a Knative Service', () => {
    const root = brokenCopy('knative/base/index.yaml', (objects) => {
      spec(named(objects, 'Service', 'index'))['template'].metadata.annotations['autoscaling.knative.dev/class'] = 'keda.autoscaling.knative.dev';
    });
    expectProblem(root, 'Service/index', /legacy KEDA class/);
  });

  it('(b) a dead-letter sink that does not exist', () => {
    const root = brokenCopy('knative/base/index.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'index'))['delivery'].deadLetterSink.ref.name = 'dead-letter';
    });
    expectProblem(root, 'KafkaSource/index', /deadLetterSink → KafkaSink "dead-letter" \(eventing.knative.dev\/v1alpha1\) is not among the rendered objects/);
  });

  it('(b) a sink that does not exist', () => {
    const root = brokenCopy('knative/base/window-aggregate.yaml', (objects) => {
      spec(named(objects, 'PingSource', 'finalize-tick'))['sink'].ref.name = 'window-agregate';
    });
    expectProblem(root, 'PingSource/finalize-tick', /sink → Service "window-agregate"/);
    expect(() => loadTopology(root)).toThrow(/PingSource\/finalize-tick: spec.sink.ref must name a Knative Service/);
  });

  it('(c) max-scale above the partitions of the topic', () => {
    const root = brokenCopy('knative/base/enrich.yaml', (objects) => {
      named(objects, 'KafkaSource', 'enrich').metadata.annotations!['autoscaling.eventing.knative.dev/max-scale'] = '12';
    });
    expectProblem(root, 'KafkaSource/enrich', /max-scale 12 exceeds the 8 partitions of topic "data-stream"/);
    // The local runtime reads the same (broken) value: one reader for both.
    expect(loadTopology(root).kafkaSources.find((s) => s.name === 'enrich')?.scaling.maxScale).toBe(12);
  });

  it('(c) a missing max-scale falls back to the default 50', () => {
    const root = brokenCopy('knative/base/window-aggregate.yaml', (objects) => {
      delete named(objects, 'KafkaSource', 'window-aggregate').metadata.annotations!['autoscaling.eventing.knative.dev/max-scale'];
    });
    expectProblem(root, 'KafkaSource/window-aggregate', /max-scale 50 \(the default\) exceeds the 4 partitions of topic "windows"/);
  });

  it('(d) an image without a tag', () => {
    const root = brokenCopy('knative/base/generate.yaml', (objects) => {
      spec(named(objects, 'Service', 'generate'))['template'].spec.containers[0].image = 'dev.local/big-data-pipeline/generate';
    });
    expectProblem(root, 'Service/generate', /image "dev.local\/big-data-pipeline\/generate" has no tag/);
  });

  it('(d) an image tagged latest', () => {
    const root = brokenCopy('knative/base/enrich.yaml', (objects) => {
      spec(named(objects, 'Service', 'enrich'))['template'].spec.containers[0].image = 'dev.local/big-data-pipeline/enrich:latest';
    });
    expectProblem(root, 'Service/enrich', /uses the tag latest/);
  });

  it('(e) an ordering that does not exist', () => {
    const root = brokenCopy('knative/base/enrich.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'enrich'))['ordering'] = 'sideways';
    });
    expectProblem(root, 'KafkaSource/enrich', /spec.ordering must be one of ordered, unordered/);
  });

  it('(e) an unknown spec field', () => {
    const root = brokenCopy('knative/base/index.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'index'))['consumerGroupId'] = 'oops';
    });
    expectProblem(root, 'KafkaSource/index', /spec has unknown field "consumerGroupId"/);
  });

  it('(e) a malformed delivery duration', () => {
    const root = brokenCopy('knative/base/index.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'index'))['delivery'].timeout = '30s';
    });
    expectProblem(root, 'KafkaSource/index', /spec.delivery.timeout must match pattern/);
  });

  it('(e) a schema violation in a Knative Service', () => {
    const root = brokenCopy('knative/base/generate.yaml', (objects) => {
      spec(named(objects, 'Service', 'generate'))['template'].spec.containers[0].env[0].value = 35;
    });
    expectProblem(root, 'Service/generate', /spec.template.spec.containers.0.env.0.value must be string/);
  });

  it('a batch larger than KPA keeps in flight', () => {
    const root = brokenCopy('knative/base/index.yaml', (objects) => {
      spec(named(objects, 'Service', 'index'))['template'].metadata.annotations['autoscaling.knative.dev/target'] = '20';
    });
    expectProblem(root, 'Service/index', /BATCH_MAX_ITEMS 100 is above the 14 requests KPA keeps in flight per pod/);
  });

  it('a function that can hold a request past the delivery timeout', () => {
    const root = brokenCopy('knative/base/index.yaml', (objects) => {
      const env = spec(named(objects, 'Service', 'index'))['template'].spec.containers[0].env as { name: string; value?: string }[];
      env.find((e) => e.name === 'QUEUE_TIMEOUT_MS')!.value = '20000';
    });
    expectProblem(root, 'Service/index', /a request can be held 40 s \(QUEUE_TIMEOUT_MS 20 s \+ ELASTICSEARCH_TIMEOUT_MS × 3 15 s \+ KAFKA_SEND_TIMEOUT_MS 5 s\), not less than the delivery timeout of KafkaSource\/index \(30 s\)/);
  });

  it('a ksvc timeout not above the delivery timeout', () => {
    const root = brokenCopy('knative/base/enrich.yaml', (objects) => {
      spec(named(objects, 'Service', 'enrich'))['template'].spec.timeoutSeconds = 30;
    });
    expectProblem(root, 'Service/enrich', /timeoutSeconds 30 is not above the delivery timeout of KafkaSource\/enrich \(30 s\)/);
  });

  it('a containerConcurrency limit', () => {
    const root = brokenCopy('knative/base/enrich.yaml', (objects) => {
      spec(named(objects, 'Service', 'enrich'))['template'].spec.containerConcurrency = 10;
    });
    expectProblem(root, 'Service/enrich', /containerConcurrency is 10/);
  });

  it('a topic missing from the topic table', () => {
    const root = brokenCopy('knative/base/index.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'index'))['topics'] = ['events-enrichd'];
    });
    expectProblem(root, 'KafkaSource/index', /topic "events-enrichd" is not in the topic table/);
    expectProblem(root, 'Service/window-aggregate', /UPSTREAM_CONSUMER_GROUPS names big-data-pipeline-index:events-enriched, but no KafkaSource/);
  });

  it('an object outside the pipeline namespace', () => {
    // The kustomization's namespace transformer would fix a file's namespace, so edit the rendered set.
    const objects = renderAll(repoRoot);
    named(objects, 'KafkaSink', 'dead-letters').metadata.namespace = 'default';
    expect(problemsOf(objects)).toContainEqual({ object: 'KafkaSink/dead-letters', message: 'is in namespace default, not big-data-pipeline' });
  });
});
