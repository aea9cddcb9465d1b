/** Test plumbing shared by the handler and integration tests: real Kafka and Elasticsearch. */
import { randomBytes } from 'node:crypto';
import { CloudEvent, HTTP, type CloudEventV1 } from 'cloudevents';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, expect } from 'vitest';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { setupPlatform } from '../cli/setup.ts';
import { type KafkaSecuritySettings, brokersOf } from '../shared/config.ts';
import { createEsClient, esOptionsOf } from '../shared/elasticsearch.ts';
import { createKafka, kafkaSecurityOf } from '../shared/kafka.ts';
import type { EnrichedEvent, RawEvent } from '../shared/schemas.ts';
import { runNames } from '../shared/topology.ts';
import { elasticsearchUrl, kafkaBrokers } from './infra.ts';

/**
 * Environment of one test file: its own topics and indices (random suffix), so test files
 * never see each other's data on the shared Kafka and Elasticsearch.
 */
export function isolatedEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: kafkaBrokers,
    ELASTICSEARCH_URL: elasticsearchUrl,
    LOG_LEVEL: 'silent',
    ...runNames(randomBytes(4).toString('hex')),
    ...extra,
  };
}

export async function preparePlatform(env: Record<string, string>): Promise<void> {
  await setupPlatform(env);
}

/**
 * A function's app on topics and indices of its own, for the tests of the enclosing describe
 * block: the platform is set up and the app built before them, and the app closed after them.
 */
export function appOnOwnPlatform(build: (env: Record<string, string>) => FastifyInstance): { env: Record<string, string>; server: Pick<FastifyInstance, 'inject'> } {
  const env = isolatedEnv();
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    await preparePlatform(env);
    app = build(env);
  });
  afterAll(() => app?.close());
  const inject = (options: InjectOptions | string) => {
    if (!app) throw new Error('the app is built in beforeAll: inject from a test');
    return app.inject(options);
  };
  return { env, server: { inject } as Pick<FastifyInstance, 'inject'> };
}

/** Where nothing listens: a downstream that is unreachable. */
export const UNREACHABLE = { KAFKA_BROKERS: '127.0.0.1:1', ELASTICSEARCH_URL: 'http://127.0.0.1:1' };

/** An Elasticsearch client of the test platform, or of the platform these client settings name (a secure one: its CA and password). */
export function esClient(settings: Parameters<typeof esOptionsOf>[0] = { ELASTICSEARCH_URL: elasticsearchUrl }) {
  return createEsClient({ ...esOptionsOf(settings), requestTimeoutMs: 30_000 });
}

/** A Kafka client of the test platform, or of the platform these client settings name (a secure one: TLS and SCRAM). */
export function kafka(settings: KafkaSecuritySettings & { KAFKA_BROKERS: string } = { KAFKA_BROKERS: kafkaBrokers }) {
  return createKafka({ brokers: brokersOf(settings.KAFKA_BROKERS), clientId: `test-${randomBytes(3).toString('hex')}`, connectionTimeoutMs: 5000, ...kafkaSecurityOf(settings) });
}

export function binary(event: CloudEventV1<unknown>): InjectOptions {
  const message = HTTP.binary(event as CloudEvent<unknown>);
  return { method: 'POST', url: '/', headers: message.headers as Record<string, string>, payload: message.body as string };
}

export function structured(event: CloudEventV1<unknown>): InjectOptions {
  const message = HTTP.structured(event as CloudEvent<unknown>);
  return { method: 'POST', url: '/', headers: message.headers as Record<string, string>, payload: message.body as string };
}

export function ce<T>(attributes: { type: string; data: T; id?: string; source?: string; time?: string }): CloudEvent<T> {
  return new CloudEvent<T>(
    {
      id: attributes.id ?? randomBytes(8).toString('hex'),
      source: attributes.source ?? '/tests',
      type: attributes.type,
      datacontenttype: 'application/json',
      data: attributes.data,
      ...(attributes.time ? { time: attributes.time } : {}),
    },
    false,
  );
}

