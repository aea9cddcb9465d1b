/**
 * Handler tests that need neither Kafka nor Elasticsearch: the answers given before any I/O.
 * The downstreams are unreachable, so an event that passes every check answers 503.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CeType } from '../../shared/ce-types.ts';
import { UNREACHABLE, binary, ce, isolatedEnv, structured } from '../../test/helpers.ts';
import { app, enriched } from './fixtures.ts';

describe('index handler: window_start must be the minute of timestamp', () => {
  let server: FastifyInstance;
  beforeAll(async () => {
    server = app(isolatedEnv({ ...UNREACHABLE, BATCH_MAX_WAIT_MS: '1' }));
    await server.ready();
  });
  afterAll(() => server.close());

  it.each([
    ['another minute', '2026-11-24T12:05:00.000Z'],
    ['not the start of a minute', '2026-11-24T12:00:30.000Z'],
  ])('answers 400 with the reason and details for %s (binary and structured)', async (_, window_start) => {
    for (const mode of [binary, structured]) {
      const res = await server.inject(mode(ce({ type: CeType.enrichedEvent, data: enriched(42, { window_start }) })));
      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect(body.code).toBe('BDP_ERR_INVALID_DATA');
      expect(body.error).toMatch(/window_start .* is not the start of the UTC minute of its timestamp .*expected 2026-11-24T12:00:00\.000Z/);
      expect(body.details).toEqual([{ path: '/window_start', message: 'must be 2026-11-24T12:00:00.000Z, the start of the UTC minute of timestamp' }]);
    }
  });

  it('answers 400 for a replayed Kafka record too', async () => {
    const res = await server.inject(binary(ce({ type: CeType.kafkaRecord, data: enriched(42, { window_start: '2026-11-24T11:59:00.000Z' }) })));
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0].path).toBe('/window_start');
  });

  it('lets a consistent event through to Elasticsearch (unreachable here: 503), at either end of the minute', async () => {
    for (const timestamp of ['2026-11-24T12:00:00.000Z', '2026-11-24T12:00:59.999Z']) {
      const res = await server.inject(binary(ce({ type: CeType.enrichedEvent, data: enriched(42, { timestamp }) })));
      expect(res.statusCode).toBe(503);
    }
  });

  it('stays alive', async () => {
    expect((await server.inject({ url: '/health/liveness' })).statusCode).toBe(200);
  });
});
