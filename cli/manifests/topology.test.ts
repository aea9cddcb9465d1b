/**
 * The typed topology read from knative/: what the local runtime and the deploy tool see,
 * with Knative's defaults filled in where the manifests are silent. Needs kubectl.
 */
import { describe, expect, it } from 'vitest';
import type { K8sObject } from './objects.ts';
import { loadTopology, topologyOf } from './topology.ts';

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