export type TopicRecord = KafkaMessage & { partition: number };

/** End offset of every partition of a topic. */
export async function endOffsets(topic: string): Promise<Map<number, number>> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Total end offset of a topic: how many records were ever produced to it. */
export async function topicSize(topic: string): Promise<number> {
  return [...(await endOffsets(topic)).values()].reduce((sum, n) => sum + n, 0);
}

/**
 * Reads a topic from the beginning until `count` records past `after` (per-partition
 * offsets; default: from the start) have arrived, and returns those records.
 */
export async function readTopic(topic: string, count: number, after?: Map<number, number>, timeoutMs = 60_000): Promise<TopicRecord[]> {
  const records: TopicRecord[] = [];
  if (count === 0) return records;
  const consumer = kafka().consumer({ groupId: `reader-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${records.length} of ${count} records from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          const from = after?.get(batch.partition) ?? 0;
          for (const m of batch.messages) if (Number(m.offset) >= from) records.push({ ...m, partition: batch.partition });
          if (records.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Runs `work` over `items` with at most `concurrency` in flight; resolves with results in order. */
export async function withConcurrency<T, R>(items: T[], concurrency: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

/** Fisher–Yates shuffle with a seeded generator, so a failing order can be replayed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  const rng = xoroshiro128plus(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** What `fn` throws, an instance of `type`; fails the test when it throws something else or nothing. */
export function thrownBy<E extends Error>(type: abstract new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}

/** A valid raw shop event (the README's curl example: product 250 is books/Cyberdyne), with overrides. */
export function rawEvent(overrides: Partial<RawEvent> = {}): RawEvent {
  return {
    event_id: '3b241101-e2bb-4255-8caf-4136c566a962',
    timestamp: '2026-11-24T12:00:10.123Z',
    user_id: 4321,
    session_id: 54321,
    event_type: 'purchase',
    product_id: 250,
    price: 19.99,
    quantity: 3,
    region: 'EU',
    device: 'tablet',
    ...overrides,
  };
}

/** rawEvent() as enrich makes it at 2026-11-24T12:00:30Z, with overrides. */
export function enrichedRawEvent(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  return {
    ...rawEvent(),
    price_cents: 1999,
    revenue_cents: 5997,
    window_start: '2026-11-24T12:00:00.000Z',
    category: 'books',
    brand: 'Cyberdyne',
    hour_of_day: 12,
    enriched_at: '2026-11-24T12:00:30.000Z',
    ...overrides,
  };
}

/** A promise whose settlement the test controls. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A self-signed CA certificate whose key was thrown away: it signed nothing anywhere. */
export const UNRELATED_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBpTCCAUugAwIBAgIUU7CZM4oS4IRotSQPk/eHkS5eiygwCgYIKoZIzj0EAwIw
KDEmMCQGA1UEAwwdYSBDQSB0aGF0IHNpZ25lZCBub3RoaW5nIGhlcmUwHhcNMjYx
MjAzMDQxMjMwWhcNMzYxMTMwMDQxMjMwWjAoMSYwJAYDVQQDDB1hIENBIHRoYXQg
c2lnbmVkIG5vdGhpbmcgaGVyZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABH24
UHwyfAXd3H17X4eqRZBnGA9BqvAmpkOAPqcQJ6cVci74YQLpOQQj8zAvPoUR+1Sd
IC053PXajWvvCrdMEp+jUzBRMB0GA1UdDgQWBBSl6XJmwE7VIqCea2hkiqCTslog
7TAfBgNVHSMEGDAWgBSl6XJmwE7VIqCea2hkiqCTslog7TAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0gAMEUCIHVLOrMQJoAa0JdO130mVyqpAjbHW6HcWpyj
LyvZHPW3AiEAmYe3/DOpWgKVaKCXzjzvdgGOfpoipZCGqNqKGzH/AT0=
-----END CERTIFICATE-----
`;
