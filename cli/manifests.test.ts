/**
 * The manifests in knative/ render, validate and agree with each other, and
 * deliberately broken copies are caught. Needs kubectl (kustomize) but no cluster, Kafka or
 * Elasticsearch.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { loadConfig, topicConfig } from '../shared/config.ts';
import { pipelineTopics } from '../shared/topology.ts';
import kafkaSourceSchema from './schemas/kafkasource.v1.json' with { type: 'json' };
import {
  crossCheck,
  imagePinProblem,
  knownKinds,
  loadTopology,
  parseIsoDurationMs,
  render,
  repoRoot,
  topologyOf,
  validateObjects,
  type K8sObject,
  type Problem,
} from './manifests.ts';

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

function renderAll(root: string): K8sObject[] {
  return render(join(root, 'knative'));
}

function problemsOf(objects: K8sObject[]): Problem[] {
  return [...validateObjects(objects), ...crossCheck(objects, topics)];
}

describe('the real manifests', () => {
  const objects = renderAll(repoRoot);

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

describe('loadTopology', () => {
  const topology = loadTopology();
  const service = (name: string) => topology.services.find((s) => s.name === name)!;
  const source = (name: string) => topology.kafkaSources.find((s) => s.name === name)!;

  it('reads the four functions', () => {
    expect(topology.namespace).toBe('big-data-pipeline');
    expect(topology.services.map((s) => s.name).sort()).toEqual(['enrich', 'generate', 'index', 'window-aggregate']);
    expect(service('generate')).toMatchObject({
      image: 'dev.local/big-data-pipeline/generate:0.1.0',
      containerConcurrency: 0,
      timeoutSeconds: 150,
      kpa: { target: 50, minScale: 0, maxScale: 4 },
      visibility: 'public',
    });
    for (const name of ['enrich', 'index', 'window-aggregate']) {
      expect(service(name).visibility).toBe('cluster-local');
      expect(service(name).timeoutSeconds).toBe(60);
    }
    expect(service('enrich').kpa).toMatchObject({ target: 200, maxScale: 4 });
    expect(service('window-aggregate').kpa.maxScale).toBe(4);
  });

  it('keeps literal env values and leaves secret references out', () => {
    expect(service('index').env).toMatchObject({
      KAFKA_BROKERS: 'kafka.big-data-pipeline.svc.cluster.local:9092',
      ELASTICSEARCH_URL: 'http://elasticsearch.big-data-pipeline.svc.cluster.local:9200',
      BATCH_MAX_ITEMS: '100',
      BATCH_MAX_WAIT_MS: '20',
      QUEUE_TIMEOUT_MS: '8000',
      ELASTICSEARCH_TIMEOUT_MS: '5000',
      KAFKA_SEND_TIMEOUT_MS: '5000',
    });
    expect(service('index').env).not.toHaveProperty('ELASTICSEARCH_PASSWORD');
    expect(service('window-aggregate').env['UPSTREAM_CONSUMER_GROUPS']).toBe(
      'big-data-pipeline-enrich:data-stream,big-data-pipeline-index:events-enriched',
    );
  });

  it('reads the KafkaSources: sinks, ordering, delivery in ms, scaling annotations', () => {
    expect(source('enrich')).toEqual({
      name: 'enrich',
      topics: ['data-stream'],
      consumerGroup: 'big-data-pipeline-enrich',
      initialOffset: 'latest',
      ordering: 'unordered',
      sink: 'enrich',
      delivery: {
        retry: 10,
        backoffPolicy: 'exponential',
        backoffDelayMs: 200,
        timeoutMs: 30_000,
        deadLetterSink: { kind: 'KafkaSink', name: 'dead-letters' },
      },
      consumers: 1,
      autoscaled: true,
      scaling: { minScale: 0, maxScale: 4, lagThreshold: 10_000, pollingIntervalS: 10, cooldownPeriodS: 60 },
    });
    expect(source('index')).toMatchObject({ topics: ['events-enriched'], consumerGroup: 'big-data-pipeline-index', ordering: 'unordered', sink: 'index' });
    expect(source('window-aggregate')).toMatchObject({
      topics: ['windows'],
      consumerGroup: 'big-data-pipeline-window-aggregate',
      ordering: 'ordered',
      sink: 'window-aggregate',
      scaling: { maxScale: 1, lagThreshold: 100 },
    });
  });

  it('reads the PingSources and the dead-letter sink', () => {
    expect(topology.pingSources.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'finalize-tick', schedule: '* * * * *', contentType: 'application/json', data: '{}', sink: 'window-aggregate' },
      { name: 'generate-tick', schedule: '* * * * *', contentType: 'application/json', data: '{}', sink: 'generate' },
    ]);
    expect(topology.kafkaSinks).toEqual([{ name: 'dead-letters', topic: 'dead-letters' }]);
  });

  it('fills in Knative defaults where the manifests are silent', () => {
    const bare = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'big-data-pipeline' } },
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'fn', namespace: 'big-data-pipeline' },
        spec: { template: { spec: { containers: [{ image: 'x/fn:1' }] } } },
      },
      {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'KafkaSource',
        metadata: { name: 'src', namespace: 'big-data-pipeline' },
        spec: { bootstrapServers: ['k:9092'], topics: ['t'], sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'fn' } } },
      },
    ] as K8sObject[];
    const t = topologyOf(bare);
    expect(t.services[0]).toMatchObject({ containerConcurrency: 0, timeoutSeconds: 300, kpa: { target: 100, minScale: 0, maxScale: 0 } });
    expect(t.kafkaSources[0]).toMatchObject({
      initialOffset: 'latest',
      ordering: 'ordered',
      // No delivery block at all: the source reconciler's injected defaults.
      delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 300, timeoutMs: 600_000 },
      scaling: { minScale: 0, maxScale: 50, lagThreshold: 100, pollingIntervalS: 10, cooldownPeriodS: 30 },
    });
    const withPartialDelivery = structuredClone(bare);
    (withPartialDelivery[2]!['spec'] as Record<string, unknown>)['delivery'] = { timeout: 'PT1M' };
    // A delivery block is used as is: retry unset means no retries.
    expect(topologyOf(withPartialDelivery).kafkaSources[0]!.delivery).toEqual({
      retry: 0,
      backoffPolicy: 'exponential',
      backoffDelayMs: 200,
      timeoutMs: 60_000,
    });
  });
});

describe('parseIsoDurationMs', () => {
  it.each([
    ['PT0.2S', 200],
    ['PT30S', 30_000],
    ['PT1M', 60_000],
    ['PT1.5S', 1500],
    ['PT1H30M', 5_400_000],
    ['PT600S', 600_000],
    ['P1D', 86_400_000],
    ['P1DT2H3M4.5S', 93_784_500],
  ])('%s = %d ms', (text, ms) => {
    expect(parseIsoDurationMs(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', 'P1DT', '30s', 'PT-1S', 'PT1.S', 'P1Y', 'P1M', 'P1W', 'pt1s', ' PT1S'])('rejects "%s"', (text) => {
    expect(() => parseIsoDurationMs(text)).toThrow(/ISO-8601/);
  });

  it('accepts exactly what the KafkaSource schema accepts', () => {
    const pattern = new RegExp(kafkaSourceSchema.definitions.duration.pattern, 'u');
    for (const text of ['PT0.2S', 'PT30S', 'PT1M', 'P1DT2H3M4.5S', '', 'P', 'PT', 'P1DT', '30s', 'P1Y', 'P1W']) {
      let parses = true;
      try {
        parseIsoDurationMs(text);
      } catch {
        parses = false;
      }
      expect(pattern.test(text), text).toBe(parses);
    }
  });
});

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
    const root = brokenCopy('knative/enrich.yaml', (objects) => {
      named(objects, 'KafkaSource', 'enrich').metadata.annotations!['keda.autoscaling.knative.dev/kafkaLagThreshold'] = '50';
    });
    expectProblem(root, 'KafkaSource/enrich', /keda.autoscaling.knative.dev\/kafkaLagThreshold is a legacy eventing-autoscaler-keda annotation/);
  });

  it('(a) the keda class on a Knative Service', () => {
    const root = brokenCopy('knative/index.yaml', (objects) => {
      spec(named(objects, 'Service', 'index'))['template'].metadata.annotations['autoscaling.knative.dev/class'] = 'keda.autoscaling.knative.dev';
    });
    expectProblem(root, 'Service/index', /legacy KEDA class/);
  });

  it('(b) a dead-letter sink that does not exist', () => {
    const root = brokenCopy('knative/index.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'index'))['delivery'].deadLetterSink.ref.name = 'dead-letter';
    });
    expectProblem(root, 'KafkaSource/index', /deadLetterSink → KafkaSink "dead-letter" \(eventing.knative.dev\/v1alpha1\) is not among the rendered objects/);
  });

  it('(b) a sink that does not exist', () => {
    const root = brokenCopy('knative/window-aggregate.yaml', (objects) => {
      spec(named(objects, 'PingSource', 'finalize-tick'))['sink'].ref.name = 'window-agregate';
    });
    expectProblem(root, 'PingSource/finalize-tick', /sink → Service "window-agregate"/);
    expect(() => loadTopology(root)).toThrow(/PingSource\/finalize-tick: spec.sink.ref must name a Knative Service/);
  });

  it('(c) max-scale above the partitions of the topic', () => {
    const root = brokenCopy('knative/enrich.yaml', (objects) => {
      named(objects, 'KafkaSource', 'enrich').metadata.annotations!['autoscaling.eventing.knative.dev/max-scale'] = '12';
    });
    expectProblem(root, 'KafkaSource/enrich', /max-scale 12 exceeds the 8 partitions of topic "data-stream"/);
    // The local runtime reads the same (broken) value: one reader for both.
    expect(loadTopology(root).kafkaSources.find((s) => s.name === 'enrich')?.scaling.maxScale).toBe(12);
  });

  it('(c) a missing max-scale falls back to the default 50', () => {
    const root = brokenCopy('knative/window-aggregate.yaml', (objects) => {
      delete named(objects, 'KafkaSource', 'window-aggregate').metadata.annotations!['autoscaling.eventing.knative.dev/max-scale'];
    });
    expectProblem(root, 'KafkaSource/window-aggregate', /max-scale 50 \(the default\) exceeds the 4 partitions of topic "windows"/);
  });

  it('(d) an image without a tag', () => {
    const root = brokenCopy('knative/generate.yaml', (objects) => {
      spec(named(objects, 'Service', 'generate'))['template'].spec.containers[0].image = 'dev.local/big-data-pipeline/generate';
    });
    expectProblem(root, 'Service/generate', /image "dev.local\/big-data-pipeline\/generate" has no tag/);
  });

  it('(d) an image tagged latest', () => {
    const root = brokenCopy('knative/enrich.yaml', (objects) => {
      spec(named(objects, 'Service', 'enrich'))['template'].spec.containers[0].image = 'dev.local/big-data-pipeline/enrich:latest';
    });
    expectProblem(root, 'Service/enrich', /uses the tag latest/);
  });

  it('(e) an ordering that does not exist', () => {
    const root = brokenCopy('knative/enrich.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'enrich'))['ordering'] = 'sideways';
    });
    expectProblem(root, 'KafkaSource/enrich', /spec.ordering must be one of ordered, unordered/);
  });

  it('(e) an unknown spec field', () => {
    const root = brokenCopy('knative/index.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'index'))['consumerGroupId'] = 'oops';
    });
    expectProblem(root, 'KafkaSource/index', /spec has unknown field "consumerGroupId"/);
  });

  it('(e) a malformed delivery duration', () => {
    const root = brokenCopy('knative/index.yaml', (objects) => {
      spec(named(objects, 'KafkaSource', 'index'))['delivery'].timeout = '30s';
    });
    expectProblem(root, 'KafkaSource/index', /spec.delivery.timeout must match pattern/);
  });

  it('(e) a schema violation in a Knative Service', () => {
    const root = brokenCopy('knative/generate.yaml', (objects) => {
      spec(named(objects, 'Service', 'generate'))['template'].spec.containers[0].env[0].value = 35;
    });
    expectProblem(root, 'Service/generate', /spec.template.spec.containers.0.env.0.value must be string/);
  });

  it('a batch larger than KPA keeps in flight', () => {
    const root = brokenCopy('knative/index.yaml', (objects) => {
      spec(named(objects, 'Service', 'index'))['template'].metadata.annotations['autoscaling.knative.dev/target'] = '20';
    });
    expectProblem(root, 'Service/index', /BATCH_MAX_ITEMS 100 is above the 14 requests KPA keeps in flight per pod/);
  });

  it('a function that can hold a request past the delivery timeout', () => {
    const root = brokenCopy('knative/index.yaml', (objects) => {
      const env = spec(named(objects, 'Service', 'index'))['template'].spec.containers[0].env as { name: string; value?: string }[];
      env.find((e) => e.name === 'QUEUE_TIMEOUT_MS')!.value = '20000';
    });
    expectProblem(root, 'Service/index', /a request can be held 40 s \(QUEUE_TIMEOUT_MS 20 s \+ ELASTICSEARCH_TIMEOUT_MS × 3 15 s \+ KAFKA_SEND_TIMEOUT_MS 5 s\), not less than the delivery timeout of KafkaSource\/index \(30 s\)/);
  });

  it('a ksvc timeout not above the delivery timeout', () => {
    const root = brokenCopy('knative/enrich.yaml', (objects) => {
      spec(named(objects, 'Service', 'enrich'))['template'].spec.timeoutSeconds = 30;
    });
    expectProblem(root, 'Service/enrich', /timeoutSeconds 30 is not above the delivery timeout of KafkaSource\/enrich \(30 s\)/);
  });

  it('a containerConcurrency limit', () => {
    const root = brokenCopy('knative/enrich.yaml', (objects) => {
      spec(named(objects, 'Service', 'enrich'))['template'].spec.containerConcurrency = 10;
    });
    expectProblem(root, 'Service/enrich', /containerConcurrency is 10/);
  });

  it('a topic missing from the topic table', () => {
    const root = brokenCopy('knative/index.yaml', (objects) => {
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
