/**
 * The vreplicas of one KafkaSource's ConsumerGroup over time: KEDA polls every
 * polling-interval and decides 0 ↔ 1 (keda.ts), the HPA syncs every 15 s and decides
 * between 1 and max-scale (hpa.ts), both from the same Kafka lag. The ScaledObject's
 * numbers come from the source's `autoscaling.eventing.knative.dev/*` annotations as
 * eventing-kafka-broker generates it (control-plane/pkg/autoscaler/keda; checked by
 * test/upstream/scaledobject.test.ts).
 *
 * Simplifications: no errors, fallback, paused annotations or idleReplicaCount; one trigger
 * per source (a cluster makes one per topic and the HPA takes the highest proposal: exact
 * for one topic); status.replicas = spec.replicas; KEDA and the HPA run on exact,
 * phase-locked schedules and KEDA goes first when both are due.
 */
import { HPA_DEFAULTS, KAFKA_AUTOSCALER_DEFAULTS, stripUndefined } from './defaults.ts';
import { Hpa, type HpaRecommendation } from './hpa.ts';
import { kafkaScalerActive, kafkaScalerMetric, kedaPoll, type KedaState } from './keda.ts';

export interface ConsumerGroupScalerConfig {
  /** `autoscaling.eventing.knative.dev/*` annotations; missing ones take Knative's defaults. */
  minScale?: number;
  maxScale?: number;
  lagThreshold?: number;
  pollingIntervalS?: number;
  cooldownPeriodS?: number;
  /** Partitions of the source's topic: every step must pass one lag per partition. */
  partitions: number;
  /** See KafkaScalerMetricInput.allowIdleConsumers; Knative (with placements) → true. */
  allowIdleConsumers?: boolean;
  /** Consumers at creation (ConsumerGroup spec.replicas); default 0. */
  initialReplicas?: number;
  /** Creation time (ScaledObject creationTimestamp, start of both loops); default: the first step. */
  nowMs?: number;
  /** Also return the evaluations that changed nothing (for tests that replay every one). */
  reportHolds?: boolean;
}

export interface Decision {
  atMs: number;
  by: 'keda' | 'hpa';
  from: number;
  to: number;
  /** The HPA metric (total lag after the cap, ≥ 0). */
  metric: number;
  /** The uncapped total lag (activation). */
  activity: number;
  reason: string;
  /** keda: activity > activationLagThreshold. */
  active?: boolean;
  /** hpa: the per-metric proposal, its usage ratio, and the stabilized recommendation. */
  proposal?: number;
  ratio?: number;
  stabilized?: number;
}

export class ConsumerGroupScaler {
  readonly config: Required<Omit<ConsumerGroupScalerConfig, 'nowMs'>>;
  #keda: KedaState | undefined;
  #replicas: number;
  #hpa: Hpa;
  #nextPollMs: number | undefined;
  #nextSyncMs: number | undefined;
  #lastMetric: number | undefined;
  #lastActive: boolean | undefined;

  constructor(config: ConsumerGroupScalerConfig) {
    const { class: _class, ...autoscalerDefaults } = KAFKA_AUTOSCALER_DEFAULTS;
    const c = {
      ...autoscalerDefaults,
      allowIdleConsumers: true,
      initialReplicas: 0,
      reportHolds: false,
      ...stripUndefined(config),
      partitions: config.partitions,
    };
    if (!Number.isInteger(c.partitions) || c.partitions < 1) throw new RangeError(`partitions must be ≥ 1, got ${c.partitions}`);
    if (c.minScale < 0 || c.maxScale < 1 || c.minScale > c.maxScale) throw new RangeError(`invalid scale bounds min=${c.minScale} max=${c.maxScale}`);
    if (!(c.pollingIntervalS >= 1)) throw new RangeError(`pollingIntervalS must be ≥ 1, got ${c.pollingIntervalS}`);
    if (!(c.cooldownPeriodS >= 0)) throw new RangeError(`cooldownPeriodS must be ≥ 0, got ${c.cooldownPeriodS}`);
    const { nowMs, ...rest } = c;
    this.config = rest;
    this.#replicas = c.initialReplicas;
    // KEDA's HPA: minReplicas max(1, minReplicaCount), behavior unset (controllers/keda/hpa.go).
    this.#hpa = new Hpa({ minReplicas: Math.max(1, c.minScale), maxReplicas: c.maxScale, targetAverageValue: c.lagThreshold });
    if (nowMs !== undefined) this.#start(nowMs);
  }

