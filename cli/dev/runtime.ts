/**
 * `make dev`: the topology of knative/ and keda/, run on one machine. Each Knative Service
 * becomes a pool of function processes, each KafkaSource a local dispatcher, each PingSource
 * a cron timer, and the scaling decisions of KEDA, the HPA and the KPA are taken from the
 * same annotations with the same formulas as on a cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { brokersOf } from '../../shared/config.ts';
import { EventProducer, createKafka } from '../../shared/kafka.ts';
import { partitionLag, readGroupLag } from '../../shared/lag.ts';
import { loadTopology, type Topology } from '../manifests.ts';
import { type DispatcherSettings, dispatcherSettings, loadReleases } from '../releases.ts';
import { ConsumerGroupScaler, type Decision } from '../scaling/consumer-group.ts';
import { Kpa } from '../scaling/kpa.ts';
import { DispatcherScheduler } from '../scaling/placement.ts';
import { Dispatcher } from './dispatcher.ts';
import { PingSchedule } from './ping.ts';
import { FunctionPool } from './pool.ts';

export interface Clock {
  now(): number;
}

export interface RuntimeOptions {
  root: string;
  kafkaBrokers: string;
  elasticsearchUrl: string;
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

const NAME_VARIABLES = ['TOPIC_RAW', 'TOPIC_ENRICHED', 'TOPIC_WINDOWS', 'TOPIC_DEAD_LETTERS', 'EVENTS_INDEX', 'AGGREGATES_INDEX', 'FINALS_INDEX'];

/** The topology with `-suffix` on every topic, consumer group and index name. */
export function isolated(topology: Topology, suffix: string): Topology {
  const s = (name: string) => `${name}-${suffix}`;
  return {
    ...topology,
    services: topology.services.map((svc) => {
      const env = { ...svc.env };
      for (const key of NAME_VARIABLES) if (env[key]) env[key] = s(env[key]);
      if (env['UPSTREAM_CONSUMER_GROUPS']) {
        env['UPSTREAM_CONSUMER_GROUPS'] = env['UPSTREAM_CONSUMER_GROUPS']
          .split(',')
          .map((pair) => pair.split(':').map(s).join(':'))
          .join(',');
      }
      return { ...svc, env };
    }),
    kafkaSources: topology.kafkaSources.map((src) => ({ ...src, topics: src.topics.map(s), consumerGroup: s(src.consumerGroup) })),
    kafkaSinks: topology.kafkaSinks.map((k) => ({ ...k, topic: s(k.topic) })),
  };
}

