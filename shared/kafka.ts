/**
 * Kafka I/O: CloudEvents in Kafka binary content mode, and a producer that batches
 * requests into one `sendBatch` (kafkajs has no linger of its own) with acks from all
 * in-sync replicas.
 */
import { CloudEvent, Kafka as KafkaBinding, type CloudEventV1 } from 'cloudevents';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type IHeaders,
  type ITopicPartitionConfig,
  type KafkaMessage,
  type Message,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { type AccessCheck, UNTRUSTED_CERTIFICATE, causesOf, registerAccessCheck } from './access.ts';
import { type BatcherOptions, type BatchingConfig, MicroBatcher, type Outcome, storeBatching } from './batcher.ts';
import { downstreamUnavailable } from './errors.ts';
import { type KafkaSecuritySettings, brokersOf, readCaFile } from './config.ts';
import type { Metrics } from './metrics.ts';
import type { TopicSpec } from './topology.ts';

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  /** Per-attempt connection timeout. Short, so an unreachable broker answers 503 quickly. */
  connectionTimeoutMs?: number;
  /** TLS and SASL, from `kafkaSecurityOf`; none for PLAINTEXT. */
  ssl?: ConnectionOptions | boolean | undefined;
  sasl?: SASLOptions | undefined;
}

export function createKafka({ brokers, clientId, connectionTimeoutMs = 2000, ssl, sasl }: KafkaOptions): Kafka {
  return new Kafka({
    clientId,
    brokers,
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
    connectionTimeout: connectionTimeoutMs,
    requestTimeout: 10_000,
    // Few, quick retries: the Knative dispatcher owns the real retry budget (503 -> back-off).
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING,
  });
}

/** A CloudEvent as a Kafka record in binary content mode: `ce_*` headers, data as the value. */
export function toKafkaRecord(event: CloudEventV1<unknown>, key: string | null): Message {
  const message = KafkaBinding.binary(event as CloudEvent<unknown>);
  const headers: IHeaders = {};
  // The SDK emits undefined attributes as headers; kafkajs refuses anything but strings/Buffers.
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined && value !== null) headers[name] = String(value);
  }
  const data = event.data;
  const value = data === undefined || data === null ? null : typeof data === 'string' ? data : JSON.stringify(data);
  return { key, value, headers, ...(message.timestamp ? { timestamp: message.timestamp } : {}) };
}

/** Reads a consumed record back as a CloudEvent (kafkajs gives Buffer headers; the SDK wants strings). */
export function fromKafkaRecord(record: Pick<KafkaMessage, 'key' | 'value' | 'headers'>): CloudEvent<unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  const value = record.value?.toString('utf8') ?? '';
  const message = { headers, key: record.key?.toString('utf8') ?? '', value, body: value };
  const event = KafkaBinding.toEvent(message as Parameters<typeof KafkaBinding.toEvent>[0]);
  if (Array.isArray(event)) throw new TypeError('batched CloudEvents are not used on Kafka topics');
  return event as CloudEvent<unknown>;
}

export interface ProducerOptions extends Omit<BatcherOptions, 'onFlush'> {
  sendTimeoutMs: number;
  onBatch?: (size: number) => void;
  onSendDuration?: (seconds: number) => void;
}

interface Outgoing {
  topic: string;
  message: Message;
}

/** Chunk size for requests that bring their own batch (generate). */
const DIRECT_CHUNK = 1000;

export class EventProducer {
  readonly #producer: Producer;
  readonly #batcher: MicroBatcher<Outgoing, void>;
  #connecting: Promise<void> | undefined;
  #connected = false;

  constructor(
    kafka: Kafka,
    private readonly options: ProducerOptions,
  ) {
    // acks=all (-1) on every send. Not kafkajs' `idempotent`: its sequence numbers go wrong
    // with concurrent sends and can drop records silently (tulios/kafkajs#1005, #598), while
    // a record written twice is stored once downstream (`_id` = event id). No retries inside
    // kafkajs either: a retried sendBatch skips the brokers that answered the first attempt,
    // even when a partition's new leader is one of them, and resolves without its records
    // (tulios/kafkajs#1303). A failed batch is answered 503 and redelivered whole instead.
    this.#producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry: { retries: 0 },
    });
    this.#producer.on(this.#producer.events.DISCONNECT, () => {
      this.#connected = false;
      this.#connecting = undefined;
    });
    const { sendTimeoutMs: _timeout, onBatch, onSendDuration: _duration, ...batching } = options;
    this.#batcher = new MicroBatcher((items) => this.#flush(items), { ...batching, ...(onBatch ? { onFlush: onBatch } : {}) });
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Parks one record on the shared batch; resolves once the batch is acknowledged by all in-sync replicas. */
  send(topic: string, message: Message): Promise<void> {
    return this.#batcher.add({ topic, message });
  }

  /** Sends records the caller has already gathered (one request producing many events). */
  async sendAll(topic: string, messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += DIRECT_CHUNK) {
      await this.#sendBatch([{ topic, messages: messages.slice(i, i + DIRECT_CHUNK) }]);
    }
  }

  async close(): Promise<void> {
    await this.#batcher.close();
    await this.#producer.disconnect().catch(() => undefined);
  }

  async #flush(items: Outgoing[]): Promise<Outcome<void>[]> {
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of items) {
      const list = byTopic.get(topic);
      if (list) list.push(message);
      else byTopic.set(topic, [message]);
    }
    await this.#sendBatch([...byTopic].map(([topic, messages]) => ({ topic, messages })));
    return items.map(() => ({ ok: true, value: undefined }));
  }

  async #sendBatch(topicMessages: { topic: string; messages: Message[] }[]): Promise<void> {
    const started = performance.now();
    try {
      await this.#ensureConnected();
      await this.#producer.sendBatch({ topicMessages, acks: -1, timeout: this.options.sendTimeoutMs });
    } catch (error) {
      throw downstreamUnavailable('Kafka did not accept the records', error);
    } finally {
      this.options.onSendDuration?.((performance.now() - started) / 1000);
    }
  }

  #ensureConnected(): Promise<void> {
    if (this.#connected) return Promise.resolve();
    this.#connecting ??= this.#producer.connect().then(
      () => {
        this.#connected = true;
      },
      (error: unknown) => {
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }
}

