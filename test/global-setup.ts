/**
 * Starts real Kafka and Elasticsearch for the test run (platform/local/infra.sh) and stops
 * them afterwards. Unit tests need neither, but one setup for the whole run keeps
 * `make test` a single command.
 */
import { infra, type LocalPlatform } from '../cli/local-platform.ts';
import { TEST_ES_PORT, TEST_KAFKA_PORT, externalInfra } from './infra.ts';

const platform: LocalPlatform = { kafkaPort: TEST_KAFKA_PORT, esPort: TEST_ES_PORT, runDir: '.run/test-infra' };

export function setup(): () => void {
  if (externalInfra) return () => undefined;
  if (!infra('start', platform)) throw new Error('could not start Kafka and Elasticsearch for the tests (see the output above)');
  return () => void infra('stop', platform);
}
