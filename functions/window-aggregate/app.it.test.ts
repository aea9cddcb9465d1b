import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CeType } from '../../shared/ce-types.ts';
import { loadConfig } from '../../shared/config.ts';
import { esClientFor, eventsIndexOf } from '../../shared/elasticsearch.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { windowStartOf } from '../../shared/window.ts';
import { UNREACHABLE, binary, ce, esClient, isolatedEnv, kafka, preparePlatform, structured } from '../../test/helpers.ts';
import { build, configSchema } from './app.ts';

function app(env: Record<string, string>): FastifyInstance {
  const config = loadConfig(configSchema, env);
  const admin = config.UPSTREAM_CONSUMER_GROUPS ? kafka().admin() : undefined;
  return build(config, { es: esClientFor(config), admin, metrics: createMetrics({ function: 'window-aggregate' }) });
}

describe('window-aggregate handler (real Elasticsearch)', () => {
  const env = isolatedEnv();
  const es = esClient();
  let server: FastifyInstance;
  const windowStartMs = windowStartOf(Date.now() - 10 * 60_000);
  const windowStart = new Date(windowStartMs).toISOString();

  beforeAll(async () => {
    await preparePlatform(env);
    server = app(env);
    const docs = [
      { user_id: 1001, event_type: 'purchase', region: 'EU', price_cents: 1999, quantity: 2, revenue_cents: 3998 },
      { user_id: 1001, event_type: 'purchase', region: 'EU', price_cents: 1000, quantity: 1, revenue_cents: 1000 },
      { user_id: 1002, event_type: 'view', region: 'US', price_cents: 2500, quantity: 3, revenue_cents: 0 },
    ];
    await es.bulk({
      refresh: false,
      operations: docs.flatMap((d, i) => [
        { index: { _index: eventsIndexOf(env.EVENTS_INDEX!, windowStartMs), _id: `e${i}` } },
        {
          ...d,
          event_id: `e${i}`,
          timestamp: new Date(windowStartMs + i * 1000).toISOString(),
          window_start: windowStart,
          indexed_at: new Date().toISOString(),
        },
      ]),
    });
  });
  afterAll(async () => {
    await server.close();
    await es.close();
  });

  it('recomputes a touched window into one document per event type and region', async () => {
    const res = await server.inject(binary(ce({ type: CeType.windowTouched, data: { window_start: windowStart } })));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ window_start: windowStart, cells: 2, events: 3 });
    await es.indices.refresh({ index: env.AGGREGATES_INDEX! });
    const purchase = await es.get<Record<string, unknown>>({ index: env.AGGREGATES_INDEX!, id: `${windowStart}|purchase|EU` });
    expect(purchase._source).toMatchObject({ count: 2, revenue_cents: 4998, revenue: 49.98, quantity: 3, unique_users: 1, avg_price: 14.995 });
  });

  it('finalizes due windows on the PingSource tick', async () => {
    const res = await server.inject(structured(ce({ type: CeType.ping, data: {} })));
    expect(res.statusCode).toBe(200);
    expect(res.json().recomputed).toContain(windowStart);
    await es.indices.refresh({ index: env.AGGREGATES_INDEX! });
    const view = await es.get<Record<string, unknown>>({ index: env.AGGREGATES_INDEX!, id: `${windowStart}|view|US` });
    expect(view._source).toMatchObject({ status: 'final', final_count: 1, late_events: 0, count: 1 });
  });

  it('recomputes a window once, not on every tick, after a duplicate is re-indexed into it', async () => {
    const index = eventsIndexOf(env.EVENTS_INDEX!, windowStartMs);
    const e0 = await es.get<Record<string, unknown>>({ index, id: 'e0' });
    await es.index({ index, id: 'e0', document: { ...e0._source, indexed_at: new Date().toISOString() } });
    await sleep(1100); // past the clock-skew margin between the indexing and the recomputation
    const first = await server.inject(structured(ce({ type: CeType.ping, data: {} })));
    expect(first.json().recomputed).toContain(windowStart);
    const second = await server.inject(structured(ce({ type: CeType.ping, data: {} })));
    expect(second.statusCode).toBe(200);
    expect(second.json().recomputed).not.toContain(windowStart);
  });

  it('answers an empty window, not an error, when no events index holds its day (none indexed yet, or deleted by retention)', async () => {
    const other = app({ ...env, EVENTS_INDEX: `${env.EVENTS_INDEX}-missing` });
    const res = await other.inject(binary(ce({ type: CeType.windowTouched, data: { window_start: windowStart } })));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ window_start: windowStart, cells: 0, events: 0, status: 'empty' });
    const tick = await other.inject(binary(ce({ type: CeType.ping, data: {} })));
    expect(tick.statusCode).toBe(200);
    expect(tick.json().recomputed).toEqual([]);
    await other.close();
  });

  it('answers 400 for an invalid notice', async () => {
    const res = await server.inject(binary(ce({ type: CeType.windowTouched, data: { window_start: 'soon' } })));
    expect(res.statusCode).toBe(400);
  });
});