export interface TopicReplication {
  replicationFactor: number;
  /** The topic's min.insync.replicas; unset: the broker's. */
  minInsyncReplicas?: number | undefined;
}

/**
 * Creates missing topics and adds partitions where a topic has fewer than the spec. The
 * replication applies to the topics it creates; an existing topic keeps its own.
 */
export async function ensureTopics(admin: Admin, topics: TopicSpec[], { replicationFactor, minInsyncReplicas }: TopicReplication = { replicationFactor: 1 }): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    const configEntries = minInsyncReplicas === undefined ? [] : [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }];
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor, configEntries })),
    });
  }
  const present = topics.filter((t) => existing.has(t.name));
  if (present.length === 0) return;
  const { topics: described } = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
  const grow: ITopicPartitionConfig[] = [];
  for (const spec of present) {
    const have = described.find((d) => d.name === spec.name)?.partitions.length ?? 0;
    if (have < spec.partitions) grow.push({ topic: spec.name, count: spec.partitions });
  }
  if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow });
}

/** kafkajs' `ssl` and `sasl` for the security settings (SCRAM-SHA-512 is the only mechanism offered). */
export function kafkaSecurityOf(config: KafkaSecuritySettings): Pick<KafkaOptions, 'ssl' | 'sasl'> {
  const protocol = config.KAFKA_SECURITY_PROTOCOL ?? 'PLAINTEXT';
  if (protocol === 'PLAINTEXT') return {};
  const ca = readCaFile(config.KAFKA_CA_FILE);
  return {
    ssl: ca ? { ca } : true,
    ...(protocol === 'SASL_SSL'
      ? { sasl: { mechanism: 'scram-sha-512', username: config.KAFKA_SASL_USERNAME ?? '', password: config.KAFKA_SASL_PASSWORD ?? '' } }
      : {}),
  };
}

/**
 * The start check of a running function's Kafka client: an admin connection, which
 * authenticates to a broker. A wrong password or an untrusted certificate is said plainly.
 */
export function kafkaAccessCheck(kafka: Kafka, config: KafkaSecuritySettings & { KAFKA_BROKERS: string }): AccessCheck {
  return {
    store: 'Kafka',
    async attempt() {
      const admin = kafka.admin();
      try {
        await admin.connect();
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    rejection(error) {
      for (const e of causesOf(error)) {
        if (e.name === 'KafkaJSSASLAuthenticationError') {
          if (/not supported by the server/.test(e.message)) {
            return `Kafka (${config.KAFKA_BROKERS}) does not offer SASL SCRAM-SHA-512: check KAFKA_SECURITY_PROTOCOL and the listener's port`;
          }
          return `Kafka rejected the SASL credentials of user ${config.KAFKA_SASL_USERNAME ?? '(none)'} (SCRAM-SHA-512): check KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD`;
        }
        if (e.code !== undefined && UNTRUSTED_CERTIFICATE.has(e.code)) {
          return config.KAFKA_CA_FILE
            ? `Kafka's certificate is not signed by KAFKA_CA_FILE (${config.KAFKA_CA_FILE}): ${e.code}`
            : `Kafka's certificate is not signed by a CA this system trusts: set KAFKA_CA_FILE (${e.code})`;
        }
        if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `Kafka's certificate does not name the broker address: ${e.message}`;
      }
      return undefined;
    },
  };
}

type ClientSettings = KafkaSecuritySettings & { KAFKA_BROKERS: string; KAFKA_CLIENT_ID?: string | undefined };

/** The Kafka client of a running function, with its start check registered. */
function kafkaFor(name: string, config: ClientSettings): Kafka {
  const kafka = createKafka({ brokers: brokersOf(config.KAFKA_BROKERS), clientId: config.KAFKA_CLIENT_ID ?? name, ...kafkaSecurityOf(config) });
  registerAccessCheck(kafkaAccessCheck(kafka, config));
  return kafka;
}

/** The batched Kafka producer of a function, wired to its metrics. */
export function producerFor(name: string, config: BatchingConfig & ClientSettings & { KAFKA_SEND_TIMEOUT_MS: number }, metrics: Metrics): EventProducer {
  const kafka = kafkaFor(name, config);
  return new EventProducer(kafka, {
    ...storeBatching(config, 'Kafka'),
    sendTimeoutMs: config.KAFKA_SEND_TIMEOUT_MS,
    onBatch: (n) => metrics.batchSize.observe({ batcher: 'kafka' }, n),
    onSendDuration: (s) => metrics.kafkaProduceDuration.observe(s),
  });
}

/** The Kafka admin of a function that only reads Kafka (consumer lag); none without brokers. */
export function adminFor(name: string, config: KafkaSecuritySettings & { KAFKA_BROKERS?: string | undefined }): Admin | undefined {
  return config.KAFKA_BROKERS ? kafkaFor(name, { ...config, KAFKA_BROKERS: config.KAFKA_BROKERS, KAFKA_CLIENT_ID: undefined }).admin() : undefined;
}
