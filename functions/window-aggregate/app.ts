/**
 * window-aggregate: on a "window touched" notice (ordered per window by the `windows`
 * topic) and on the finalize tick, recomputes windows from `events` into
 * `events-aggregated`: one document per (window, event_type, region).
 */
import type { Client } from '@elastic/elasticsearch';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Admin } from 'kafkajs';
import { CeType } from '../../shared/ce-types.ts';
import { commonConfig, elasticsearchConfig, latenessConfig } from '../../shared/config.ts';
import { parseGroupTopics } from '../../shared/lag.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { PingSchema, WindowTouchedSchema } from '../../shared/schemas.ts';
import { createCloudEventServer, route } from '../../shared/server.ts';
import { WindowAggregator } from './aggregator.ts';

export const configSchema = {
  ...commonConfig,
  ...elasticsearchConfig,
  ...latenessConfig,
  /** Kafka is only read here (consumer lag), never written. */
  KAFKA_BROKERS: Type.Optional(Type.String({ pattern: '^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$' })),
  /** `group:topic` pairs whose lag holds the watermark, e.g. the enrich and index KafkaSources. */
  UPSTREAM_CONSUMER_GROUPS: Type.String({ default: '', pattern: '^([^:,\\s]+:[^:,\\s]+(,[^:,\\s]+:[^:,\\s]+)*)?$' }),
  REFRESH_MIN_INTERVAL_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 250 }),
  LAG_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
  FINALIZE_LOOKBACK_MINUTES: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60, default: 24 * 60 }),
};
export type Config = Static<TObject<typeof configSchema>>;

export interface Deps {
  es: Client;
  /** Kafka admin for lag; required when UPSTREAM_CONSUMER_GROUPS is set. */
  admin?: Admin | undefined;
  metrics: Metrics;
  now?: () => number;
}

export function build(config: Config, deps: Deps): FastifyInstance {
  const upstream = parseGroupTopics(config.UPSTREAM_CONSUMER_GROUPS);
  if (upstream.length > 0 && !deps.admin) throw new Error('UPSTREAM_CONSUMER_GROUPS is set but there is no Kafka admin (set KAFKA_BROKERS)');
  const aggregator = new WindowAggregator({
    es: deps.es,
    admin: deps.admin,
    metrics: deps.metrics,
    eventsIndex: config.EVENTS_INDEX,
    aggregatesIndex: config.AGGREGATES_INDEX,
    finalsIndex: config.FINALS_INDEX,
    latenessMs: config.ALLOWED_LATENESS_SECONDS * 1000,
    upstream,
    refreshMinIntervalMs: config.REFRESH_MIN_INTERVAL_MS,
    lagCacheMs: config.LAG_CACHE_MS,
    finalizeLookbackMs: config.FINALIZE_LOOKBACK_MINUTES * 60_000,
    now: deps.now ?? Date.now,
  });

  return createCloudEventServer({
    name: 'window-aggregate',
    metrics: deps.metrics,
    bodyLimit: config.BODY_LIMIT_BYTES,
    logLevel: config.LOG_LEVEL,
    async onClose() {
      await deps.admin?.disconnect();
      await deps.es.close();
    },
    routes: [
      route({
        types: [CeType.windowTouched],
        schema: WindowTouchedSchema,
        handle: (data, event) => aggregator.recompute(Date.parse(data.window_start), 'touched', event.time ? Date.parse(event.time) : undefined),
      }),
      route({
        types: [CeType.ping],
        schema: PingSchema,
        handle: () => aggregator.finalizeTick(),
      }),
    ],
  });
}