/** Services in the order events flow through them, so local ports are stable: generate first. */
const FLOW = ['generate', 'enrich', 'index', 'window-aggregate'];
function byFlow<T extends { name: string }>(services: T[]): T[] {
  const rank = (name: string) => (FLOW.includes(name) ? FLOW.indexOf(name) : FLOW.length);
  return [...services].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

function only(topology: Topology, services: string[] | undefined): Topology {
  if (!services) return topology;
  const keep = new Set(services);
  return {
    ...topology,
    services: topology.services.filter((svc) => keep.has(svc.name)),
    kafkaSources: topology.kafkaSources.filter((src) => keep.has(src.sink)),
    pingSources: topology.pingSources.filter((p) => keep.has(p.sink)),
  };
}

export interface SourceState {
  name: string;
  topics: string[];
  sink: string;
  consumerGroup: string;
  lag: number;
  /** The ConsumerGroup's vreplicas (KEDA/the HPA). */
  vreplicas: number;
  maxScale: number;
  /** The dispatcher pods it is placed on (one Kafka consumer each), and how many vreplicas on each. */
  placements: { podName: string; vreplicas: number }[];
  /** Members of its consumer group as Kafka reports them. */
  members: number;
  /** When its KEDA ScaledObject (and so its polling and HPA loops) was created, ms since the epoch on the scaling clock; null when not autoscaled. */
  autoscalerSince: number | null;
  delivered: number;
  deadLettered: number;
  retries: number;
  inFlight: number;
}

export interface ServiceState {
  name: string;
  url: string;
  instances: number;
  desired: number;
  ready: number;
  inFlight: number;
  restarts: number;
  requests: number;
  ports: number[];
}

export interface RuntimeState {
  at: string;
  /** The kafka-source-dispatcher StatefulSet: its pods and the settings that place vreplicas on them. */
  dispatcher: { pods: number } & DispatcherSettings;
  sources: SourceState[];
  services: ServiceState[];
  decisions: (Decision & { source: string })[];
  events: string[];
}

export class DevRuntime {
  readonly topology: Topology;
  readonly pools = new Map<string, FunctionPool>();
  readonly dispatchers = new Map<string, Dispatcher>();
  readonly scalers = new Map<string, ConsumerGroupScaler>();
  readonly kpas = new Map<string, Kpa>();
  /** The kafka-source-dispatcher StatefulSet's scheduler: where each source's vreplicas run. */
  readonly placement: DispatcherScheduler;
  readonly dispatcherSettings: DispatcherSettings;
  readonly decisions: (Decision & { source: string })[] = [];
  /** Inputs of the latest scaling steps, so every decision can be recomputed (tests, debugging). */
  readonly scalingSteps: { source: string; atMs: number; lags: number[] }[] = [];
  /** When each source's scaler was created (its KEDA and HPA loops start there). */
  readonly scalerStarts = new Map<string, number>();
  readonly #pings: PingSchedule[] = [];
  readonly #events: string[] = [];
  readonly #lags = new Map<string, number>();
  readonly #members = new Map<string, number>();
  #nextRefreshMs: number | undefined;
  readonly #kafka: Kafka;
  #admin: Admin | undefined;
  #deadLetterProducer: EventProducer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stepping = false;
  #dashboard: WebApp | undefined;
  readonly clock: Clock;

  constructor(private readonly options: RuntimeOptions) {
    const topology = only(loadTopology(options.root), options.only);
    this.topology = options.isolate ? isolated(topology, options.isolate) : topology;
    this.clock = options.clock ?? { now: Date.now };
    this.dispatcherSettings = options.dispatcher ?? dispatcherSettings(loadReleases(options.root));
    this.placement = new DispatcherScheduler({ podCapacity: this.dispatcherSettings.podCapacity, minReplicas: this.dispatcherSettings.minReplicas });
    this.#kafka = createKafka({ brokers: brokersOf(options.kafkaBrokers), clientId: 'dev-runtime', connectionTimeoutMs: 5000 });
  }

  log(message: string): void {
    this.#events.push(`${new Date().toISOString().slice(11, 19)} ${message}`);
    if (this.#events.length > 50) this.#events.shift();
    this.options.log?.(message);
  }

  async start(): Promise<void> {
    const { topology, options } = this;
    this.#admin = this.#kafka.admin();
    await this.#admin.connect();
    this.#deadLetterProducer = new EventProducer(this.#kafka, { maxItems: 100, maxWaitMs: 20, sendTimeoutMs: 10_000 });

    for (const [i, service] of byFlow(topology.services).entries()) {
      // Secret-backed variables (Elasticsearch credentials) are not in the topology: local ES has no security.
      const env: Record<string, string> = { ...service.env, KAFKA_BROKERS: options.kafkaBrokers, ELASTICSEARCH_URL: options.elasticsearchUrl, ...options.env };
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
      // One warm instance at start, so the first curl answers at once.
      pool.scaleTo(Math.max(1, service.kpa.minScale));
    }

    for (const source of topology.kafkaSources) {
      if (source.initialOffset === 'latest') await this.#commitInitialOffsets(source.consumerGroup, source.topics);
      const sink = this.pools.get(source.sink);
      if (!sink) throw new Error(`KafkaSource ${source.name}: no service ${source.sink}`);
      const dlq = source.delivery.deadLetterSink && topology.kafkaSinks.find((k) => k.name === source.delivery.deadLetterSink!.name);
      const dispatcher = new Dispatcher(
        source,
        this.#kafka,
        sink,
        dlq ? { producer: this.#deadLetterProducer, topic: dlq.topic } : undefined,
        topology.namespace,
        (m) => this.log(m),
        { maxPollRecords: this.dispatcherSettings.maxPollRecords },
      );
      this.dispatchers.set(source.name, dispatcher);
      this.placement.setVReplicas(source.name, 0);
      const partitions = await this.#partitions(source.topics);
      this.scalerStarts.set(source.name, this.clock.now());
      this.scalers.set(
        source.name,
        new ConsumerGroupScaler({
          minScale: source.scaling.minScale,
          maxScale: source.scaling.maxScale,
          lagThreshold: source.scaling.lagThreshold,
          pollingIntervalS: source.scaling.pollingIntervalS,
          cooldownPeriodS: source.scaling.cooldownPeriodS,
          partitions,
          nowMs: this.scalerStarts.get(source.name)!,
        }),
      );
    }

    if (options.pings !== false) {
      for (const ping of topology.pingSources) {
        const sink = this.pools.get(ping.sink);
        if (!sink) throw new Error(`PingSource ${ping.name}: no service ${ping.sink}`);
        const schedule = new PingSchedule(ping, topology.namespace, sink, (m) => this.log(m));
        schedule.start();
        this.#pings.push(schedule);
      }
    }

    if (options.dashboardPort !== undefined) {
      const index = (name: string) => (options.isolate ? `${name}-${options.isolate}` : name);
      this.#dashboard = new WebApp({
        name: 'dashboard',
        entry: join(options.root, 'dist', 'dashboard', 'index.mjs'),
        port: options.dashboardPort,
        env: { ELASTICSEARCH_URL: options.elasticsearchUrl, AGGREGATES_INDEX: index('events-aggregated'), ...options.env },
        logDir: join(options.stateDir, 'logs'),
        onEvent: (m) => this.log(m),
      });
      this.#dashboard.start();
    }

    this.#timer = setInterval(() => {
      this.step().catch((error: unknown) => this.log(`scaling step failed (${(error as Error).message}); retrying on the next tick`));
    }, options.scalingTickMs ?? 1000);
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
      const changed = new Set<string>();
      for (const source of this.topology.kafkaSources) {
        const lags: number[] = [];
        try {
          for (const topic of source.topics) {
            const lag = await readGroupLag(this.#admin, source.consumerGroup, topic);
            for (const p of lag.partitions) lags.push(partitionLag(p.committed, p.latest));
          }
        } catch (error) {
          this.log(`${source.name}: lag unavailable (${(error as Error).message})`);
          continue;
        }
        this.#lags.set(source.name, lags.reduce((a, b) => a + b, 0));
        this.scalingSteps.push({ source: source.name, atMs: now, lags });
        if (this.scalingSteps.length > 20_000) this.scalingSteps.splice(0, 10_000);
        let vreplicas = source.consumers;
        if (source.autoscaled) {
          const scaler = this.scalers.get(source.name)!;
          for (const decision of scaler.step(now, lags)) {
            this.decisions.push({ ...decision, source: source.name });
            this.log(`${source.name}: ${decision.by} ${decision.from} → ${decision.to} vreplicas (${decision.reason})`);
          }
          vreplicas = scaler.replicas;
        }
        if (vreplicas !== this.placement.vreplicasOf(source.name)) {
          this.placement.setVReplicas(source.name, vreplicas);
          changed.add(source.name);
        }
      }
      this.#place(changed, now);
      for (const source of this.topology.kafkaSources) {
        // Never rejects: a failed change is logged by the dispatcher and retried on the next tick.
        void this.dispatchers.get(source.name)!.setPods(this.placement.placementsOf(source.name).map((p) => p.podName));
      }
      await this.#readMembers();
      for (const [name, pool] of this.pools) {
        const kpa = this.kpas.get(name)!;
        kpa.observe(now, pool.inFlight);
        const current = [...pool.instances.values()].filter((i) => !i.retiring).length;
        const { desired } = kpa.decide(now, current);
        if (desired !== pool.desired) pool.scaleTo(desired);
      }
      this.#writeState();
    } finally {
      this.#stepping = false;
    }
  }

  /**
   * The ConsumerGroup reconciler and the StatefulSet autoscaler: reschedules the sources
   * whose vreplicas changed, and those that did not all fit last time (a cluster requeues
   * them every 5 s); a StatefulSet change reschedules every source. Every refresh period the
   * autoscaler may also scale down and compact.
   */
  #place(changed: Set<string>, now: number): void {
    const before = this.placement.replicas;
    this.placement.enqueue(...changed, ...this.placement.unplaced);
    this.placement.drain();
    const refreshMs = this.dispatcherSettings.refreshPeriodS * 1000;
    this.#nextRefreshMs ??= now + refreshMs;
    if (now >= this.#nextRefreshMs) {
      this.#nextRefreshMs = now + refreshMs;
      const { evicted } = this.placement.refresh();
      for (const key of evicted) this.log(`dispatcher: compaction moves ${key} off the pods beyond ${this.placement.replicas}`);
    }
    if (this.placement.replicas !== before) {
      this.log(`dispatcher: ${before} → ${this.placement.replicas} pods (${this.placement.totalVReplicas} vreplicas, ${this.dispatcherSettings.podCapacity} a pod)`);
    }
  }

  /** Members of each source's consumer group, as Kafka reports them. */
  async #readMembers(): Promise<void> {
    try {
      const { groups } = await this.#admin!.describeGroups(this.topology.kafkaSources.map((s) => s.consumerGroup));
      for (const source of this.topology.kafkaSources) {
        this.#members.set(source.name, groups.find((g) => g.groupId === source.consumerGroup)?.members.length ?? 0);
      }
    } catch {
      // Kafka away: the last known counts stay.
    }
  }

  state(): RuntimeState {
    return {
      at: new Date().toISOString(),
      dispatcher: { pods: this.placement.replicas, ...this.dispatcherSettings },
      sources: this.topology.kafkaSources.map((s) => {
        const d = this.dispatchers.get(s.name)!;
        return {
          name: s.name,
          topics: s.topics,
          sink: s.sink,
          consumerGroup: s.consumerGroup,
          lag: this.#lags.get(s.name) ?? 0,
          vreplicas: this.placement.vreplicasOf(s.name),
          maxScale: s.scaling.maxScale,
          placements: this.placement.placementsOf(s.name).map((p) => ({ ...p })),
          members: this.#members.get(s.name) ?? 0,
          autoscalerSince: s.autoscaled ? (this.scalerStarts.get(s.name) ?? null) : null,
          ...d.stats,
        };
      }),
      services: [...this.pools].map(([name, pool]) => ({
        name,
        url: pool.url,
        instances: [...pool.instances.values()].filter((i) => !i.retiring).length,
        desired: pool.desired,
        ready: pool.ready.length,
        inFlight: pool.inFlight,
        restarts: pool.restarts,
        requests: pool.requests,
        ports: pool.ports(),
      })),
      decisions: this.decisions.slice(-20),
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

  /**
   * `initialOffset: latest`: like the Knative controller, commit the end offsets for a group
   * that has none yet, before any consumer starts, so lag is measured from here on and an
   * event produced while the consumers are at zero is not skipped.
   */
  async #commitInitialOffsets(groupId: string, topics: string[]): Promise<void> {
    const admin = this.#admin!;
    for (const topic of topics) {
      const committed = (await admin.fetchOffsets({ groupId, topics: [topic] })).flatMap((t) => t.partitions);
      if (committed.some((p) => Number(p.offset) >= 0)) continue;
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({ groupId, topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
    }
  }

  async #partitions(topics: string[]): Promise<number> {
    const { topics: metadata } = await this.#admin!.fetchTopicMetadata({ topics });
    return metadata.reduce((sum, t) => sum + t.partitions.length, 0);
  }

  #writeState(): void {
    mkdirSync(this.options.stateDir, { recursive: true });
    writeFileSync(join(this.options.stateDir, 'state.json'), JSON.stringify(this.state(), null, 1));
  }
}

/** A long-lived web app beside the functions (the dashboard): one process, not a pool; replaced if it dies. */
class WebApp {
  #child: ChildProcess | undefined;
  #stopped = false;

  constructor(
    private readonly options: { name: string; entry: string; port: number; env: Record<string, string>; logDir: string; onEvent: (m: string) => void },
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  start(): void {
    if (this.#stopped) return;
    const { name, entry, port, env, logDir } = this.options;
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', POD_NAME: `${name}-0` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.#child = child;
    // 'close', not 'exit': the log is ended only after the child's output has been read.
    child.once('close', (code, signal) => {
      log.end();
      if (this.#stopped) return;
      this.options.onEvent(`${name} exited (${signal ?? code}); starting a replacement`);
      // A pause, so a process that cannot start (port taken) does not spin.
      setTimeout(() => this.start(), 1000).unref();
    });
  }

  /** From now on an exit is not replaced (Ctrl-C reaches the child too). */
  markStopping(): void {
    this.#stopped = true;
  }

  stop(): Promise<void> {
    this.#stopped = true;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