describe('window-aggregate handler with Elasticsearch unreachable', () => {
  it('answers 503 and stays healthy', async () => {
    const server = app(isolatedEnv({ ELASTICSEARCH_URL: UNREACHABLE.ELASTICSEARCH_URL }));
    const res = await server.inject(binary(ce({ type: CeType.windowTouched, data: { window_start: '2026-11-24T12:00:00.000Z' } })));
    expect(res.statusCode).toBe(503);
    const tick = await server.inject(binary(ce({ type: CeType.ping, data: {} })));
    expect(tick.statusCode).toBe(503);
    expect((await server.inject({ url: '/health/liveness' })).statusCode).toBe(200);
    await server.close();
  });

  it('fails a notice and the follow-up queued behind it without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    const server = app(isolatedEnv({ ELASTICSEARCH_URL: UNREACHABLE.ELASTICSEARCH_URL }));
    try {
      const notice = () => server.inject(binary(ce({ type: CeType.windowTouched, data: { window_start: '2026-11-24T12:00:00.000Z' } })));
      const answers = await Promise.all([notice(), notice(), notice()]);
      expect(answers.map((a) => a.statusCode)).toEqual([503, 503, 503]);
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      await server.close();
    }
  });
});

describe('window-aggregate watermark held by an upstream backlog (real Kafka + Elasticsearch)', () => {
  it('does not finalize a window while an upstream group still has older events to deliver', async () => {
    const env = isolatedEnv();
    await preparePlatform(env);
    const es = esClient();
    const group = `upstream-${env.TOPIC_RAW}`;
    const windowStartMs = windowStartOf(Date.now() - 10 * 60_000);
    const windowStart = new Date(windowStartMs).toISOString();
    await es.index({
      index: eventsIndexOf(env.EVENTS_INDEX!, windowStartMs),
      id: 'only',
      refresh: true,
      document: { event_id: 'only', timestamp: windowStart, window_start: windowStart, event_type: 'view', region: 'EU', user_id: 1001, price_cents: 1000, quantity: 1, revenue_cents: 0, indexed_at: new Date().toISOString() },
    });
    // Upstream: three events of that window still waiting for a consumer group at offset 0.
    const admin = kafka().admin();
    await admin.connect();
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic: env.TOPIC_RAW!, messages: [0, 1, 2].map((i) => ({ value: `e${i}`, partition: 0, timestamp: String(windowStartMs + i) })) });
    await producer.disconnect();
    await admin.setOffsets({ groupId: group, topic: env.TOPIC_RAW!, partitions: (await admin.fetchTopicOffsets(env.TOPIC_RAW!)).map((o) => ({ partition: o.partition, offset: '0' })) });

    const server = app({ ...env, UPSTREAM_CONSUMER_GROUPS: `${group}:${env.TOPIC_RAW}`, LAG_CACHE_MS: '0' });
    const held = await server.inject(binary(ce({ type: CeType.ping, data: {} })));
    expect(held.statusCode).toBe(200);
    // The watermark may reach the window's own events, never past the undelivered ones.
    const heldAt = held.json().watermark as string | null;
    expect(heldAt === null || Date.parse(heldAt) <= windowStartMs).toBe(true);
    await es.indices.refresh({ index: env.AGGREGATES_INDEX! });
    expect((await es.get<{ status: string }>({ index: env.AGGREGATES_INDEX!, id: `${windowStart}|view|EU` }))._source!.status).toBe('open');

    // The backlog is delivered (offsets committed to the end): the next tick finalizes.
    await admin.setOffsets({ groupId: group, topic: env.TOPIC_RAW!, partitions: (await admin.fetchTopicOffsets(env.TOPIC_RAW!)).map((o) => ({ partition: o.partition, offset: o.high })) });
    const released = await server.inject(binary(ce({ type: CeType.ping, data: {} })));
    expect(Date.parse(released.json().watermark)).toBeGreaterThan(windowStartMs + 60_000);
    await es.indices.refresh({ index: env.AGGREGATES_INDEX! });
    expect((await es.get<{ status: string }>({ index: env.AGGREGATES_INDEX!, id: `${windowStart}|view|EU` }))._source!.status).toBe('final');
    await admin.disconnect();
    await server.close();
    await es.close();
  });
});
