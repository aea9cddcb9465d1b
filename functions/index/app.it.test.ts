import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CeType } from '../../shared/ce-types.ts';
import { eventsIndexOf } from '../../shared/elasticsearch.ts';
import { fromKafkaRecord } from '../../shared/kafka.ts';
import type { EnrichedEvent } from '../../shared/schemas.ts';
import { UNREACHABLE, binary, ce, esClient, isolatedEnv, preparePlatform, readTopic, structured } from '../../test/helpers.ts';
import { app, enriched } from './fixtures.ts';

describe('index handler (real Elasticsearch and Kafka)', () => {
  const env = isolatedEnv();
  const es = esClient();
  let server: FastifyInstance;
  beforeAll(async () => {
    await preparePlatform(env);
    server = app(env);
  });
  afterAll(async () => {
    await server.close();
    await es.close();
  });

  it('indexes binary and structured CEs under the event id, batched, and announces the window', async () => {
    const events = Array.from({ length: 100 }, (_, i) => enriched(i));
    const answers = await Promise.all(
      events.map((e, i) => server.inject((i % 2 ? binary : structured)(ce({ type: CeType.enrichedEvent, id: e.event_id, data: e })))),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(events.map(() => 200));
    // A replay of the same event overwrites its document.
    expect((await server.inject(binary(ce({ type: CeType.enrichedEvent, data: events[0]! })))).statusCode).toBe(200);

    await es.indices.refresh({ index: env.EVENTS_INDEX! });
    expect((await es.count({ index: env.EVENTS_INDEX! })).count).toBe(100);
    const doc = await es.get<EnrichedEvent & { indexed_at: string }>({ index: env.EVENTS_INDEX!, id: events[5]!.event_id });
    expect(doc._source).toMatchObject(events[5]!);
    expect(Date.parse(doc._source!.indexed_at)).toBeGreaterThan(Date.now() - 60_000);

    const [notice] = await readTopic(env.TOPIC_WINDOWS!, 1);
    expect(notice!.key!.toString()).toBe('2026-11-24T12:00:00.000Z');
    expect(fromKafkaRecord(notice!)).toMatchObject({ type: CeType.windowTouched, data: { window_start: '2026-11-24T12:00:00.000Z' } });

    const metrics = (await server.inject({ url: '/metrics' })).body;
    const bulks = Number(/pipeline_batch_size_count\{[^}]*batcher="bulk"[^}]*\} (\d+)/.exec(metrics)?.[1]);
    expect(bulks).toBeGreaterThan(0);
    expect(bulks).toBeLessThan(50);
  });

  it('answers 400 for schema-invalid data and a wrong type', async () => {
    const invalid = await server.inject(binary(ce({ type: CeType.enrichedEvent, data: { ...enriched(1), revenue_cents: -1 } })));
    expect(invalid.statusCode).toBe(400);
    const wrongType = await server.inject(binary(ce({ type: CeType.shopEvent, data: enriched(1) })));
    expect(wrongType.statusCode).toBe(400);
  });
});

describe('index handler when Elasticsearch rejects the document', () => {
  it('answers 400 from the bulk item (a mapping error is not retried)', async () => {
    const env = isolatedEnv();
    const es = esClient();
    // A daily index whose mapping cannot take our document: brand must be a number there.
    const event = enriched(7);
    await es.indices.create({ index: eventsIndexOf(env.EVENTS_INDEX!, Date.parse(event.timestamp)), mappings: { properties: { brand: { type: 'integer' } } } });
    await preparePlatform(env);
    const server = app(env);
    const res = await server.inject(binary(ce({ type: CeType.enrichedEvent, data: event })));
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('BDP_ERR_REJECTED_BY_STORE');
    await server.close();
    await es.close();
  });
});

describe('index handler with a downstream unreachable', () => {
  it('answers 503 when Elasticsearch is unreachable, and stays healthy', async () => {
    const server = app(isolatedEnv(UNREACHABLE));
    const res = await server.inject(binary(ce({ type: CeType.enrichedEvent, data: enriched(1) })));
    expect(res.statusCode).toBe(503);
    expect((await server.inject({ url: '/health/liveness' })).statusCode).toBe(200);
    await server.close();
  });

  it('answers 503 when the window notice cannot be produced (Kafka unreachable)', async () => {
    const env = isolatedEnv();
    await preparePlatform(env);
    const server = app({ ...env, KAFKA_BROKERS: UNREACHABLE.KAFKA_BROKERS });
    const res = await server.inject(binary(ce({ type: CeType.enrichedEvent, data: enriched(2) })));
    expect(res.statusCode).toBe(503);
    await server.close();
  });
});
