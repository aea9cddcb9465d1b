import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { CeType } from '../../shared/ce-types.ts';
import { loadConfig } from '../../shared/config.ts';
import { fromKafkaRecord, producerFor } from '../../shared/kafka.ts';
import { createMetrics } from '../../shared/metrics.ts';
import type { EnrichedEvent } from '../../shared/schemas.ts';
import { UNREACHABLE, appOnOwnPlatform, binary, ce, isolatedEnv, rawEvent, readTopic, structured } from '../../test/helpers.ts';
import { build, configSchema } from './app.ts';

const NOW = Date.parse('2026-11-24T12:00:30.000Z');

const raw = rawEvent;

function app(env: Record<string, string>): FastifyInstance {
  const config = loadConfig(configSchema, env);
  const metrics = createMetrics({ function: 'enrich' });
  return build(config, { producer: producerFor('enrich', config, metrics), metrics, now: () => NOW });
}

describe('enrich handler (real Kafka)', () => {
  const { env, server } = appOnOwnPlatform(app);

  it('enriches a binary CloudEvent and produces it to events-enriched as a CE record', async () => {
    const res = await server.inject(binary(ce({ type: CeType.shopEvent, data: raw(), id: raw().event_id })));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ event_id: raw().event_id, window_start: '2026-11-24T12:00:00.000Z' });
    const [record] = await readTopic(env.TOPIC_ENRICHED!, 1);
    expect(record!.key!.toString()).toBe('4321');
    const event = fromKafkaRecord(record!);
    expect(event.id).toBe(raw().event_id);
    expect(event.type).toBe(CeType.enrichedEvent);
    const data = event.data as EnrichedEvent;
    expect(data).toMatchObject({ revenue_cents: 5997, price_cents: 1999, category: 'books', hour_of_day: 12, window_start: '2026-11-24T12:00:00.000Z' });
  });

  it('accepts a structured CloudEvent and a plain Kafka record relayed by a KafkaSource', async () => {
    const structuredRes = await server.inject(structured(ce({ type: CeType.shopEvent, data: raw({ event_id: '0c4b9bb8-4a4c-4a0e-9d0b-1a1e0d4c2f10' }) })));
    expect(structuredRes.statusCode).toBe(200);
    const plain = await server.inject(
      binary(ce({ type: CeType.kafkaRecord, id: 'partition:0/offset:7', data: raw({ event_id: '7d0a8c1e-2b3f-4a5d-8e6f-9a0b1c2d3e4f' }) })),
    );
    expect(plain.statusCode).toBe(200);
  });

  it('answers 400 for schema-invalid data, a wrong type and an event from the future', async () => {
    const invalid = await server.inject(binary(ce({ type: CeType.shopEvent, data: { ...raw(), price: 5 } })));
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().details).toEqual([{ path: '/price', message: 'must be >= 10' }]);
    const wrongType = await server.inject(binary(ce({ type: CeType.enrichedEvent, data: raw() })));
    expect(wrongType.statusCode).toBe(400);
    const future = await server.inject(binary(ce({ type: CeType.shopEvent, data: raw({ timestamp: '2026-11-24T12:01:00.001Z' }) })));
    expect(future.statusCode).toBe(400);
    expect(future.json().code).toBe('BDP_ERR_FUTURE_EVENT');
  });

  it('answers 413 for an oversize body', async () => {
    const res = await server.inject({ ...binary(ce({ type: CeType.shopEvent, data: raw() })), payload: JSON.stringify({ ...raw(), pad: 'x'.repeat(300_000) }) });
    expect(res.statusCode).toBe(413);
  });
});

describe('enrich handler with Kafka unreachable', () => {
  it('answers 503 and stays ready', async () => {
    const server = app(isolatedEnv(UNREACHABLE));
    const res = await server.inject(binary(ce({ type: CeType.shopEvent, data: raw() })));
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('BDP_ERR_DOWNSTREAM_UNAVAILABLE');
    expect((await server.inject({ url: '/health/readiness' })).statusCode).toBe(200);
    await server.close();
  });
});
