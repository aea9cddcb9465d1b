/** What the index handler tests share: an enriched event and the app built from an environment. */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../shared/config.ts';
import { esClientFor } from '../../shared/elasticsearch.ts';
import { producerFor } from '../../shared/kafka.ts';
import { createMetrics } from '../../shared/metrics.ts';
import type { EnrichedEvent } from '../../shared/schemas.ts';
import { build, configSchema } from './app.ts';

export function enriched(i: number, overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  const second = String(i % 60).padStart(2, '0');
  return {
    event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    timestamp: `2026-11-24T12:00:${second}.000Z`,
    user_id: 1000 + i,
    session_id: 10000 + i,
    event_type: 'view',
    product_id: 100 + (i % 900),
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

export function app(env: Record<string, string>): FastifyInstance {
  const config = loadConfig(configSchema, env);
  const metrics = createMetrics({ function: 'index' });
  return build(config, { es: esClientFor(config), producer: producerFor('index', config, metrics), metrics });
}
