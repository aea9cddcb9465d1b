/**
 * `make dev`: the topology of knative/ and keda/, run on one machine. Each Knative Service
 * becomes a pool of function processes, each KafkaSource a local dispatcher, each PingSource
 * a cron timer, and the scaling decisions of KEDA, the HPA and the KPA are taken from the
 * same annotations with the same formulas as on a cluster.
 */
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { brokersOf } from '../../shared/config.ts';
import { EventProducer, createKafka, kafkaSecurityOf } from '../../shared/kafka.ts';
import { PIPELINE_NAMES, runName } from '../../shared/topology.ts';
import { loadTopology, type Topology } from '../manifests/index.ts';
import { type DispatcherSettings, dispatcherSettings, loadReleases } from '../manifests/releases.ts';
import { Kpa } from '../scaling/kpa.ts';
import { type ClientSettings, envOf } from '../settings.ts';
import { Dispatcher } from './dispatcher.ts';
import { commitInitialOffsets, partitionCount } from './kafka-admin.ts';
import { byFlow, isolated, onlyServices } from './local-topology.ts';
import { PingSchedule } from './ping.ts';
import { FunctionPool } from './pool.ts';
import { SourceScaling } from './source-scaling.ts';
import { type RuntimeState, serviceState, writeState } from './state.ts';
import { WebApp } from './web-app.ts';

export interface Clock {
  now(): number;
}

export interface RuntimeOptions {
  root: string;
  kafkaBrokers: string;
  elasticsearchUrl: string;
  /**
   * TLS and credentials of a secure platform (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*,
   * KAFKA_CA_FILE, ELASTICSEARCH_USERNAME/PASSWORD/CA_FILE), for the runtime's own Kafka
   * client, every function and the dashboard; none: plaintext and no passwords.
   */
  security?: Omit<ClientSettings, 'KAFKA_BROKERS' | 'ELASTICSEARCH_URL'>;
  /** Ports: service i gets basePort + 20·i onwards (one port per instance). */
  basePort: number;
  stateDir: string;
  /** Scaling decisions read time from here (tests accelerate it); delivery uses real time. */
  clock?: Clock;
  /** Real milliseconds between scaling steps. */
  scalingTickMs?: number;
  /** Extra env for every function (e.g. LOG_LEVEL). */
  env?: Record<string, string>;
  /** Extra node options for every function process (e.g. --cpu-prof). */
  nodeArgs?: string[];
  pings?: boolean;
  /** Run only these services (and the sources and pings that feed them). */
  only?: string[];
  /** Suffix for every topic, consumer group and index, so several runtimes can share one platform (tests). */
  isolate?: string;
  /** Also run the web dashboard (dist/dashboard) on this port: one process, replaced if it dies. */
  dashboardPort?: number;
  /** The dispatcher plane; default: as keda/releases.yaml deploys it. */
  dispatcher?: DispatcherSettings;
  log?: (message: string) => void;
}

export class DevRuntime {
  readonly topology: Topology;
  readonly pools = new Map<string, FunctionPool>();
  readonly dispatchers = new Map<string, Dispatcher>();
  readonly kpas = new Map<string, Kpa>();
  readonly dispatcherSettings: DispatcherSettings;
  /** KEDA, the HPA and the dispatcher placement of every KafkaSource. */
  readonly scaling: SourceScaling;
  readonly clock: Clock;
  readonly #pings: PingSchedule[] = [];
  readonly #events: string[] = [];
  readonly #kafka: Kafka;
  /** The client settings every function and the dashboard are given. */
  readonly #clientEnv: Record<string, string>;
  #admin: Admin | undefined;
  #deadLetterProducer: EventProducer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stepping = false;
  #dashboard: WebApp | undefined;

  constructor(private readonly options: RuntimeOptions) {
    const topology = onlyServices(loadTopology(options.root), options.only);
    this.topology = options.isolate ? isolated(topology, options.isolate) : topology;
    this.clock = options.clock ?? { now: Date.now };
    this.dispatcherSettings = options.dispatcher ?? dispatcherSettings(loadReleases(options.root));
    this.scaling = new SourceScaling(this.topology.kafkaSources, this.dispatcherSettings, (m) => this.log(m));
    const security = options.security ?? {};
    this.#kafka = createKafka({ brokers: brokersOf(options.kafkaBrokers), clientId: 'dev-runtime', connectionTimeoutMs: 5000, ...kafkaSecurityOf(security) });
    this.#clientEnv = { KAFKA_BROKERS: options.kafkaBrokers, ELASTICSEARCH_URL: options.elasticsearchUrl, ...envOf(security) };
  }

