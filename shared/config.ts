/**
 * Configuration comes from environment variables only (Knative sets PORT and K_REVISION).
 * Each function declares a schema; it is checked once at start and a wrong
 * value stops the process with a message that names the variable.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { ConfigError } from './errors.ts';
import { PIPELINE_NAMES } from './topology.ts';

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Positive = (def: number, extra: object = {}) => Type.Integer({ minimum: 1, default: def, ...extra });

/** Variables every function understands. */
export const commonConfig = {
  PORT: { ...Port, default: 8080 },
  HOST: Type.String({ default: '0.0.0.0' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), {
    default: 'info',
  }),
  BODY_LIMIT_BYTES: Positive(262_144),
  K_REVISION: Type.Optional(Type.String()),
  POD_NAME: Type.Optional(Type.String()),
  SHUTDOWN_GRACE_MS: Positive(25_000),
} satisfies TProperties;

/**
 * Micro-batching of Kafka produces and Elasticsearch bulks, and the backpressure on them
 * (shared/batcher.ts): a batch goes at BATCH_MAX_ITEMS or BATCH_MAX_WAIT_MS; at most
 * STORE_MAX_IN_FLIGHT batches at once (fewer while the store answers slowly or overloaded);
 * behind full slots items wait and the next batch takes up to BATCH_CAP_ITEMS; a request
 * that waited QUEUE_TIMEOUT_MS is answered 503, before its sender's delivery timeout.
 */
export const batchingConfig = {
  BATCH_MAX_ITEMS: Positive(35, { maximum: 10_000 }),
  BATCH_MAX_WAIT_MS: Type.Integer({ minimum: 0, maximum: 1000, default: 20 }),
  BATCH_CAP_ITEMS: Positive(1000, { maximum: 100_000 }),
  STORE_MAX_IN_FLIGHT: Positive(4, { maximum: 64 }),
  STORE_SLOW_MS: Positive(2000),
  QUEUE_TIMEOUT_MS: Positive(20_000),
} satisfies TProperties;

/**
 * How a Kafka client reaches the brokers: TLS (SSL) or TLS plus SCRAM-SHA-512 (SASL_SSL),
 * the settings of the `kafka-client-auth` secret. Unset, the protocol is PLAINTEXT and the
 * mechanism SCRAM-SHA-512; without KAFKA_CA_FILE the system CAs apply.
 */
export const kafkaSecurityConfig = {
  KAFKA_SECURITY_PROTOCOL: Type.Optional(Type.Union(['PLAINTEXT', 'SSL', 'SASL_SSL'].map((p) => Type.Literal(p)))),
  KAFKA_SASL_MECHANISM: Type.Optional(Type.Literal('SCRAM-SHA-512')),
  KAFKA_SASL_USERNAME: Type.Optional(Type.String({ minLength: 1 })),
  KAFKA_SASL_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  KAFKA_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
} satisfies TProperties;

export type KafkaSecuritySettings = Partial<Static<TObject<typeof kafkaSecurityConfig>>>;

export const kafkaConfig = {
  KAFKA_BROKERS: Type.String({ minLength: 1, pattern: '^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$', default: '127.0.0.1:9092' }),
  KAFKA_CLIENT_ID: Type.Optional(Type.String()),
  ...kafkaSecurityConfig,
  ...batchingConfig,
  KAFKA_SEND_TIMEOUT_MS: Positive(10_000),
} satisfies TProperties;

export const elasticsearchConfig = {
  ELASTICSEARCH_URL: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:9200' }),
  ELASTICSEARCH_USERNAME: Type.Optional(Type.String()),
  ELASTICSEARCH_PASSWORD: Type.Optional(Type.String()),
  /** PEM CA of Elasticsearch's HTTP certificate; unset: the system CAs. */
  ELASTICSEARCH_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  ELASTICSEARCH_TIMEOUT_MS: Positive(10_000),
  EVENTS_INDEX: Type.String({ minLength: 1, default: PIPELINE_NAMES.EVENTS_INDEX }),
  AGGREGATES_INDEX: Type.String({ minLength: 1, default: PIPELINE_NAMES.AGGREGATES_INDEX }),
  FINALS_INDEX: Type.String({ minLength: 1, default: PIPELINE_NAMES.FINALS_INDEX }),
} satisfies TProperties;

/**
 * How long the daily `events` indices live, in days after their day, where Elasticsearch has
 * ILM (cli/setup.ts; platform/elasticsearch/ for the cluster). At least 2: today's index must
 * outlive the finalization of its last window.
 */
export const retentionConfig = {
  EVENTS_RETENTION_DAYS: Type.Integer({ minimum: 2, maximum: 3650, default: 30 }),
} satisfies TProperties;

