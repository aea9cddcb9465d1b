/**
 * Prometheus beside the local runtime, as on a cluster: the cluster's Prometheus and
 * elasticsearch_exporter, built from Go modules at the platform's versions
 * (platform/local/monitoring-tools.sh), the project's alert rules as they are, and the jobs of
 * platform/prometheus/prometheus.yml pointed at this machine (prometheus-config.ts). The runtime
 * serves its own metrics and the kafka_exporter series on one port; the function instances
 * reach Prometheus through a file_sd targets file rewritten whenever they change.
 *
 * With `webUi`, Prometheus also serves its web UI (/query, /alerts, /targets, ...): the UI is
 * built from the same Go module's sources by `monitoring-tools.sh prometheus-ui` (once per
 * version, with pnpm from the npm registry), and Prometheus runs in the directory that command
 * prints, because a binary without built-in assets reads them from ./web/ui/static when its
 * working directory is named `prometheus` (there is no flag for it). When the UI cannot be
 * built, Prometheus still starts, with the API only, and `webUiError` says why.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { Admin } from 'kafkajs';
import type { Registry } from 'prom-client';
import { brokersOf } from '../../shared/config.ts';
import { createKafka, kafkaSecurityOf } from '../../shared/kafka.ts';
import type { ClientSettings } from '../settings.ts';
import { kafkaExporterMetrics } from './kafka-exporter.ts';
import { type Intervals, type FunctionTarget, localConfig, writeConfig, writeFunctionTargets } from './prometheus-config.ts';
import { runtimeMetrics } from './runtime-metrics.ts';
import type { DevRuntime } from './runtime.ts';
import { spawnServer } from './spawn-ready.ts';
import { terminate } from './terminate.ts';

export interface MonitoringOptions {
  root: string;
  runtime: DevRuntime;
  /** The client settings of the platform (TLS and passwords in secure mode). */
  client: ClientSettings;
  /** Where Prometheus, the runtime's metrics (with the kafka_exporter series) and elasticsearch_exporter listen. */
  ports: { prometheus: number; metrics: number; elasticsearchExporter: number };
  /** Config, targets and the TSDB go to <runDir>/prometheus (the TSDB is fresh on every start). */
  runDir: string;
  logDir: string;
  /** Shorter scrape and rule-evaluation intervals than the cluster's 15 s (tests). */
  intervals?: Intervals;
  /** The runtime's isolate suffix: only its topics and groups are exported, under the pipeline's own names. */
  isolate?: string;
  /** host:port of the web dashboard, scraped as the `dashboard` job. */
  dashboard?: string;
  /** Serve Prometheus's web UI too, building it the first time (make dev; the tests need only the API). */
  webUi?: boolean;
  log?: (message: string) => void;
}

export class DevMonitoring {
  #server: Server | undefined;
  #admin: Admin | undefined;
  #prometheus: ChildProcess | undefined;
  #exporter: ChildProcess | undefined;
  #timer: NodeJS.Timeout | undefined;
  #targets = '';
  #webUi: string | undefined;
  #webUiError: string | undefined;

  constructor(private readonly options: MonitoringOptions) {}

  get prometheusUrl(): string {
    return `http://127.0.0.1:${this.options.ports.prometheus}`;
  }

  /** The page of the web UI when Prometheus serves it (after start). */
  get webUiUrl(): string | undefined {
    return this.#webUi ? `${this.prometheusUrl}/query` : undefined;
  }

  /** Why the web UI was asked for and is not served (after start). */
  get webUiError(): string | undefined {
    return this.#webUiError;
  }

