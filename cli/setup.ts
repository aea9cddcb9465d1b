/**
 * Creates the pipeline's Kafka topics and Elasticsearch index templates/indices against
 * the configured platform (KAFKA_BROKERS, ELASTICSEARCH_URL, and their TLS and credential
 * settings). Safe to run again.
 */
import { brokersOf, elasticsearchConfig, kafkaConfig, loadConfig, topicConfig } from '../shared/config.ts';
import { createEsClient, ensureIndices, esOptionsOf } from '../shared/elasticsearch.ts';
import { createKafka, ensureTopics, kafkaSecurityOf } from '../shared/kafka.ts';
import { pipelineTopics } from '../shared/topology.ts';

export async function setupPlatform(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = loadConfig({ ...kafkaConfig, ...elasticsearchConfig, ...topicConfig }, env);
  const admin = createKafka({ brokers: brokersOf(config.KAFKA_BROKERS), clientId: 'setup', connectionTimeoutMs: 5000, ...kafkaSecurityOf(config) }).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, pipelineTopics(config));
  } finally {
    await admin.disconnect();
  }
  const es = createEsClient({ ...esOptionsOf(config), requestTimeoutMs: 30_000 });
  try {
    await ensureIndices(es, config);
  } finally {
    await es.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  setupPlatform().then(
    () => console.log('topics and indices are in place'),
    (error: unknown) => {
      console.error(`setup failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
