/**
 * `make dev`: starts the local Kafka and Elasticsearch (unless already up), creates topics
 * and index templates, and runs the topology of knative/ and keda/ on this machine until
 * Ctrl-C, which stops everything it started.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { CeType } from '../shared/ce-types.ts';
import { setupPlatform } from './setup.ts';
import { DevRuntime } from './dev/runtime.ts';

const root = resolve(import.meta.dirname, '..');
const KAFKA_PORT = Number(process.env['KAFKA_PORT'] ?? 19092);
const ES_PORT = Number(process.env['ES_PORT'] ?? 19200);
const BASE_PORT = Number(process.env['DEV_BASE_PORT'] ?? 8080);
const DASHBOARD_PORT = Number(process.env['DASHBOARD_PORT'] ?? 8090);
const infraEnv = {
  ...process.env,
  KAFKA_PORT: String(KAFKA_PORT),
  KAFKA_CONTROLLER_PORT: String(KAFKA_PORT + 1),
  ES_PORT: String(ES_PORT),
  ES_TRANSPORT_PORT: String(ES_PORT + 100),
  BDP_RUN_DIR: resolve(root, '.run/infra'),
};
const kafkaBrokers = `127.0.0.1:${KAFKA_PORT}`;
const elasticsearchUrl = `http://127.0.0.1:${ES_PORT}`;

function infra(command: 'start' | 'stop' | 'status'): boolean {
  try {
    execFileSync(resolve(root, 'platform/local/infra.sh'), [command], { env: infraEnv, stdio: command === 'status' ? 'ignore' : 'inherit' });
    return true;
  } catch {
    return false;
  }
}

const startedInfra = !infra('status');
if (startedInfra && !infra('start')) process.exit(1);
await setupPlatform({ ...process.env, KAFKA_BROKERS: kafkaBrokers, ELASTICSEARCH_URL: elasticsearchUrl });

const runtime = new DevRuntime({
  root,
  kafkaBrokers,
  elasticsearchUrl,
  basePort: BASE_PORT,
  stateDir: resolve(root, '.run/dev'),
  dashboardPort: DASHBOARD_PORT,
  log: (m) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${m}`),
});

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping: draining functions and dispatchers…');
  await runtime.stop();
  if (startedInfra) infra('stop');
  console.log('stopped; nothing left running');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

await runtime.start();
const state = runtime.state();
const generate = state.services.find((s) => s.name === 'generate')!;
console.log(`
big-data-pipeline is running locally (topology read from knative/ and keda/)

  functions:      ${state.services.map((s) => `${s.name} ${s.url}`).join('\n                  ')}
  dashboard:      ${runtime.dashboardUrl}   (live totals, revenue by region, event mix, health)
  kafka:          ${kafkaBrokers}
  elasticsearch:  ${elasticsearchUrl}   (indices: events, events-aggregated)
  logs:           .run/dev/logs/<function>.log     watch it: make watch

  try it:
  curl -i ${generate.url} \\
    -H 'ce-specversion: 1.0' -H 'ce-type: ${CeType.generateRequest}' \\
    -H 'ce-source: /curl' -H "ce-id: $(date +%s%N)" -H "ce-time: $(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" \\
    -H 'content-type: application/json' -d '{"count": 100}'

  Ctrl-C stops everything.
`);
