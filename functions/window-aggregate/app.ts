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
import { commonConfig, elasticsearchConfig, kafkaSecurityConfig, latenessConfig } from '../../shared/config.ts';
import { parseGroupTopics } from '../../shared/lag.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { PingSchema, WindowTouchedSchema } from '../../shared/schemas.ts';
import { createCloudEventServer, route, shellOptionsOf } from '../../shared/server.ts';
import { WindowAggregator } from './recompute.ts';
import { elasticsearchStore, type WindowStore } from './store.ts';
import { UpstreamLag, kafkaBacklog } from './upstream-lag.ts';

export const configSchema = {
  ...commonConfig,
  ...elasticsearchConfig,
  ...latenessConfig,
  /** Kafka is only read here (consumer lag), never written. */
  KAFKA_BROKERS: Type.Optional(Type.String({ pattern: '^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$' })),
  ...kafkaSecurityConfig,
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
  /** Where windows are read and written; Elasticsearch through `es` unless given. */
  store?: WindowStore;
}

export function build(config: Config, deps: Deps): FastifyInstance {
  const upstream = parseGroupTopics(config.UPSTREAM_CONSUMER_GROUPS);
  if (upstream.length > 0 && !deps.admin) throw new Error('UPSTREAM_CONSUMER_GROUPS is set but there is no Kafka admin (set KAFKA_BROKERS)');
  const now = deps.now ?? Date.now;
  const lag = new UpstreamLag({ read: kafkaBacklog(deps.admin, upstream), cacheMs: config.LAG_CACHE_MS, now });
  const aggregator = new WindowAggregator({
    store: deps.store ?? elasticsearchStore(deps.es, { events: config.EVENTS_INDEX, aggregates: config.AGGREGATES_INDEX, finals: config.FINALS_INDEX }),
    metrics: deps.metrics,
    upstreamBehind: (candidateMs) => lag.behind(candidateMs),
    latenessMs: config.ALLOWED_LATENESS_SECONDS * 1000,
    refreshMinIntervalMs: config.REFRESH_MIN_INTERVAL_MS,
    finalizeLookbackMs: config.FINALIZE_LOOKBACK_MINUTES * 60_000,
    now,
  });

  return createCloudEventServer({
    ...shellOptionsOf('window-aggregate', config, deps.metrics),
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
      route({ types: [CeType.ping], schema: PingSchema, handle: () => aggregator.finalizeTick() }),
    ],
  });
}