/** How the bulk writer of `events` treats items Elasticsearch refused for overload. */
export const bulkRetryConfig = {
  /** Retries of refused bulk items before the batch answers 503 (the source then retries it). */
  ES_ITEM_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
} satisfies TProperties;

export const topicConfig = {
  TOPIC_RAW: Type.String({ minLength: 1, default: PIPELINE_NAMES.TOPIC_RAW }),
  TOPIC_ENRICHED: Type.String({ minLength: 1, default: PIPELINE_NAMES.TOPIC_ENRICHED }),
  TOPIC_WINDOWS: Type.String({ minLength: 1, default: PIPELINE_NAMES.TOPIC_WINDOWS }),
  TOPIC_DEAD_LETTERS: Type.String({ minLength: 1, default: PIPELINE_NAMES.TOPIC_DEAD_LETTERS }),
} satisfies TProperties;

/**
 * How many copies `cli/setup.ts` gives the pipeline's topics and indices. One (no replica)
 * fits a single node; a cluster of 3 brokers takes a replication factor of 3 with 2 in-sync
 * replicas for a write (unset: the broker's min.insync.replicas), and 3 Elasticsearch nodes
 * one replica per index.
 */
export const replicationConfig = {
  KAFKA_REPLICATION_FACTOR: Positive(1, { maximum: 32 }),
  KAFKA_MIN_INSYNC_REPLICAS: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
  ELASTICSEARCH_REPLICAS: Type.Integer({ minimum: 0, maximum: 8, default: 0 }),
} satisfies TProperties;

export const latenessConfig = {
  ALLOWED_LATENESS_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
} satisfies TProperties;

export function loadConfig<P extends TProperties>(
  properties: P,
  env: Record<string, string | undefined> = process.env,
): Static<TObject<P>> {
  const schema = Type.Object(properties);
  const candidate: Record<string, unknown> = {};
  for (const key of Object.keys(properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') candidate[key] = value;
  }
  const validate = ajv.compile(schema);
  if (!validate(candidate)) {
    const problems = (validate.errors ?? []).map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String(e.params['missingProperty'] ?? 'config');
      const given = name in candidate ? ` (got ${JSON.stringify(candidate[name])})` : '';
      return `${name} ${e.message ?? 'is invalid'}${given}`;
    });
    throw new ConfigError(problems);
  }
  const problems = crossFieldProblems(candidate, properties);
  if (problems.length > 0) throw new ConfigError(problems);
  return candidate as Static<TObject<P>>;
}

/** What one variable alone cannot say: settings that need each other, and CA files that must be readable PEM. */
function crossFieldProblems(config: Record<string, unknown>, properties: TProperties): string[] {
  const problems: string[] = [];
  const protocol = config['KAFKA_SECURITY_PROTOCOL'];
  if ('KAFKA_SECURITY_PROTOCOL' in properties) {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) {
      if (protocol === 'SASL_SSL' && config[name] === undefined) problems.push(`${name} is required when KAFKA_SECURITY_PROTOCOL is SASL_SSL`);
      if (protocol !== 'SASL_SSL' && config[name] !== undefined) problems.push(`${name} is set but KAFKA_SECURITY_PROTOCOL is ${String(protocol ?? 'PLAINTEXT')}: use SASL_SSL`);
    }
    if ((protocol ?? 'PLAINTEXT') === 'PLAINTEXT' && config['KAFKA_CA_FILE'] !== undefined) problems.push('KAFKA_CA_FILE is set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT: use SSL or SASL_SSL');
  }
  const url = config['ELASTICSEARCH_URL'];
  if (typeof url === 'string' && url.startsWith('http:') && config['ELASTICSEARCH_CA_FILE'] !== undefined) {
    problems.push('ELASTICSEARCH_CA_FILE is set but ELASTICSEARCH_URL is not https://');
  }
  for (const name of ['KAFKA_CA_FILE', 'ELASTICSEARCH_CA_FILE']) {
    const file = config[name];
    if (typeof file === 'string') {
      const problem = pemProblem(file);
      if (problem) problems.push(`${name} ${problem} (got ${JSON.stringify(file)})`);
    }
  }
  return problems;
}

/** Why a CA file cannot be used, or undefined when it holds at least one PEM certificate. */
function pemProblem(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
  try {
    if (!text.includes('-----BEGIN CERTIFICATE-----')) return 'is not a PEM certificate bundle';
    new X509Certificate(text);
    return undefined;
  } catch {
    return 'is not a PEM certificate bundle';
  }
}

/** The PEM of a CA file a config check has already read once. */
export function readCaFile(file: string | undefined): string[] | undefined {
  return file === undefined ? undefined : [readFileSync(file, 'utf8')];
}

export function brokersOf(list: string): string[] {
  return list.split(',').map((b) => b.trim());
}