  // Absolute: Prometheus may run in the web UI's directory.
  get #dir(): string {
    return resolve(this.options.runDir, 'prometheus');
  }

  async start(): Promise<void> {
    const { root, runtime, client, ports, logDir } = this.options;
    const [prometheus, exporter] = ['prometheus', 'elasticsearch_exporter'].map((name) => binary(root, name));
    if (this.options.webUi) {
      try {
        this.#webUi = binary(root, 'prometheus-ui');
      } catch (error) {
        this.#webUiError = `the web UI could not be built (${(error as Error).message.split('\n')[0]}; output above)`;
        this.options.log?.(`prometheus: ${this.#webUiError}; serving the API only`);
      }
    }
    mkdirSync(logDir, { recursive: true });
    rmSync(join(this.#dir, 'data'), { recursive: true, force: true });
    mkdirSync(this.#dir, { recursive: true });

    const kafka = createKafka({ brokers: brokersOf(client.KAFKA_BROKERS), clientId: 'dev-kafka-exporter', connectionTimeoutMs: 5000, ...kafkaSecurityOf(client) });
    this.#admin = kafka.admin();
    await this.#admin.connect();
    await this.#serve(ports.metrics, { '/metrics': runtimeMetrics(runtime), '/kafka-exporter/metrics': kafkaExporterMetrics(this.#admin, this.#filters) });

    // The platform's flags (platform/exporters/elasticsearch-exporter.yaml), with its CA in secure mode.
    const esArgs = [`--es.uri=${client.ELASTICSEARCH_URL}`, '--es.indices', '--es.timeout=10s', `--web.listen-address=127.0.0.1:${ports.elasticsearchExporter}`, '--web.telemetry-path=/metrics'];
    if (client.ELASTICSEARCH_CA_FILE) esArgs.push(`--es.ca=${client.ELASTICSEARCH_CA_FILE}`);
    const esEnv: Record<string, string> = {};
    if (client.ELASTICSEARCH_USERNAME) esEnv['ES_USERNAME'] = client.ELASTICSEARCH_USERNAME;
    if (client.ELASTICSEARCH_PASSWORD) esEnv['ES_PASSWORD'] = client.ELASTICSEARCH_PASSWORD;
    this.#exporter = await spawnServer(exporter!, esArgs, ports.elasticsearchExporter, '/metrics', join(logDir, 'elasticsearch-exporter.log'), { env: esEnv });

    const functionsFile = join(this.#dir, 'functions.json');
    this.#refreshTargets(functionsFile);
    const config = join(this.#dir, 'prometheus.yml');
    const host = (p: number) => `127.0.0.1:${p}`;
    writeConfig(
      config,
      localConfig(
        root,
        { prometheus: host(ports.prometheus), runtime: host(ports.metrics), kafkaExporter: host(ports.metrics), elasticsearchExporter: host(ports.elasticsearchExporter), functionsFile, ...(this.options.dashboard && { dashboard: this.options.dashboard }) },
        this.options.intervals,
        this.options.isolate,
      ),
    );
    this.#prometheus = await spawnServer(
      prometheus!,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(this.#dir, 'data')}`, `--web.listen-address=127.0.0.1:${ports.prometheus}`, '--storage.tsdb.retention.time=1d'],
      ports.prometheus,
      '/-/ready',
      join(logDir, 'prometheus.log'),
      this.#webUi ? { cwd: this.#webUi } : {},
    );
    this.#timer = setInterval(() => this.#refreshTargets(functionsFile), 1000);
    this.#timer.unref();
    this.options.log?.(`prometheus ready on ${this.prometheusUrl}`);
  }

  get #filters(): { topic?: RegExp; group?: RegExp } {
    const { isolate } = this.options;
    if (!isolate) return {};
    const ofRun = new RegExp(`-${isolate}$`);
    return { topic: ofRun, group: ofRun };
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await Promise.all([this.#prometheus, this.#exporter].map((p) => (p ? terminate(p) : undefined)));
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    await this.#admin?.disconnect();
  }

  /** Rewrites the targets file when the set of live function instances changed. */
  #refreshTargets(file: string): void {
    const targets: FunctionTarget[] = [];
    for (const [service, pool] of this.options.runtime.pools) {
      for (const i of pool.instances.values()) if (!i.retiring) targets.push({ service, instance: `${service}-${i.id}`, port: i.port });
    }
    const key = JSON.stringify(targets);
    if (key === this.#targets) return;
    this.#targets = key;
    writeFunctionTargets(file, this.options.runtime.topology.namespace, targets);
  }

  #serve(port: number, registries: Record<string, Registry>): Promise<void> {
    this.#server = createServer((req, res) => {
      const registry = registries[(req.url ?? '/').split('?')[0]!];
      if (!registry || req.method !== 'GET') {
        res.writeHead(404).end();
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
      );
    });
    return new Promise((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(port, '127.0.0.1', () => resolve());
    });
  }
}

/** The cached binary (or, for prometheus-ui, the UI's directory), built by monitoring-tools.sh the first time (its progress goes to stderr). */
function binary(root: string, name: string): string {
  return execFileSync(join(root, 'platform/local/monitoring-tools.sh'), [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}
