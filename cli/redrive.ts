/**
 * `make redrive`: re-produces dead letters whose error was a 5xx or a timeout (no status)
 * to the topic their KafkaSource reads, and lists the others (bad events: 4xx). Safe,
 * because everything downstream is idempotent. A consumer group remembers what was redriven.
 */
import { CloudEvent, type CloudEventV1 } from 'cloudevents';
import { brokersOf } from '../shared/config.ts';
import { EventProducer, createKafka, fromKafkaRecord, toKafkaRecord } from '../shared/kafka.ts';
import { loadTopology } from './manifests.ts';
import { targetFromEnv } from './target.ts';

const target = targetFromEnv();
const topology = loadTopology();
const kafka = createKafka({ brokers: brokersOf(target.kafkaBrokers), clientId: 'redrive', connectionTimeoutMs: 5000 });
const sinkTopic = topology.kafkaSinks.find((s) => s.name === 'dead-letters')?.topic ?? 'dead-letters';

/** Service name → the topic of the KafkaSource that feeds it. */
const topicOfService = new Map(topology.kafkaSources.map((s) => [s.sink, s.topics[0]!]));

export function redriveTopic(letter: CloudEventV1<unknown>): string | undefined {
  const code = letter['knativeerrorcode'] === undefined ? undefined : Number(letter['knativeerrorcode']);
  if (code !== undefined && code < 500) return undefined;
  const dest = String(letter['knativeerrordest'] ?? '');
  const service = /^https?:\/\/([^./:]+)/.exec(dest)?.[1];
  return service ? topicOfService.get(service) : undefined;
}

/** The key the record had: windows are keyed by window_start, events by user. */
function keyOf(data: unknown, partitionkey: unknown): string | null {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const key = d['window_start'] ?? d['user_id'] ?? (partitionkey === '' ? undefined : partitionkey);
  return key === undefined ? null : String(key);
}

const admin = kafka.admin();
await admin.connect();
const total = (await admin.fetchTopicOffsets(sinkTopic)).reduce((s, o) => s + Number(o.high), 0);
const groupId = 'big-data-pipeline-redrive';
const done = (await admin.fetchOffsets({ groupId, topics: [sinkTopic] })).flatMap((t) => t.partitions).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
await admin.disconnect();
const toRead = total - done;
console.log(`${toRead} dead letter(s) not yet looked at in ${sinkTopic}`);
if (toRead > 0) {
  const consumer = kafka.consumer({ groupId });
  const producer = new EventProducer(kafka, { maxItems: 100, maxWaitMs: 20, sendTimeoutMs: 10_000 });
  let seen = 0;
  let redriven = 0;
  const kept: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: sinkTopic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const letter = fromKafkaRecord(message);
        const topic = redriveTopic(letter);
        if (topic) {
          const { knativeerrorcode: _c, knativeerrordest: _d, knativeerrordata: _e, knativekafkapartition: _p, knativekafkaoffset: _o, partitionkey, ...event } = letter as CloudEventV1<unknown> & Record<string, unknown>;
          await producer.send(topic, toKafkaRecord(new CloudEvent(event as CloudEventV1<unknown>, false), keyOf(event.data, partitionkey)));
          redriven++;
        } else {
          const reason = Buffer.from(String(letter['knativeerrordata'] ?? ''), 'base64').toString('utf8').slice(0, 200);
          kept.push(`  ${letter.id}  ${letter.type}  ${letter['knativeerrorcode'] ?? '-'}  ${reason}`);
        }
        if (++seen >= toRead) resolve();
      },
    });
  });
  await consumer.disconnect();
  await producer.close();
  console.log(`redriven: ${redriven} (5xx or timeout, back to their source topic)`);
  console.log(`kept: ${kept.length} (the event itself was wrong; fix it at the source)`);
  for (const line of kept.slice(0, 50)) console.log(line);
  if (kept.length > 50) console.log(`  … and ${kept.length - 50} more`);
}
