/**
 * Creates the pipeline's Kafka topics and Elasticsearch index templates/indices against
 * the configured platform (KAFKA_BROKERS, ELASTICSEARCH_URL, and their TLS and credential
 * settings), with the replication of KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS and
 * ELASTICSEARCH_REPLICAS. Safe to run again.
 */
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
    await ensureTopics(admin, pipelineTopics(config), { replicationFactor: config.KAFKA_REPLICATION_FACTOR, minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS });
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
