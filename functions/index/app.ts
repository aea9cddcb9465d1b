/**
 * index: bulk-indexes enriched events into `events` (`_id` = event id, plus `indexed_at`)
 * and answers each request from its own bulk item. After every successful bulk, and
 * before answering, it produces "window touched" notices to `windows` (key = window_start)
 * so the aggregate of every touched window is recomputed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { MicroBatcher, type Outcome, storeBatching } from '../../shared/batcher.ts';
import { CeType } from '../../shared/ce-types.ts';
import { touchedEvent } from '../../shared/events.ts';
import { commonConfig, elasticsearchConfig, kafkaConfig, topicConfig } from '../../shared/config.ts';
import { isTransientEsError } from '../../shared/elasticsearch.ts';
import { ErrorCode, badEvent, downstreamUnavailable } from '../../shared/errors.ts';
import { toKafkaRecord, type EventProducer } from '../../shared/kafka.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { EnrichedEventSchema, type EnrichedEvent } from '../../shared/schemas.ts';
import { createCloudEventServer, route } from '../../shared/server.ts';
import { bulkOperations, verdictOf } from './bulk.ts';
import { assertDerivedFieldsAgree } from './checks.ts';
import { TouchDebouncer, TrailingNotices } from './touches.ts';

export const configSchema = {
  ...commonConfig,
  ...kafkaConfig,
  ...elasticsearchConfig,
  ...topicConfig,
  /** Retries of bulk items Elasticsearch refused for overload before answering 503. */
  ES_ITEM_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
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
  const debouncer = new TouchDebouncer(config.TOUCH_DEBOUNCE_MS);
  const sendTouch = (window: string) => producer.send(config.TOPIC_WINDOWS, toKafkaRecord(touchedEvent(window, now()), window));

  /** Never rejects: a notice that could not be produced makes the next touch send again. */
  async function sendTrailing(window: string): Promise<void> {
    debouncer.sentTrailing(window, now());
    try {
      await sendTouch(window);
    } catch {
      debouncer.failed(window);
    }
  }
  const trailing = new TrailingNotices(sendTrailing);

  async function notify(windows: string[]): Promise<void> {
    const decision = debouncer.decide(windows, now());
    for (const { window, delayMs } of decision.later) {
      trailing.schedule(window, delayMs);
    }
    await Promise.all(
      decision.now.map((window) =>
        sendTouch(window).then(
          () => metrics.eventsOut.inc({ destination: config.TOPIC_WINDOWS }),
          (error: unknown) => {
            debouncer.failed(window);
            throw error;
          },
        ),
      ),
    );
  }

  async function bulkOnce(docs: EnrichedEvent[], indexedAt: string) {
    const started = performance.now();
    try {
      return await es.bulk({ operations: bulkOperations(config.EVENTS_INDEX, docs, { indexed_at: indexedAt }), refresh: false });
    } catch (error) {
      if (isTransientEsError(error)) throw downstreamUnavailable('Elasticsearch did not take the bulk request', error);
      throw error;
    } finally {
      metrics.esBulkDuration.observe((performance.now() - started) / 1000);
    }
  }

  async function indexBatch(events: EnrichedEvent[]): Promise<Outcome<void>[]> {
    const outcomes: Outcome<void>[] = new Array(events.length);
    const indexedAt = new Date(now()).toISOString();
    let pending = events.map((_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      const response = await bulkOnce(
        pending.map((i) => events[i]!),
        indexedAt,
      );
      const retry: number[] = [];
      response.items.forEach((item, k) => {
        const i = pending[k]!;
        const verdict = verdictOf(Object.values(item)[0]!);
        if (verdict.kind === 'ok') outcomes[i] = { ok: true, value: undefined };
        else if (verdict.kind === 'reject') {
          outcomes[i] = { ok: false, error: badEvent(ErrorCode.rejectedByStore, `Elasticsearch rejected event ${events[i]!.event_id}: ${verdict.reason}`, { type: verdict.type }) };
        } else if (attempt < config.ES_ITEM_RETRIES) retry.push(i);
        else outcomes[i] = { ok: false, error: downstreamUnavailable(`Elasticsearch could not index event ${events[i]!.event_id}`, verdict.reason) };
      });
      pending = retry;
      if (pending.length > 0) await sleep(100 * 2 ** attempt);
    }
    const indexed = events.filter((_, i) => outcomes[i]!.ok);
    metrics.eventsOut.inc({ destination: config.EVENTS_INDEX }, indexed.length);
    try {
      await notify(indexed.map((e) => e.window_start));
    } catch (error) {
      // Indexed but not announced: fail these requests so they are redelivered (re-indexing is idempotent).
      const unavailable = downstreamUnavailable('indexed, but the window notice could not be produced', error);
      outcomes.forEach((o, i) => {
        if (o.ok) outcomes[i] = { ok: false, error: unavailable };
      });
    }
    return outcomes;
  }

  const batcher = new MicroBatcher(indexBatch, {
    ...storeBatching(config, 'Elasticsearch'),
    onFlush: (n) => metrics.batchSize.observe({ batcher: 'bulk' }, n),
  });

  return createCloudEventServer({
    name: 'index',
    metrics,
    bodyLimit: config.BODY_LIMIT_BYTES,
    logLevel: config.LOG_LEVEL,
    async onClose() {
      await batcher.close();
      await trailing.flush();
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
