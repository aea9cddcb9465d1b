/**
 * Handler tests that need neither Kafka nor Elasticsearch: the answers given before any I/O.
 * The downstreams are unreachable, so an event that passes every check answers 503.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CeType } from '../../shared/ce-types.ts';
import { loadConfig } from '../../shared/config.ts';
import { esClientFor } from '../../shared/elasticsearch.ts';
import { producerFor } from '../../shared/kafka.ts';
import { createMetrics } from '../../shared/metrics.ts';
import type { EnrichedEvent } from '../../shared/schemas.ts';
import { UNREACHABLE, binary, ce, isolatedEnv, structured } from '../../test/helpers.ts';
import { build, configSchema } from './app.ts';

function enriched(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  return {
    event_id: '00000000-0000-4000-8000-000000000001',
    timestamp: '2026-11-24T12:00:42.123Z',
    user_id: 1001,
    session_id: 10001,
    event_type: 'view',
    product_id: 101,
    price: 10.5,
    price_cents: 1050,
    quantity: 1,
    revenue_cents: 0,
    region: 'US',
    device: 'mobile',
    window_start: '2026-11-24T12:00:00.000Z',
    category: 'electronics',
    brand: 'Acme',
    hour_of_day: 12,
    enriched_at: '2026-11-24T12:01:00.000Z',
    ...overrides,
  };
}

describe('index handler: window_start must be the minute of timestamp', () => {
  let server: FastifyInstance;
  beforeAll(async () => {
    const config = loadConfig(configSchema, isolatedEnv({ ...UNREACHABLE, BATCH_MAX_WAIT_MS: '1' }));
    const metrics = createMetrics({ function: 'index' });
    server = build(config, { es: esClientFor(config), producer: producerFor('index', config, metrics), metrics });
    await server.ready();
  });
  afterAll(() => server.close());

  it.each([
    ['another minute', '2026-11-24T12:05:00.000Z'],
    ['not the start of a minute', '2026-11-24T12:00:30.000Z'],
  ])('answers 400 with the reason and details for %s (binary and structured)', async (_, window_start) => {
    for (const mode of [binary, structured]) {
      const res = await server.inject(mode(ce({ type: CeType.enrichedEvent, data: enriched({ window_start }) })));
      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect(body.code).toBe('BDP_ERR_INVALID_DATA');
      expect(body.error).toMatch(/window_start .* is not the start of the UTC minute of its timestamp .*expected 2026-11-24T12:00:00\.000Z/);
      expect(body.details).toEqual([{ path: '/window_start', message: 'must be 2026-11-24T12:00:00.000Z, the start of the UTC minute of timestamp' }]);
    }
  });

  it('answers 400 for a replayed Kafka record too', async () => {
    const res = await server.inject(binary(ce({ type: CeType.kafkaRecord, data: enriched({ window_start: '2026-11-24T11:59:00.000Z' }) })));
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0].path).toBe('/window_start');
  });

  it('lets a consistent event through to Elasticsearch (unreachable here: 503), at either end of the minute', async () => {
    for (const timestamp of ['2026-11-24T12:00:00.000Z', '2026-11-24T12:00:59.999Z']) {
      const res = await server.inject(binary(ce({ type: CeType.enrichedEvent, data: enriched({ timestamp }) })));
      expect(res.statusCode).toBe(503);
    }
  });

  it('stays alive', async () => {
    expect((await server.inject({ url: '/health/liveness' })).statusCode).toBe(200);
  });
});
