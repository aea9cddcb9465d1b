/** What the index handler tests share: an enriched event and the app built from an environment. */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../shared/config.ts';
import { esClientFor } from '../../shared/elasticsearch.ts';
import { producerFor } from '../../shared/kafka.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { derivedFieldsOf } from '../../shared/enrichment.ts';
import type { EnrichedEvent, RawEvent } from '../../shared/schemas.ts';
import { build, configSchema } from './app.ts';

/** Enriched event number `i`, its derived fields computed from its raw fields (after `overrides`), then `overrides` applied. */
export function enriched(i: number, overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  const second = String(i % 60).padStart(2, '0');
  const raw: RawEvent = {
    event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    timestamp: `2026-11-24T12:00:${second}.000Z`,
    user_id: 1000 + i,
    session_id: 10000 + i,
    event_type: 'view',
    product_id: 100 + (i % 900),
    price: 10.5,
    quantity: 1,
    region: 'US',
    device: 'mobile',
  };
  const rawFields = Object.fromEntries(Object.keys(raw).flatMap((k) => (k in overrides ? [[k, overrides[k as keyof RawEvent]]] : []))) as Partial<RawEvent>;
  const source = { ...raw, ...rawFields };
  return { ...source, ...derivedFieldsOf(source), enriched_at: '2026-11-24T12:01:00.000Z', ...overrides };
}

export function app(env: Record<string, string>): FastifyInstance {
  const config = loadConfig(configSchema, env);
  const metrics = createMetrics({ function: 'index' });
  return build(config, { es: esClientFor(config), producer: producerFor('index', config, metrics), metrics });
}
