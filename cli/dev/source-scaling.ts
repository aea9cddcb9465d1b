/**
 * The scaling of the KafkaSources' consumers, in the order a cluster's controllers act:
 * KEDA/the HPA set each source's vreplicas from its lag (a ConsumerGroupScaler per source),
 * then the ConsumerGroup reconciler places them on kafka-source-dispatcher pods, growing the
 * StatefulSet when they do not fit. Each source then runs one Kafka consumer per pod it is
 * placed on (the runtime hands `podsOf` to its dispatcher).
 */
import type { Admin } from 'kafkajs';
import type { KafkaSourceSpec } from '../manifests/index.ts';
import type { DispatcherSettings } from '../manifests/releases.ts';
import { ConsumerGroupScaler, type Decision } from '../scaling/consumer-group.ts';
import { DispatcherScheduler } from '../scaling/placement.ts';
import { memberCounts, partitionLags } from './kafka-admin.ts';
import type { SourceState } from './state.ts';

/** The inputs of one source's scaling step, so every decision can be recomputed (tests, debugging). */
export interface ScalingStep {
  source: string;
  atMs: number;
  lags: number[];
}

export class SourceScaling {
  readonly scalers = new Map<string, ConsumerGroupScaler>();
  /** The kafka-source-dispatcher StatefulSet's scheduler: where each source's vreplicas run. */
  readonly placement: DispatcherScheduler;
  readonly decisions: (Decision & { source: string })[] = [];
  /** The latest scaling steps' inputs. */
  readonly scalingSteps: ScalingStep[] = [];
  /** When each source's scaler was created (its KEDA and HPA loops start there). */
  readonly scalerStarts = new Map<string, number>();
  readonly #lags = new Map<string, number>();
  readonly #members = new Map<string, number>();
  #nextRefreshMs: number | undefined;

  constructor(
    private readonly sources: readonly KafkaSourceSpec[],
    private readonly settings: DispatcherSettings,
    private readonly log: (message: string) => void,
  ) {
    this.placement = new DispatcherScheduler({ podCapacity: settings.podCapacity, minReplicas: settings.minReplicas });
  }

  /** A source's ConsumerGroup at 0 vreplicas, and its ScaledObject created at nowMs. */
  add(source: KafkaSourceSpec, partitions: number, nowMs: number): void {
    this.placement.setVReplicas(source.name, 0);
    this.scalerStarts.set(source.name, nowMs);
    this.scalers.set(
      source.name,
      new ConsumerGroupScaler({
        minScale: source.scaling.minScale,
        maxScale: source.scaling.maxScale,
        lagThreshold: source.scaling.lagThreshold,
        pollingIntervalS: source.scaling.pollingIntervalS,
        cooldownPeriodS: source.scaling.cooldownPeriodS,
        partitions,
        nowMs,
      }),
    );
  }

  /** Sets every source's vreplicas from its lag (its spec.consumers when not autoscaled), then places them. */
  async step(admin: Admin, nowMs: number): Promise<void> {
    const changed = new Set<string>();
    for (const source of this.sources) {
      let lags: number[];
      try {
        lags = await partitionLags(admin, source.consumerGroup, source.topics);
      } catch (error) {
        this.log(`${source.name}: lag unavailable (${(error as Error).message})`);
        continue;
      }
      this.#lags.set(source.name, lags.reduce((a, b) => a + b, 0));
      this.scalingSteps.push({ source: source.name, atMs: nowMs, lags });
      if (this.scalingSteps.length > 20_000) this.scalingSteps.splice(0, 10_000);
      const vreplicas = source.autoscaled ? this.#autoscale(source.name, nowMs, lags) : source.consumers;
      if (vreplicas !== this.placement.vreplicasOf(source.name)) {
        this.placement.setVReplicas(source.name, vreplicas);
        changed.add(source.name);
      }
    }
    this.#place(changed, nowMs);
  }

  /** The dispatcher pods the source is placed on: one Kafka consumer each. */
  podsOf(source: string): string[] {
    return this.placement.placementsOf(source).map((p) => p.podName);
  }

  /** Members of each source's consumer group, as Kafka reports them. */
  async readMembers(admin: Admin): Promise<void> {
    try {
      const counts = await memberCounts(admin, this.sources.map((s) => s.consumerGroup));
      for (const source of this.sources) this.#members.set(source.name, counts.get(source.consumerGroup) ?? 0);
    } catch {
      // Kafka away: the last known counts stay.
    }
  }

  /** The source's scaling as the state file shows it. */
  stateOf(source: KafkaSourceSpec): Omit<SourceState, 'delivered' | 'deadLettered' | 'retries' | 'inFlight'> {
    return {
      name: source.name,
      topics: source.topics,
      sink: source.sink,
      consumerGroup: source.consumerGroup,
      lag: this.#lags.get(source.name) ?? 0,
      vreplicas: this.placement.vreplicasOf(source.name),
      maxScale: source.scaling.maxScale,
      placements: this.placement.placementsOf(source.name).map((p) => ({ ...p })),
      members: this.#members.get(source.name) ?? 0,
      autoscalerSince: source.autoscaled ? (this.scalerStarts.get(source.name) ?? null) : null,
    };
  }

  /** KEDA and the HPA on the source's lags: its vreplicas now. */
  #autoscale(name: string, nowMs: number, lags: number[]): number {
    const scaler = this.scalers.get(name)!;
    for (const decision of scaler.step(nowMs, lags)) {
      this.decisions.push({ ...decision, source: name });
      this.log(`${name}: ${decision.by} ${decision.from} → ${decision.to} vreplicas (${decision.reason})`);
    }
    return scaler.replicas;
  }

  /**
   * The ConsumerGroup reconciler and the StatefulSet autoscaler: reschedules the sources
   * whose vreplicas changed, and those that did not all fit last time (a cluster requeues
   * them every 5 s); a StatefulSet change reschedules every source. Every refresh period the
   * autoscaler may also scale down and compact.
   */
  #place(changed: Set<string>, nowMs: number): void {
    const before = this.placement.replicas;
    this.placement.enqueue(...changed, ...this.placement.unplaced);
    this.placement.drain();
    const refreshMs = this.settings.refreshPeriodS * 1000;
    this.#nextRefreshMs ??= nowMs + refreshMs;
    if (nowMs >= this.#nextRefreshMs) {
      this.#nextRefreshMs = nowMs + refreshMs;
      const { evicted } = this.placement.refresh();
      for (const key of evicted) this.log(`dispatcher: compaction moves ${key} off the pods beyond ${this.placement.replicas}`);
    }
    if (this.placement.replicas !== before) {
      this.log(`dispatcher: ${before} → ${this.placement.replicas} pods (${this.placement.totalVReplicas} vreplicas, ${this.settings.podCapacity} a pod)`);
    }
  }
}
