/**
 * index: bulk-indexes enriched events into `events` (`_id` = event id, plus `indexed_at`;
 * each into the daily index of its time) and answers each request from its own bulk item. After every successful bulk, and
 * before answering, it produces "window touched" notices to `windows` (key = window_start)
 * so the aggregate of every touched window is recomputed.
 */
import type { Client } from '@elastic/elasticsearch';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { MicroBatcher, type Outcome, storeBatching } from '../../shared/batcher.ts';
import { CeType } from '../../shared/ce-types.ts';
import { touchedEvent } from '../../shared/events.ts';
import { bulkRetryConfig, commonConfig, elasticsearchConfig, kafkaConfig, topicConfig } from '../../shared/config.ts';
import { downstreamUnavailable } from '../../shared/errors.ts';
import { toKafkaRecord, type EventProducer } from '../../shared/kafka.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { EnrichedEventSchema, type EnrichedEvent } from '../../shared/schemas.ts';
import { createCloudEventServer, route, shellOptionsOf } from '../../shared/server.ts';
import { bulkOperations, bulkWithRetries } from './bulk.ts';
import { assertDerivedFieldsAgree } from './checks.ts';
import { WindowNotices } from './touches.ts';

export const configSchema = {
  ...commonConfig,
  ...kafkaConfig,
  ...elasticsearchConfig,
  ...topicConfig,
  ...bulkRetryConfig,
  TOUCH_DEBOUNCE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 500 }),
};
export type Config = Static<TObject<typeof configSchema>>;

export interface Deps {
  es: Client;
  producer: EventProducer;
  metrics: Metrics;
  now?: () => number;
}

export function build(config: Config, deps: Deps): FastifyInstance {
  const { es, producer, metrics } = deps;
  const now = deps.now ?? Date.now;
  const notices = new WindowNotices({
    send: (window) => producer.send(config.TOPIC_WINDOWS, toKafkaRecord(touchedEvent(window, now()), window)),
    periodMs: config.TOUCH_DEBOUNCE_MS,
    now,
    onSent: () => metrics.eventsOut.inc({ destination: config.TOPIC_WINDOWS }),
  });

  async function bulk(docs: EnrichedEvent[], indexedAt: string) {
    const started = performance.now();
    try {
      return await es.bulk({ operations: bulkOperations(config.EVENTS_INDEX, docs, { indexed_at: indexedAt }), refresh: false });
    } finally {
      metrics.esBulkDuration.observe((performance.now() - started) / 1000);
    }
  }

  async function indexBatch(events: EnrichedEvent[]): Promise<Outcome<void>[]> {
    const indexedAt = new Date(now()).toISOString();
    const outcomes = await bulkWithRetries(events, (docs) => bulk(docs, indexedAt), config.ES_ITEM_RETRIES);
    const indexed = events.filter((_, i) => outcomes[i]!.ok);
    metrics.eventsOut.inc({ destination: config.EVENTS_INDEX }, indexed.length);
    try {
      await notices.touched(indexed.map((e) => e.window_start));
    } catch (error) {
      // Indexed but not announced: fail these requests so they are redelivered (re-indexing is idempotent).
      const unavailable = downstreamUnavailable('indexed, but the window notice could not be produced', error);
      return outcomes.map((o) => (o.ok ? { ok: false, error: unavailable } : o));
    }
    return outcomes;
  }

  const batcher = new MicroBatcher(indexBatch, {
    ...storeBatching(config, 'Elasticsearch'),
    onFlush: (n) => metrics.batchSize.observe({ batcher: 'bulk' }, n),
  });

  return createCloudEventServer({
    ...shellOptionsOf('index', config, metrics),
    async onClose() {
      await batcher.close();
      await notices.flush();
      await producer.close();
      await es.close();
    },
    routes: [
      route({
        types: [CeType.enrichedEvent, CeType.kafkaRecord],
        schema: EnrichedEventSchema,
        async handle(event) {
          assertDerivedFieldsAgree(event);
          // Elasticsearch and Kafka errors answer 503 in the shell; anything else is a bug: 500, logged.
          await batcher.add(event);
          return { event_id: event.event_id, index: config.EVENTS_INDEX };
        },
      }),
    ],
  });
}
