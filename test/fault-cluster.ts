/**
 * Plumbing of the fault tests: the secure 3-broker Kafka and 3-node Elasticsearch they start,
 * clients for it (every broker, SASL_SSL; Elasticsearch over HTTPS), and the test's stand-in
 * for a KafkaSource dispatcher that retries with back-off until the function answers 200.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, KafkaMessage } from 'kafkajs';
import pRetry, { AbortError } from 'p-retry';
import type { LocalPlatform } from '../cli/local-platform.ts';
import { brokersOf, elasticsearchConfig, kafkaConfig, loadConfig } from '../shared/config.ts';
import { createEsClient, esOptionsOf } from '../shared/elasticsearch.ts';
import { createKafka, kafkaSecurityOf } from '../shared/kafka.ts';
import type { FunctionProcess } from './function-process.ts';
import { withConcurrency } from './helpers.ts';
import { TEST_FAULTS_ES_PORT, TEST_FAULTS_KAFKA_PORT } from './infra.ts';

/**
 * Six JVMs share the machine with the functions and the test: small heaps, and only the
 * client compiler (C1), which halves their start on two cores; a short test needs no peak
 * throughput.
 */
export const faultCluster: LocalPlatform = {
  kafkaPort: TEST_FAULTS_KAFKA_PORT,
  esPort: TEST_FAULTS_ES_PORT,
  runDir: '.run/test-faults-infra',
  secure: true,
  kafkaNodes: 3,
  esNodes: 3,
  kafkaHeap: '-Xms256m -Xmx384m -XX:TieredStopAtLevel=1',
  esHeap: '-Xms512m -Xmx512m -XX:TieredStopAtLevel=1',
};

export function clusterKafka(env: Record<string, string>): Kafka {
  const config = loadConfig(kafkaConfig, env);
  return createKafka({ brokers: brokersOf(config.KAFKA_BROKERS), clientId: `faults-${randomBytes(3).toString('hex')}`, connectionTimeoutMs: 5000, ...kafkaSecurityOf(config) });
}

export function clusterEs(env: Record<string, string>) {
  return createEsClient({ ...esOptionsOf(loadConfig(elasticsearchConfig, env)), requestTimeoutMs: 60_000 });
}

/** The node (broker id) that leads `partition` of `topic`. */
export async function leaderOf(kafka: Kafka, topic: string, partition = 0): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader;
  } finally {
    await admin.disconnect();
  }
}

/** Resolves once every partition of `topics` has all its replicas in sync: a restarted broker has caught up. */
export async function allInSync(kafka: Kafka, topics: string[], timeoutMs = 90_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { topics: described } = await admin.fetchTopicMetadata({ topics });
      const lagging = described.flatMap((t) => t.partitions.filter((p) => p.isr.length < p.replicas.length).map((p) => `${t.name}/${p.partitionId}`));
      if (lagging.length === 0) return;
      if (performance.now() > deadline) throw new Error(`partitions not back in sync after ${timeoutMs} ms: ${lagging.join(', ')}`);
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Every record of `topic` up to its end offsets when called (duplicates included). */
export async function readToEnd(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  await admin.disconnect();
  const pending = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
  const records: KafkaMessage[] = [];
  if (pending.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `faults-reader-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: partitions ${[...pending].join(',')} not read to their end in ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          const end = ends.get(batch.partition) ?? 0;
          for (const m of batch.messages) if (Number(m.offset) < end) records.push(m);
          const last = batch.messages.at(-1);
          if (last && Number(last.offset) + 1 >= end) pending.delete(batch.partition);
          if (pending.size === 0) {
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

export interface DeliveryProgress {
  /** Events answered 200. */
  done: number;
  /** Answers other than 200, and failed requests, each retried. */
  retried: number;
}

/**
 * Posts every event to `fn` as a KafkaSource dispatcher does: at most `concurrency` in flight,
 * at `ratePerSecond` (unset: as fast as answered), each retried with exponential back-off
 * until it is answered 200. A 4xx other than 408 and 429 is a bug of the event, not a fault:
 * it fails the delivery at once.
 */
export async function deliver<E>(fn: FunctionProcess, events: E[], progress: DeliveryProgress, { concurrency = 20, ratePerSecond }: { concurrency?: number; ratePerSecond?: number } = {}): Promise<void> {
  const started = performance.now();
  await withConcurrency(events, concurrency, async (event, i) => {
    if (ratePerSecond) await sleep(Math.max(0, started + (i * 1000) / ratePerSecond - performance.now()));
    await pRetry(
      async () => {
        const { statusCode } = await fn.post(event as Parameters<FunctionProcess['post']>[0]);
        if (statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429) throw new AbortError(`${fn.url} answered ${statusCode}`);
        if (statusCode !== 200) throw new Error(`${fn.url} answered ${statusCode}`);
      },
      { retries: 1000, minTimeout: 100, maxTimeout: 2000, maxRetryTime: 150_000, onFailedAttempt: () => void progress.retried++ },
    );
    progress.done++;
  });
}

/** Resolves once `condition` holds, polling every 50 ms. */
export async function until(condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}
