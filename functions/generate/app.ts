/**
 * generate: answers a generate.request CloudEvent or a PingSource tick by producing
 * schema-valid raw shop events to `data-stream` (CE binary mode, key = user_id), paced so
 * no event is produced before its own event time. Answers once every event is acknowledged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Static, TObject } from '@sinclair/typebox';
import { CeType } from '../../shared/ce-types.ts';
import { shopEvent } from '../../shared/events.ts';
import { commonConfig, kafkaConfig, topicConfig } from '../../shared/config.ts';
import { downstreamUnavailable } from '../../shared/errors.ts';
import { toKafkaRecord, type EventProducer } from '../../shared/kafka.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { GenerateRequestSchema, PingSchema, type RawEvent } from '../../shared/schemas.ts';
import { createCloudEventServer, route, shellOptionsOf } from '../../shared/server.ts';
import { eventTimeMs, generateEvents, planFromRequest, planFromTick, type GenerationPlan } from './generate.ts';

export const configSchema = { ...commonConfig, ...kafkaConfig, ...topicConfig };
export type Config = Static<TObject<typeof configSchema>>;

export interface Deps {
  producer: EventProducer;
  metrics: Metrics;
  now?: () => number;
}

/** Events whose time is at most this far ahead are produced in the current slice. */
const PACE_LEAD_MS = 100;

export function build(config: Config, deps: Deps): FastifyInstance {
  const now = deps.now ?? Date.now;

  async function produce(plan: GenerationPlan, signal: AbortSignal) {
    let produced = 0;
    let slice: RawEvent[] = [];
    const flush = async () => {
      if (slice.length === 0) return;
      const records = slice.map((e) => toKafkaRecord(shopEvent(e), String(e.user_id)));
      await deps.producer.sendAll(config.TOPIC_RAW, records);
      deps.metrics.eventsOut.inc({ destination: config.TOPIC_RAW }, slice.length);
      produced += slice.length;
      slice = [];
    };
    let index = 0;
    for (const event of generateEvents(plan)) {
      const due = eventTimeMs(plan, index++);
      const wait = due - PACE_LEAD_MS - now();
      if (wait > 0) {
        await flush();
        if (signal.aborted) throw downstreamUnavailable('shutting down before all events were produced; retry the request');
        await sleep(wait, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw downstreamUnavailable('shutting down before all events were produced; retry the request');
      }
      slice.push(event);
      if (slice.length >= 5000) await flush();
    }
    await flush();
    return {
      produced,
      first_event_time: new Date(eventTimeMs(plan, 0)).toISOString(),
      last_event_time: new Date(eventTimeMs(plan, plan.total - 1)).toISOString(),
    };
  }

  return createCloudEventServer({
    ...shellOptionsOf('generate', config, deps.metrics),
    onClose: () => deps.producer.close(),
    routes: [
      route({
        types: [CeType.generateRequest],
        schema: GenerateRequestSchema,
        handle: (data, event, ctx) => produce(planFromRequest(data, event, now()), ctx.signal),
      }),
      route({
        types: [CeType.ping],
        schema: PingSchema,
        handle: (_data, event, ctx) => produce(planFromTick(event, now()), ctx.signal),
      }),
    ],
  });
}