  log(message: string): void {
    this.#events.push(`${new Date().toISOString().slice(11, 19)} ${message}`);
    if (this.#events.length > 50) this.#events.shift();
    this.options.log?.(message);
  }

  async start(): Promise<void> {
    this.#admin = this.#kafka.admin();
    await this.#admin.connect();
    this.#deadLetterProducer = new EventProducer(this.#kafka, { maxItems: 100, maxWaitMs: 20, sendTimeoutMs: 10_000 });
    await this.#startServices();
    await this.#startSources(this.#admin, this.#deadLetterProducer);
    if (this.options.pings !== false) this.#startPings();
    if (this.options.dashboardPort !== undefined) this.#startDashboard(this.options.dashboardPort);
    this.#timer = setInterval(() => {
      this.step().catch((error: unknown) => this.log(`scaling step failed (${(error as Error).message}); retrying on the next tick`));
    }, this.options.scalingTickMs ?? 1000);
    await this.step();
  }

  /** Where the web dashboard listens, when it runs. */
  get dashboardUrl(): string | undefined {
    return this.#dashboard?.url;
  }

  /**
   * One scaling step, in the order a cluster's controllers act: KEDA/the HPA set each
   * source's vreplicas from its lag, the ConsumerGroup reconciler places them on dispatcher
   * pods (growing the StatefulSet when they do not fit), each source runs one Kafka consumer
   * per pod it is placed on, and the KPA sizes each function from its in-flight requests.
   */
  async step(): Promise<void> {
    if (this.#stepping || !this.#admin) return;
    this.#stepping = true;
    try {
      const now = this.clock.now();
      await this.scaling.step(this.#admin, now);
      for (const source of this.topology.kafkaSources) {
        // Never rejects: a failed change is logged by the dispatcher and retried on the next tick.
        void this.dispatchers.get(source.name)!.setPods(this.scaling.podsOf(source.name));
      }
      await this.scaling.readMembers(this.#admin);
      for (const [name, pool] of this.pools) {
        const kpa = this.kpas.get(name)!;
        kpa.observe(now, pool.inFlight);
        const { desired } = kpa.decide(now, pool.live);
        if (desired !== pool.desired) pool.scaleTo(desired);
      }
      writeState(this.options.stateDir, this.state());
    } finally {
      this.#stepping = false;
    }
  }

  state(): RuntimeState {
    return {
      at: new Date().toISOString(),
      pid: process.pid,
      dispatcher: { pods: this.scaling.placement.replicas, ...this.dispatcherSettings },
      sources: this.topology.kafkaSources.map((s) => ({ ...this.scaling.stateOf(s), ...this.dispatchers.get(s.name)!.stats })),
      services: [...this.pools].map(([name, pool]) => serviceState(name, pool)),
      decisions: this.scaling.decisions.slice(-20),
      events: [...this.#events],
    };
  }

  async stop(): Promise<void> {
    for (const pool of this.pools.values()) pool.markStopping();
    this.#dashboard?.markStopping();
    if (this.#timer) clearInterval(this.#timer);
    for (const ping of this.#pings) ping.stop();
    await Promise.all([...this.dispatchers.values()].map((d) => d.stop()));
    await Promise.all([...this.pools.values()].map((p) => p.stop()));
    await this.#dashboard?.stop();
    await this.#deadLetterProducer?.close();
    await this.#admin?.disconnect();
  }

  /** Each Knative Service: a pool of function processes, its KPA, and one warm instance so the first curl answers at once. */
  async #startServices(): Promise<void> {
    const { options } = this;
    for (const [i, service] of byFlow(this.topology.services).entries()) {
      // Secret-backed variables (the Kafka and Elasticsearch credentials) are not in the topology: the local platform's client settings stand in.
      const env: Record<string, string> = { ...service.env, ...this.#clientEnv, ...options.env };
      const pool = new FunctionPool({
        name: service.name,
        entry: join(options.root, 'dist', service.name, 'index.mjs'),
        env,
        basePort: options.basePort + 20 * i,
        maxInstances: service.kpa.maxScale,
        logDir: join(options.stateDir, 'logs'),
        onEvent: (m) => this.log(m),
        ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
      });
      this.pools.set(service.name, pool);
      this.kpas.set(service.name, new Kpa(service.kpa));
      await pool.listen();
      pool.scaleTo(Math.max(1, service.kpa.minScale));
    }
  }

  /** Each KafkaSource: a dispatcher delivering to its service's pool, and its ConsumerGroup's scaling. */
  async #startSources(admin: Admin, deadLetterProducer: EventProducer): Promise<void> {
    const { topology } = this;
    for (const source of topology.kafkaSources) {
      if (source.initialOffset === 'latest') await commitInitialOffsets(admin, source.consumerGroup, source.topics);
      const sink = this.pools.get(source.sink);
      if (!sink) throw new Error(`KafkaSource ${source.name}: no service ${source.sink}`);
      const dlq = source.delivery.deadLetterSink && topology.kafkaSinks.find((k) => k.name === source.delivery.deadLetterSink!.name);
      const dispatcher = new Dispatcher(
        source,
        this.#kafka,
        sink,
        dlq ? { producer: deadLetterProducer, topic: dlq.topic } : undefined,
        topology.namespace,
        (m) => this.log(m),
        { maxPollRecords: this.dispatcherSettings.maxPollRecords },
      );
      this.dispatchers.set(source.name, dispatcher);
      this.scaling.add(source, await partitionCount(admin, source.topics), this.clock.now());
    }
  }

  #startPings(): void {
    for (const ping of this.topology.pingSources) {
      const sink = this.pools.get(ping.sink);
      if (!sink) throw new Error(`PingSource ${ping.name}: no service ${ping.sink}`);
      const schedule = new PingSchedule(ping, this.topology.namespace, sink, (m) => this.log(m));
      schedule.start();
      this.#pings.push(schedule);
    }
  }

  #startDashboard(port: number): void {
    const { options } = this;
    const index = (name: string) => (options.isolate ? runName(name, options.isolate) : name);
    this.#dashboard = new WebApp({
      name: 'dashboard',
      entry: join(options.root, 'dist', 'dashboard', 'index.mjs'),
      port,
      // The state file this runtime writes on every step: the dashboard's view of the stages.
      env: { ...this.#clientEnv, AGGREGATES_INDEX: index(PIPELINE_NAMES.AGGREGATES_INDEX), EVENTS_INDEX: index(PIPELINE_NAMES.EVENTS_INDEX), RUNTIME_STATE_FILE: join(options.stateDir, 'state.json'), ...options.env },
      logDir: join(options.stateDir, 'logs'),
      onEvent: (m) => this.log(m),
    });
    this.#dashboard.start();
  }
}
