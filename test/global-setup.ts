/**
 * Starts real Kafka and Elasticsearch for the test run (platform/local/infra.sh) and stops
 * them afterwards. Unit tests need neither, but one setup for the whole run keeps
 * `make test` a single command.
 */
import { execFileSync } from 'node:child_process';
import { TEST_ES_PORT, TEST_KAFKA_PORT, externalInfra } from './infra.ts';

const env = {
  ...process.env,
  KAFKA_PORT: String(TEST_KAFKA_PORT),
  KAFKA_CONTROLLER_PORT: String(TEST_KAFKA_PORT + 1),
  ES_PORT: String(TEST_ES_PORT),
  ES_TRANSPORT_PORT: String(TEST_ES_PORT + 100),
  BDP_RUN_DIR: '.run/test-infra',
};

function infra(command: 'start' | 'stop'): void {
  execFileSync('platform/local/infra.sh', [command], { env, stdio: ['ignore', 'inherit', 'inherit'] });
}

export function setup(): () => void {
  if (externalInfra) return () => undefined;
  infra('start');
  return () => infra('stop');
}
