/**
 * Where the tests find Kafka and Elasticsearch. The global setup starts both (real
 * processes, fresh data) on ports of their own, so `make test` can run beside `make dev`.
 * Set TEST_KAFKA_BROKERS and TEST_ELASTICSEARCH_URL to use servers that are already up.
 */
export const TEST_KAFKA_PORT = 29092;
export const TEST_ES_PORT = 29200;
/** The secure Kafka and Elasticsearch test/secure.it.test.ts starts for itself. */
export const TEST_SECURE_KAFKA_PORT = 33092;
export const TEST_SECURE_ES_PORT = 33200;
/**
 * The secure 3-broker Kafka and 3-node Elasticsearch test/faults.it.test.ts starts for itself:
 * brokers on 35092, 35094, 35096 (controllers one above each), nodes on 35200-35202 (transport 35300-35302).
 */
export const TEST_FAULTS_KAFKA_PORT = 35092;
export const TEST_FAULTS_ES_PORT = 35200;

export const kafkaBrokers = process.env['TEST_KAFKA_BROKERS'] ?? `127.0.0.1:${TEST_KAFKA_PORT}`;
export const elasticsearchUrl = process.env['TEST_ELASTICSEARCH_URL'] ?? `http://127.0.0.1:${TEST_ES_PORT}`;
export const externalInfra = process.env['TEST_KAFKA_BROKERS'] !== undefined && process.env['TEST_ELASTICSEARCH_URL'] !== undefined;
