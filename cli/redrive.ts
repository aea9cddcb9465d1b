/**
 * `make redrive`: re-produces dead letters whose error was a 5xx or a timeout (no status)
 * to the topic of the KafkaSource that feeds the function that failed, and lists the
 * others (4xx: the event itself is wrong). Safe, because everything downstream is
 * idempotent. A consumer group remembers which letters were already looked at.
 */
import { CloudEvent, type CloudEventV1 } from 'cloudevents';
import type { Kafka } from 'kafkajs';
import { EventProducer, fromKafkaRecord, toKafkaRecord } from '../shared/kafka.ts';
import { loadTopology, type Topology } from './manifests/index.ts';
import { commandSettings } from './settings.ts';
import { pipelineTarget, targetSettings } from './target.ts';

export const REDRIVE_GROUP = 'big-data-pipeline-redrive';

/** The topic to send a dead letter back to, or undefined when it must not be redriven. */
export function redriveTopic(letter: CloudEventV1<unknown>, topology: Pick<Topology, 'kafkaSources'>): string | undefined {
  const code = letter['knativeerrorcode'] === undefined ? undefined : Number(letter['knativeerrorcode']);
  if (code !== undefined && code < 500) return undefined;
  const service = /^https?:\/\/([^./:]+)/.exec(String(letter['knativeerrordest'] ?? ''))?.[1];
  return topology.kafkaSources.find((s) => s.sink === service)?.topics[0];
}

/** The letter as it was before it failed: without the error and Kafka metadata extensions. */
export function originalEvent(letter: CloudEventV1<unknown>): { event: CloudEvent<unknown>; key: string | null } {
  const {
    knativeerrorcode: _code,
    knativeerrordest: _dest,
    knativeerrordata: _data,
    knativekafkapartition: _partition,
    knativekafkaoffset: _offset,
    partitionkey: _key,
    ...event
  } = letter as CloudEventV1<unknown> & Record<string, unknown>;
  // Records were keyed by window (windows topic) or by user (the event topics).
  const data = (typeof letter.data === 'object' && letter.data !== null ? letter.data : {}) as Record<string, unknown>;
  const key = data['window_start'] ?? data['user_id'];
  return { event: new CloudEvent(event as CloudEventV1<unknown>, false), key: key === undefined ? null : String(key) };
}

export interface RedriveReport {
  redriven: number;
  kept: { id: string; type: string; code: string; reason: string }[];
}

export async function redrive(kafka: Kafka, topology: Topology, deadLetterTopic: string, groupId = REDRIVE_GROUP): Promise<RedriveReport> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(deadLetterTopic);
  const committed = (await admin.fetchOffsets({ groupId, topics: [deadLetterTopic] })).flatMap((t) => t.partitions);
  await admin.disconnect();
  const toRead = ends.reduce((sum, e) => sum + Number(e.high) - Math.max(0, Number(committed.find((c) => c.partition === e.partition)?.offset ?? 0)), 0);
  const report: RedriveReport = { redriven: 0, kept: [] };
  if (toRead <= 0) return report;

  const consumer = kafka.consumer({ groupId });
  const producer = new EventProducer(kafka, { maxItems: 100, maxWaitMs: 20, sendTimeoutMs: 10_000 });
  let seen = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: deadLetterTopic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      void consumer
        .run({
          eachMessage: async ({ message }) => {
            const letter = fromKafkaRecord(message);
            const topic = redriveTopic(letter, topology);
            if (topic) {
              const { event, key } = originalEvent(letter);
              await producer.send(topic, toKafkaRecord(event, key));
              report.redriven++;
            } else {
              report.kept.push({
                id: letter.id,
                type: letter.type,
                code: String(letter['knativeerrorcode'] ?? '-'),
                reason: Buffer.from(String(letter['knativeerrordata'] ?? ''), 'base64').toString('utf8').slice(0, 200),
              });
            }
            if (++seen >= toRead) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await producer.close();
  }
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = pipelineTarget(commandSettings(targetSettings));
  const topology = loadTopology();
  const deadLetterTopic = topology.kafkaSinks.find((s) => s.name === 'dead-letters')?.topic ?? 'dead-letters';
  const kafka = target.kafka('redrive');
  const report = await redrive(kafka, topology, deadLetterTopic);
  console.log(`redriven: ${report.redriven} (5xx or timeout; sent back to their source topic)`);
  console.log(`kept: ${report.kept.length} (the event itself was wrong; fix it at its source)`);
  for (const k of report.kept.slice(0, 50)) console.log(`  ${k.id}  ${k.type}  ${k.code}  ${k.reason}`);
  if (report.kept.length > 50) console.log(`  … and ${report.kept.length - 50} more`);
}
