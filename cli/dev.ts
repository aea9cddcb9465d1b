/**
 * `make dev`: starts the local Kafka and Elasticsearch (unless already up; BDP_SECURE=1: with
 * TLS and passwords, as in production), creates topics and index templates, and runs the
 * topology of knative/ and keda/ on this machine until Ctrl-C, which stops everything it started.
 */
import { resolve } from 'node:path';
import { CeType } from '../shared/ce-types.ts';
import { clientEnv, infra, localPlatformSettings } from './local-platform.ts';
import { clientSettings, commandSettings, envOf, flag, isOn, port } from './settings.ts';
import { setupPlatform } from './setup.ts';
import { DevMonitoring } from './dev/monitoring.ts';
import { devPlatform, isSecure } from './dev/platform.ts';
import { DevRuntime } from './dev/runtime.ts';

const root = resolve(import.meta.dirname, '..');
const settings = commandSettings({
  ...localPlatformSettings,
  // The first function's port; each function takes a block of 20 from here.
  DEV_BASE_PORT: port(8080),
  DASHBOARD_PORT: port(8090),
  PROMETHEUS_PORT: port(19090),
  /** The runtime's metrics (KEDA's series and its own) and the kafka_exporter series (9308 on a cluster). */
  DEV_METRICS_PORT: port(19308),
  ES_EXPORTER_PORT: port(19114),
  /** 1: Kafka SASL_SSL and Elasticsearch HTTPS with passwords (platform/local/README.md, "Secure mode"). */
  BDP_SECURE: flag(),
});
const platform = devPlatform(settings, isOn(settings.BDP_SECURE));
const BASE_PORT = settings.DEV_BASE_PORT;
const DASHBOARD_PORT = settings.DASHBOARD_PORT;

const startedInfra = !infra('status', platform);
if (startedInfra && !infra('start', platform)) process.exit(1);
const client = commandSettings(clientSettings, undefined, clientEnv(platform));
const secure = isSecure(client);
if (secure !== platform.secure) {
  console.error(`the running Kafka and Elasticsearch are ${secure ? '' : 'not '}in secure mode: ${secure ? 'set' : 'unset'} BDP_SECURE, or stop them first (make platform-down)`);
  process.exit(1);
}
await setupPlatform({ ...process.env, ...envOf(client) });

const { KAFKA_BROKERS: kafkaBrokers, ELASTICSEARCH_URL: elasticsearchUrl, ...security } = client;
const runtime = new DevRuntime({
  root,
  kafkaBrokers,
  elasticsearchUrl,
  security,
  basePort: BASE_PORT,
  stateDir: resolve(root, '.run/dev'),
  dashboardPort: DASHBOARD_PORT,
  log: (m) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${m}`),
});

const monitoring = new DevMonitoring({
  root,
  runtime,
  client,
  ports: { prometheus: settings.PROMETHEUS_PORT, metrics: settings.DEV_METRICS_PORT, elasticsearchExporter: settings.ES_EXPORTER_PORT },
  runDir: resolve(root, '.run/dev'),
  logDir: resolve(root, '.run/dev/logs'),
  ...(DASHBOARD_PORT && { dashboard: `127.0.0.1:${DASHBOARD_PORT}` }),
  webUi: true,
  log: (m) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${m}`),
});
let monitoringError: string | undefined;

let stopping = false;
/** Ctrl-C, or a fatal failure of the runtime: stop the functions, dispatchers and infra this started. */
async function shutdown(code: number, failure?: unknown): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (failure !== undefined) console.error(`\nfatal: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}`);
  console.log('\nstopping: draining functions and dispatchers…');
  let clean = true;
  try {
    await runtime.stop();
    await monitoring.stop();
  } catch (error) {
    clean = false;
    console.error(`the runtime did not stop cleanly: ${(error as Error).message}`);
  }
  if (startedInfra) infra('stop', platform);
  console.log(clean ? 'stopped; nothing left running' : 'stopped, with the error above');
  process.exit(clean ? code : code || 1);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// Without these Node would exit at once and leave the function processes running.
process.on('unhandledRejection', (reason) => void shutdown(1, reason));
process.on('uncaughtException', (error) => void shutdown(1, error));

try {
  await runtime.start();
  // Without Prometheus the pipeline still runs: say why, and go on.
  await monitoring.start().catch((error: unknown) => {
    monitoringError = (error as Error).message;
    return monitoring.stop();
  });
} catch (error) {
  await shutdown(1, error);
}
/** The banner's line about Prometheus: its web UI when it serves one, else its API. */
function prometheusLine(): string {
  if (monitoringError) return `not running: ${monitoringError}`;
  if (monitoring.webUiUrl) return `${monitoring.webUiUrl}   (the cluster's Prometheus and alert rules; web UI: query, alerts, targets; API: /api/v1/…)`;
  const why = monitoring.webUiError ? `; ${monitoring.webUiError}` : '';
  return `${monitoring.prometheusUrl}/api/v1/alerts   (the cluster's Prometheus and alert rules; API only: /api/v1/query?query=…, /api/v1/rules, /api/v1/targets${why})`;
}

// A fatal failure during start, or Ctrl-C meanwhile: the shutdown in progress exits.
if (!stopping) {
  const state = runtime.state();
  const generate = state.services.find((s) => s.name === 'generate')!;
  // The passwords stay in the run directory: infra.sh env prints them for whoever needs them.
  const securityLine = secure ? `\n  secure:         Kafka SASL_SSL and Elasticsearch HTTPS, CA ${client.KAFKA_CA_FILE}; passwords: platform/local/infra.sh env` : '';
  console.log(`
big-data-pipeline is running locally${secure ? ', secure' : ''} (topology read from knative/, dispatcher settings from keda/releases.yaml)

  functions:      ${state.services.map((s) => `${s.name} ${s.url}`).join('\n                  ')}
  dashboard:      ${runtime.dashboardUrl}   (totals, charts by region and type, top categories, pipeline stages, health; filters in the URL)
  kafka:          ${kafkaBrokers}${secure ? `   (SCRAM-SHA-512 user ${client.KAFKA_SASL_USERNAME})` : ''}
  elasticsearch:  ${elasticsearchUrl}   (indices: events, events-aggregated${secure ? `; user ${client.ELASTICSEARCH_USERNAME}` : ''})${securityLine}
  prometheus:     ${prometheusLine()}
  logs:           .run/dev/logs/<function>.log, prometheus.log, elasticsearch-exporter.log     watch it: make watch

  try it:
  curl -i ${generate.url} \\
    -H 'ce-specversion: 1.0' -H 'ce-type: ${CeType.generateRequest}' \\
    -H 'ce-source: /curl' -H "ce-id: $(date +%s%N)" -H "ce-time: $(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" \\
    -H 'content-type: application/json' -d '{"count": 100}'

  Ctrl-C stops everything.
`);
}