  /** The ConsumerGroup's vreplicas (spec.replicas). */
  get replicas(): number {
    return this.#replicas;
  }

  /** The metric KEDA last handed the HPA (keda_scaler_metrics_value); undefined before the first evaluation. */
  get lastMetric(): number | undefined {
    return this.#lastMetric;
  }

  /** Whether KEDA's last poll found the scaler active (keda_scaler_active). */
  get lastActive(): boolean | undefined {
    return this.#lastActive;
  }

  get lastActiveMs(): number | undefined {
    return this.#keda?.lastActiveMs;
  }

  /** The HPA's recommendations still inside the stabilization window. */
  get hpaHistory(): readonly HpaRecommendation[] {
    return this.#hpa.history;
  }

  #start(nowMs: number): void {
    this.#keda = { replicas: this.#replicas, createdMs: nowMs };
    this.#nextPollMs = nowMs;
    // The HPA controller queues a new HPA rate-limited: its first reconcile is a sync period later.
    this.#nextSyncMs = nowMs + HPA_DEFAULTS.syncPeriodMs;
  }

  /**
   * Advances to nowMs with the live per-partition lags: runs the KEDA poll if a polling
   * interval is due and the HPA sync if 15 s are due (each at most once per step, KEDA
   * first), and returns the decisions that changed the replicas (all evaluations with
   * reportHolds).
   */
  step(nowMs: number, partitionLags: readonly number[]): Decision[] {
    const c = this.config;
    if (partitionLags.length !== c.partitions) throw new RangeError(`expected ${c.partitions} partition lags, got ${partitionLags.length}`);
    if (!this.#keda) this.#start(nowMs);
    const { metric, activity } = kafkaScalerMetric({ partitionLags, lagThreshold: c.lagThreshold, allowIdleConsumers: c.allowIdleConsumers });
    const decisions: Decision[] = [];

    if (nowMs >= this.#nextPollMs!) {
      this.#nextPollMs = nextSlot(this.#nextPollMs!, c.pollingIntervalS * 1000, nowMs);
      const from = this.#replicas;
      const active = kafkaScalerActive(activity);
      this.#lastMetric = metric;
      this.#lastActive = active;
      const r = kedaPoll(
        { ...this.#keda!, replicas: from },
        { active, nowMs, minReplicaCount: c.minScale, maxReplicaCount: c.maxScale, cooldownPeriodS: c.cooldownPeriodS },
      );
      this.#keda = { createdMs: this.#keda!.createdMs, replicas: r.replicas, lastActiveMs: r.lastActiveMs };
      this.#replicas = r.replicas;
      if (c.reportHolds || r.replicas !== from) decisions.push({ atMs: nowMs, by: 'keda', from, to: r.replicas, metric, activity, active, reason: r.reason });
    }

    if (nowMs >= this.#nextSyncMs!) {
      this.#nextSyncMs = nextSlot(this.#nextSyncMs!, HPA_DEFAULTS.syncPeriodMs, nowMs);
      const from = this.#replicas;
      this.#lastMetric = metric;
      // KEDA hands the HPA the metric in milli-units (scaler.go GenerateMetricInMili).
      const r = this.#hpa.sync(nowMs, { currentReplicas: from, statusReplicas: from, metricMilli: Math.trunc(metric * 1000) });
      this.#replicas = r.desired;
      this.#keda = { ...this.#keda!, replicas: r.desired };
      if (c.reportHolds || r.desired !== from) {
        const d: Decision = { atMs: nowMs, by: 'hpa', from, to: r.desired, metric, activity, reason: r.reason };
        if (r.stabilized !== undefined) Object.assign(d, { proposal: r.proposal, ratio: r.ratio, stabilized: r.stabilized });
        decisions.push(d);
      }
    }
    return decisions;
  }
}

/** The next slot of a fixed schedule strictly after nowMs (missed slots are skipped, not replayed). */
function nextSlot(slotMs: number, periodMs: number, nowMs: number): number {
  let next = slotMs + periodMs;
  while (next <= nowMs) next += periodMs;
  return next;
}
