/**
 * Creates the pipeline's Kafka topics and Elasticsearch index templates/indices against
 * the configured platform (KAFKA_BROKERS, ELASTICSEARCH_URL, and their TLS and credential
 * settings), with the replication of KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS and
 * ELASTICSEARCH_REPLICAS. Safe to run again.
 */
import pRetry from 'p-retry';
import { causesOf } from '../shared/access.ts';
import { brokersOf, elasticsearchConfig, kafkaConfig, loadConfig, replicationConfig, retentionConfig, topicConfig } from '../shared/config.ts';
import { createEsClient, ensureIndices, esOptionsOf } from '../shared/elasticsearch.ts';
import { createKafka, ensureTopics, kafkaSecurityOf } from '../shared/kafka.ts';
import { pipelineTopics } from '../shared/topology.ts';

/** Resolves with one line on how old events are deleted. */
export async function setupPlatform(env: Record<string, string | undefined> = process.env): Promise<string> {
  const config = loadConfig({ ...kafkaConfig, ...elasticsearchConfig, ...topicConfig, ...retentionConfig, ...replicationConfig }, env);
  const admin = createKafka({ brokers: brokersOf(config.KAFKA_BROKERS), clientId: 'setup', connectionTimeoutMs: 5000, ...kafkaSecurityOf(config) }).admin();
  await admin.connect();
  try {
    // A cluster that is still settling (a broker just restarted, a new topic's metadata not yet
    // on every broker) refuses some requests for a few seconds with errors kafkajs calls retriable.
    const replication = { replicationFactor: config.KAFKA_REPLICATION_FACTOR, minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS };
    await pRetry(() => ensureTopics(admin, pipelineTopics(config), replication), {
      retries: 5,
      minTimeout: 500,
      shouldRetry: ({ error }) => causesOf(error).some((e) => (e as { retriable?: boolean }).retriable === true),
    });
  } finally {
    await admin.disconnect();
  }
  const es = createEsClient({ ...esOptionsOf(config), requestTimeoutMs: 30_000 });
  try {
    return await ensureIndices(es, config);
  } finally {
    await es.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  setupPlatform().then(
    (retention) => console.log(`topics and indices are in place; ${retention}`),
    (error: unknown) => {
      console.error(`setup failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
