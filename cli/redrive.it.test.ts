import { randomBytes } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import { beforeAll, describe, expect, it } from 'vitest';
import { CeType } from '../shared/ce-types.ts';
import { EventProducer, fromKafkaRecord, toKafkaRecord } from '../shared/kafka.ts';
import { elasticsearchUrl, kafkaBrokers } from '../test/infra.ts';
import { kafka, readTopic, topicSize } from '../test/helpers.ts';
import { isolated } from './dev/local-topology.ts';
import { loadTopology } from './manifests/index.ts';
import { redrive } from './redrive.ts';
import { setupPlatform } from './setup.ts';

describe('make redrive (real Kafka)', () => {
  const suffix = randomBytes(4).toString('hex');
  const topology = isolated(loadTopology(), suffix);
  const topic = (base: string) => `${base}-${suffix}`;

  beforeAll(async () => {
    await setupPlatform({
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers,
      ELASTICSEARCH_URL: elasticsearchUrl,
      TOPIC_RAW: topic('data-stream'),
      TOPIC_ENRICHED: topic('events-enriched'),
      TOPIC_WINDOWS: topic('windows'),
      TOPIC_DEAD_LETTERS: topic('dead-letters'),
      EVENTS_INDEX: topic('events'),
      AGGREGATES_INDEX: topic('events-aggregated'),
      FINALS_INDEX: topic('window-finals'),
    });
  });

  const letter = (id: string, type: string, dest: string, code: string | undefined, data: object) =>
    new CloudEvent(
      {
        id,
        source: '/test',
        type,
        datacontenttype: 'application/json',
        data,
        knativeerrordest: `http://${dest}.big-data-pipeline.svc.cluster.local`,
        knativeerrordata: Buffer.from('{"error":"boom"}').toString('base64'),
        knativekafkapartition: '0',
        knativekafkaoffset: '7',
        ...(code ? { knativeerrorcode: code } : {}),
      },
      false,
    );

  it('sends 5xx and timed-out letters back to their source topic and lists the bad ones', async () => {
    const producer = new EventProducer(kafka(), { maxItems: 10, maxWaitMs: 5, sendTimeoutMs: 10_000 });
    await producer.sendAll(topic('dead-letters'), [
      toKafkaRecord(letter('a', CeType.enrichedEvent, 'index', '503', { user_id: 1234 }), null),
      toKafkaRecord(letter('b', CeType.shopEvent, 'enrich', undefined, { user_id: 4321 }), null),
      toKafkaRecord(letter('c', CeType.shopEvent, 'enrich', '400', { user_id: 1 }), null),
      toKafkaRecord(letter('d', CeType.windowTouched, 'window-aggregate', '500', { window_start: '2026-11-24T12:00:00.000Z' }), null),
    ]);
    await producer.close();

    const group = `redrive-${suffix}`;
    const report = await redrive(kafka(), topology, topic('dead-letters'), group);
    expect(report.redriven).toBe(3);
    expect(report.kept).toEqual([{ id: 'c', type: CeType.shopEvent, code: '400', reason: '{"error":"boom"}' }]);

    const [enriched] = await readTopic(topic('events-enriched'), 1);
    expect(enriched!.key!.toString()).toBe('1234');
    const event = fromKafkaRecord(enriched!);
    expect(event.id).toBe('a');
    for (const ext of ['knativeerrorcode', 'knativeerrordest', 'knativeerrordata', 'knativekafkaoffset']) expect(event[ext]).toBeUndefined();
    expect((await readTopic(topic('data-stream'), 1)).map((r) => fromKafkaRecord(r).id)).toEqual(['b']);
    const [notice] = await readTopic(topic('windows'), 1);
    expect(notice!.key!.toString()).toBe('2026-11-24T12:00:00.000Z');

    // A second run finds nothing new.
    expect(await redrive(kafka(), topology, topic('dead-letters'), group)).toEqual({ redriven: 0, kept: [] });
    expect(await topicSize(topic('data-stream'))).toBe(1);
  });
});
