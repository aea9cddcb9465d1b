import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { CeSource, CeType } from '../../shared/ce-types.ts';
import { loadConfig } from '../../shared/config.ts';
import { fromKafkaRecord, producerFor } from '../../shared/kafka.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { RawEventSchema, type RawEvent } from '../../shared/schemas.ts';
import { validator } from '../../shared/validation.ts';
import { UNREACHABLE, appOnOwnPlatform, binary, ce, isolatedEnv, readTopic, structured, topicSize } from '../../test/helpers.ts';
import { build, configSchema } from './app.ts';
import { eventIdOf } from './generate.ts';

const isRawEvent = validator(RawEventSchema);
const REQUEST_TIME = '2026-11-24T12:00:00.000Z';

function app(env: Record<string, string>, nowMs: number): FastifyInstance {
  const config = loadConfig(configSchema, env);
  const metrics = createMetrics({ function: 'generate' });
  return build(config, { producer: producerFor('generate', config, metrics), metrics, now: () => nowMs });
}

describe('generate handler (real Kafka)', () => {
  // "now" is past the last event time, so nothing waits for its time to come.
  const { env, server } = appOnOwnPlatform((e) => app(e, Date.parse(REQUEST_TIME) + 61_000));

  it('produces the requested events as CE records keyed by user, and a retry reproduces them exactly', async () => {
    const request = ce({ type: CeType.generateRequest, id: 'req-1', source: '/curl', time: REQUEST_TIME, data: { count: 50 } });
    const first = await server.inject(binary(request));
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ produced: 50, first_event_time: REQUEST_TIME });
    const again = await server.inject(structured(request));
    expect(again.statusCode).toBe(200);

    const records = await readTopic(env.TOPIC_RAW!, 100);
    const events = records.map((r) => ({ key: r.key!.toString(), event: fromKafkaRecord(r) }));
    const ids = new Set(events.map((e) => e.event.id));
    expect(ids.size).toBe(50);
    for (let i = 0; i < 50; i++) expect(ids.has(eventIdOf('/curl', 'req-1', i))).toBe(true);
    for (const { key, event } of events) {
      const data = event.data as RawEvent;
      expect(isRawEvent(data), JSON.stringify(isRawEvent.issues(data))).toBe(true);
      expect(event.type).toBe(CeType.shopEvent);
      expect(event.source).toBe(CeSource.generate);
      expect(event.id).toBe(data.event_id);
      expect(event.time).toBe(data.timestamp);
      expect(key).toBe(String(data.user_id));
    }
    const byId = new Map<string, string>();
    for (const { event } of events) {
      const json = JSON.stringify(event.data);
      expect(byId.get(event.id) ?? json).toBe(json);
      byId.set(event.id, json);
    }
  });

  it('answers a PingSource tick with one event per second for the next minute', async () => {
    const tick = ce({ type: CeType.ping, id: 'tick-1', source: '/apis/v1/namespaces/big-data-pipeline/pingsources/generate-tick', time: REQUEST_TIME, data: {} });
    const before = await topicSize(env.TOPIC_RAW!);
    const res = await server.inject(binary(tick));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ produced: 60, first_event_time: REQUEST_TIME, last_event_time: '2026-11-24T12:00:59.000Z' });
    expect((await topicSize(env.TOPIC_RAW!)) - before).toBe(60);
  });

  it.each([
    ['a count above the cap', { count: 100_001 }],
    ['a rate above the cap', { ratePerSecond: 20_000, durationSeconds: 1 }],
    ['a duration above the cap', { ratePerSecond: 1, durationSeconds: 901 }],
    ['both count and rate', { count: 10, ratePerSecond: 1, durationSeconds: 10 }],
    ['rate without duration', { ratePerSecond: 10 }],
    ['neither', {}],
    ['an unknown field', { count: 1, colour: 'red' }],
  ])('answers 400 for %s', async (_name, data) => {
    const res = await server.inject(binary(ce({ type: CeType.generateRequest, time: REQUEST_TIME, data })));
    expect(res.statusCode).toBe(400);
    expect(typeof res.json().error).toBe('string');
  });

  it('answers 400 for a request without a time to anchor to', async () => {
    const res = await server.inject(binary(ce({ type: CeType.generateRequest, data: { count: 1 } })));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/time/);
  });
});

describe('generate handler with Kafka unreachable', () => {
  it('answers 503 and stays ready', async () => {
    const server = app(isolatedEnv(UNREACHABLE), Date.parse(REQUEST_TIME) + 61_000);
    const res = await server.inject(binary(ce({ type: CeType.generateRequest, time: REQUEST_TIME, data: { count: 5 } })));
    expect(res.statusCode).toBe(503);
    expect((await server.inject({ url: '/health/readiness' })).statusCode).toBe(200);
    await server.close();
  });
});
