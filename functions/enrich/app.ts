/**
 * enrich: validates a raw shop event (schema, not from the future), adds catalog fields,
 * revenue in cents and its window, and produces it to `events-enriched`. Requests share
 * one Kafka batch; each is answered when its own record is acknowledged.
 */
import type { FastifyInstance } from 'fastify';
import type { Static, TObject } from '@sinclair/typebox';
import { CeType } from '../../shared/ce-types.ts';
import { enrichedEvent } from '../../shared/events.ts';
import { commonConfig, kafkaConfig, latenessConfig, topicConfig } from '../../shared/config.ts';
import { toKafkaRecord, type EventProducer } from '../../shared/kafka.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { RawEventSchema } from '../../shared/schemas.ts';
import { createCloudEventServer, route, shellOptionsOf } from '../../shared/server.ts';
import { assertNotFromTheFuture, enrichEvent } from './enrich.ts';

export const configSchema = { ...commonConfig, ...kafkaConfig, ...topicConfig, ...latenessConfig };
export type Config = Static<TObject<typeof configSchema>>;

export interface Deps {
  producer: EventProducer;
  metrics: Metrics;
  now?: () => number;
}

export function build(config: Config, deps: Deps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const latenessMs = config.ALLOWED_LATENESS_SECONDS * 1000;

  return createCloudEventServer({
    ...shellOptionsOf('enrich', config, deps.metrics),
    onClose: () => deps.producer.close(),
    routes: [
      route({
        // A KafkaSource passes our CE records through; a plain JSON record arrives as a kafka.event.
        types: [CeType.shopEvent, CeType.kafkaRecord],
        schema: RawEventSchema,
        async handle(raw) {
          const at = now();
          assertNotFromTheFuture(raw, at, latenessMs);
          const enriched = enrichEvent(raw, at);
          await deps.producer.send(config.TOPIC_ENRICHED, toKafkaRecord(enrichedEvent(enriched), String(enriched.user_id)));
          deps.metrics.eventsOut.inc({ destination: config.TOPIC_ENRICHED });
          return { event_id: enriched.event_id, window_start: enriched.window_start };
        },
      }),
    ],
  });
}
