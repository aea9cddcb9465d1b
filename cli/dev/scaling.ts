/**
 * The scaling decisions a cluster takes, emulated for the local runtime (`make dev`):
 *
 *   consumers of a KafkaSource   KEDA decides 0 ↔ 1 (activation, cooldown); between 1 and
 *                                max-scale the Kubernetes HPA decides on the Kafka lag metric.
 *   pods of a function (ksvc)    Knative's KPA decides on in-flight requests.
 *
 * Pure functions (no I/O, no timers; time is passed in as ms) plus small state holders, so
 * every recorded decision can be recomputed from its inputs. Algorithms and numbers:
 * the upstream sources listed below.
 *
 * Sources of the numbers
 *   KEDA Kafka scaler   kedacore/keda pkg/scalers/kafka_scaler.go @8b4f083:
 *                       partition cap with floor division and strict '>' (issue #4483),
 *                       activity = uncapped total > activationLagThreshold (0: Knative's
 *                       generated trigger sets none since eventing-kafka-broker PR #3479).
 *   KEDA loop           pkg/scaling/executor/scale_scaledobjects.go: 0 → max(min, 1)
 *                       at once; → min (0) at the first poll strictly after lastActive +
 *                       cooldownPeriod; initialCooldownPeriod default 0.
 *   Knative → KEDA      eventing-kafka-broker control-plane/pkg/autoscaler:
 *                       min-scale 0, max-scale 50, polling-interval 10 s,
 *                       cooldown-period 30 s, lag-threshold 100; allowIdleConsumers "true"
 *                       once the ConsumerGroup has placements; offsetResetPolicy unset
 *                       (latest); HPA behavior nil → legacy normalization.
 *   HPA                 kubernetes pkg/controller/podautoscaler horizontal.go,
 *                       replica_calculator.go: sync 15 s, tolerance 0.1, downscale
 *                       stabilization 300 s, scale-up limit max(2·current, 4),
 *                       AverageValue proposal ceil(L/T) unless |L/(T·S) − 1| ≤ 0.1.
 *   KPA                 knative/serving pkg/autoscaler/scaling/autoscaler.go (Scale),
 *                       pkg/reconciler/autoscaling/kpa/scaler.go (handleScaleToZero),
 *                       pkg/autoscaler/aggregation (WindowAverage), config-autoscaler
 *                       defaults: container-concurrency-target-default 100 (our ksvc sets
 *                       target 50), target utilization 70 %, stable window 60 s, panic
 *                       window 10 % (6 s), panic threshold 200 %, max-scale-up-rate 1000,
 *                       max-scale-down-rate 2, scale-to-zero-grace-period 30 s, tick 2 s,
 *                       1 s metric buckets.
 *
 * Simplifications vs the real controllers
 *   - No errors, no fallback, no paused annotations, no idleReplicaCount, no
 *     excludePersistentLag / ensureEvenDistributionOfPartitions / partitionLimitation.
 *   - One trigger per KafkaSource: the lags of all its partitions form one metric. A cluster
 *     makes one trigger per topic (HPA takes the max proposal); exact for one topic.
 *   - The HPA's status.replicas is taken equal to spec.replicas (consumers exist at once);
 *     the HPA's "initial recommendation" (current replicas at its first reconcile) is not
 *     recorded — KEDA's HPA is created at 0 or 1 replicas, below minReplicas, so it never
 *     matters. Recommendations older than the window are pruned instead of overwritten
 *     (same maximum). KEDA and HPA run on exact, phase-locked schedules; when both are due
 *     in one step KEDA runs first.
 *   - KPA: one in-flight total per observation (Knative sums per-pod stats into a bucket;
 *     several observations in one second are averaged here); the revision is always
 *     reachable; no scale-down-delay, activation-scale, target-burst-capacity or
 *     initial-scale handling (the runtime starts one instance, as initial-scale 1 does);
 *     the autoscaler does not start in panic mode. Scale to zero follows Knative: the
 *     stable-window average must be exactly 0 (so ≥ 60 s without in-flight requests), the PA
 *     must have been active for a stable window, then the grace period (30 s) must pass —
 *     about 90 s in all, as the Knative docs state (stable window + grace period). The
 *     activator probe and the SKS proxy-mode fast path are not modelled. Scale-from-zero:
 *     a decision is taken at once when there are no pods and requests are in flight (the
 *     activator "pokes" the autoscaler), otherwise at most once per 2 s tick.
 */

// ---------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------

/** kube-controller-manager --horizontal-pod-autoscaler-sync-period. */
export const HPA_SYNC_PERIOD_MS = 15_000;
/** kube-controller-manager --horizontal-pod-autoscaler-tolerance. */
export const TOLERANCE = 0.1;
/** kube-controller-manager --horizontal-pod-autoscaler-downscale-stabilization. */
export const DOWNSCALE_STABILIZATION_MS = 300_000;
/** horizontal.go calculateScaleUpLimit: max(2 · current, 4). */
export const HPA_SCALE_UP_LIMIT_FACTOR = 2;
export const HPA_SCALE_UP_LIMIT_MINIMUM = 4;

/** KEDA trigger default; Knative's generated trigger sets no activationLagThreshold. */
export const ACTIVATION_LAG_THRESHOLD = 0;

/** Defaults of Knative's built-in KEDA integration (`config-kafka-autoscaler`). */
export const KNATIVE_KAFKA_AUTOSCALER_DEFAULTS = {
  minScale: 0,
  maxScale: 50,
  pollingIntervalS: 10,
  cooldownPeriodS: 30,
  lagThreshold: 100,
} as const;

/** Knative Serving `config-autoscaler` defaults and the KPA tick. */
export const KPA_DEFAULTS = {
  /** container-concurrency-target-default (our ksvc sets `autoscaling.knative.dev/target: 50`). */
  target: 100,
  /** container-concurrency-target-percentage. */
  targetUtilizationPercentage: 70,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  /** panic-threshold-percentage 200. */
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleToZeroGracePeriodMs: 30_000,
  minScale: 0,
  /** 0 = unbounded (Knative's convention). */
  maxScale: 0,
} as const;
/** autoscaler.go tickInterval. */
export const KPA_TICK_MS = 2_000;
/** Metric bucket granularity of the KPA's windows. */
export const KPA_BUCKET_MS = 1_000;

// ---------------------------------------------------------------------------------------
// 1. KEDA Kafka scaler: metric and activity
// ---------------------------------------------------------------------------------------

export interface KafkaScalerMetricInput {
  /** Lag of every partition considered, from shared/lag.ts `partitionLag` (KEDA getLagForPartition). */
  partitionLags: readonly number[];
  lagThreshold: number;
  /**
   * KEDA's default is false (cap at the partition count). Knative sets "true" once the
   * ConsumerGroup has placements, i.e. whenever there are consumers for the HPA to scale —
   * so the local runtime passes **true** (ConsumerScaler's default). The manifests keep
   * max-scale ≤ partitions, which is then the only bound. At 0 consumers the value does not
   * matter: activation uses the uncapped total and the HPA does not act.
   */
  allowIdleConsumers?: boolean;
  limitToPartitionsWithLag?: boolean;
}

export interface KafkaScalerMetric {
  /** Value handed to the HPA: the total after the partition cap (with KEDA's off-by-one), negative → 0. */
  metric: number;
  /** Uncapped total, compared with activationLagThreshold for activation. */
  activity: number;
}

/** Go's int64 division (truncates toward zero), exact for safe integers. */
function goIntDiv(a: number, b: number): number {
  return (a - (a % b)) / b;
}

export function kafkaScalerMetric(input: KafkaScalerMetricInput): KafkaScalerMetric {
  const { partitionLags, lagThreshold, allowIdleConsumers = false, limitToPartitionsWithLag = false } = input;
  if (!Number.isSafeInteger(lagThreshold) || lagThreshold <= 0) throw new RangeError(`lagThreshold must be a positive integer, got ${lagThreshold}`);
  if (allowIdleConsumers && limitToPartitionsWithLag) throw new RangeError('allowIdleConsumers and limitToPartitionsWithLag cannot be combined (KEDA rejects it)');
  let total = 0;
  let partitionsWithLag = 0;
  for (const lag of partitionLags) {
    if (!Number.isSafeInteger(lag)) throw new RangeError(`partition lag must be an integer, got ${lag}`);
    total += lag;
    if (lag > 0) partitionsWithLag++;
  }
  let capped = total;
  if (!allowIdleConsumers || limitToPartitionsWithLag) {
    const upperBound = limitToPartitionsWithLag ? partitionsWithLag : partitionLags.length;
    // Floor division and a strict '>': totals in [P·T+1, (P+1)·T−1] are not capped (issue #4483).
    if (goIntDiv(total, lagThreshold) > upperBound) capped = upperBound * lagThreshold;
  }
  return { metric: capped > 0 ? capped : 0, activity: total };
}

/** KEDA activity: strictly greater than the activation threshold. */
export function kafkaScalerActive(activity: number, activationLagThreshold = ACTIVATION_LAG_THRESHOLD): boolean {
  return activity > activationLagThreshold;
}

// ---------------------------------------------------------------------------------------
// 2. KEDA polling loop: 0 ↔ 1 (idleReplicaCount unset, no errors)
// ---------------------------------------------------------------------------------------

export interface KedaState {
  replicas: number;
  lastActiveMs?: number;
  /** ScaledObject creationTimestamp. */
  createdMs: number;
}

export interface KedaPollInput {
  active: boolean;
  nowMs: number;
  minReplicaCount: number;
  maxReplicaCount: number;
  cooldownPeriodS: number;
  initialCooldownPeriodS?: number;
}

export interface KedaPollResult {
  replicas: number;
  lastActiveMs?: number;
  reason: string;
}

export function kedaPoll(state: KedaState, input: KedaPollInput): KedaPollResult {
  const { active, nowMs, minReplicaCount: min, maxReplicaCount: max, cooldownPeriodS, initialCooldownPeriodS = 0 } = input;
  if (min < 0 || max < 1 || min > max) throw new RangeError(`invalid replica bounds min=${min} max=${max}`);
  const current = state.replicas;
  if (active) {
    if (current === 0) {
      const to = Math.max(min, 1);
      return { replicas: to, lastActiveMs: nowMs, reason: `active at 0 replicas: scale to max(minReplicaCount, 1) = ${to}` };
    }
    return { replicas: current, lastActiveMs: nowMs, reason: 'active: lastActiveTime updated, the HPA scales' };
  }
  if (current > 0 && min === 0) {
    const since = state.lastActiveMs === undefined ? state.createdMs + initialCooldownPeriodS * 1000 : state.lastActiveMs + cooldownPeriodS * 1000;
    const what = state.lastActiveMs === undefined ? 'creation + initialCooldownPeriod' : 'lastActive + cooldownPeriod';
    if (nowMs > since) return { replicas: 0, lastActiveMs: state.lastActiveMs, reason: `inactive after ${what} (${since} ms): scale to 0` };
    return { replicas: current, lastActiveMs: state.lastActiveMs, reason: `inactive, cooling down until after ${what} (${since} ms)` };
  }
  if (current < min) return { replicas: min, lastActiveMs: state.lastActiveMs, reason: `inactive below minReplicaCount: scale to ${min}` };
  return { replicas: current, lastActiveMs: state.lastActiveMs, reason: current === 0 ? 'inactive at 0' : 'inactive at minReplicaCount' };
}

// ---------------------------------------------------------------------------------------
// 3. HPA: AverageValue proposal and legacy normalization
// ---------------------------------------------------------------------------------------

export interface HpaProposalInput {
  /** The metric as KEDA reports it (lag); converted to milli-units like KEDA's GenerateMetricInMili. */
  metric?: number;
  /** Or directly in milli-units. */
  metricMilli?: number;
  /** AverageValue target = lagThreshold. */
  targetPerPod: number;
  /** scale.status.replicas. */
  statusReplicas: number;
  tolerance?: number;
}

export interface HpaProposal {
  replicas: number;
  ratio: number;
  withinTolerance: boolean;
}

/** GetExternalPerPodMetricReplicas. */
export function hpaProposal(input: HpaProposalInput): HpaProposal {
  const { targetPerPod, statusReplicas, tolerance = TOLERANCE } = input;
  const usage = input.metricMilli ?? Math.trunc((input.metric ?? Number.NaN) * 1000);
  if (!Number.isFinite(usage)) throw new RangeError('hpaProposal needs metric or metricMilli');
  const target = Math.trunc(targetPerPod * 1000);
  if (target <= 0) throw new RangeError(`targetPerPod must be > 0, got ${targetPerPod}`);
  // statusReplicas 0 gives +Inf (or NaN for 0/0): outside the tolerance, so ceil(L/T).
  const ratio = usage / (target * statusReplicas);
  const withinTolerance = 1 - tolerance <= ratio && ratio <= 1 + tolerance;
  return { replicas: withinTolerance ? statusReplicas : Math.ceil(usage / target), ratio, withinTolerance };
}

export interface HpaRecommendation {
  atMs: number;
  recommendation: number;
}

export interface HpaReconcileInput {
  proposal: number;
  /** scale.spec.replicas. */
  currentReplicas: number;
  /** KEDA's HPA: max(1, minReplicaCount). */
  minReplicas: number;
  maxReplicas: number;
  nowMs: number;
  downscaleStabilizationS?: number;
}

export interface HpaReconcileResult {
  desired: number;
  history: HpaRecommendation[];
  /** Max of the recommendations in the window, when metrics were used. */
  stabilized?: number;
  reason: string;
}

/** reconcileAutoscaler guard rails + normalizeDesiredReplicas (behavior nil). Returns a new history. */
export function hpaReconcile(history: readonly HpaRecommendation[], input: HpaReconcileInput): HpaReconcileResult {
  const { proposal, currentReplicas: current, minReplicas: min, maxReplicas: max, nowMs } = input;
  const windowMs = (input.downscaleStabilizationS ?? DOWNSCALE_STABILIZATION_MS / 1000) * 1000;
  if (current === 0 && min !== 0) return { desired: 0, history: [...history], reason: 'ScalingDisabled: the replica count of the target is zero' };
  if (current > max) return { desired: max, history: [...history], reason: `current replicas above maxReplicas ${max}` };
  if (current < min) return { desired: min, history: [...history], reason: `current replicas below minReplicas ${min}` };

  // stabilizeRecommendation: a sample counts unless its timestamp is strictly before now − window.
  const cutoff = nowMs - windowMs;
  const kept = history.filter((r) => r.atMs >= cutoff);
  const stabilized = kept.reduce((m, r) => Math.max(m, r.recommendation), proposal);
  const next = [...kept, { atMs: nowMs, recommendation: proposal }];

  // convertDesiredReplicasWithRules.
  const scaleUpLimit = Math.max(HPA_SCALE_UP_LIMIT_FACTOR * current, HPA_SCALE_UP_LIMIT_MINIMUM);
  const allowedMax = Math.min(max, scaleUpLimit);
  let desired = stabilized;
  let reason = stabilized > proposal ? `ScaleDownStabilized: highest recommendation of the last ${windowMs / 1000} s is ${stabilized}` : `recommendation ${stabilized}`;
  if (stabilized < min) {
    desired = min;
    reason += `, raised to minReplicas ${min}`;
  } else if (stabilized > allowedMax) {
    desired = allowedMax;
    reason += max > scaleUpLimit ? `, ScaleUpLimit max(2·${current}, 4) = ${scaleUpLimit}` : `, TooManyReplicas: maxReplicas ${max}`;
  }
  return { desired, history: next, stabilized, reason };
}

// ---------------------------------------------------------------------------------------
// 4. KPA (Knative Pod Autoscaler) for one function
// ---------------------------------------------------------------------------------------

export interface KpaOptions {
  /** Per-pod concurrency target (`autoscaling.knative.dev/target`); our ksvc sets 50. */
  target?: number;
  targetUtilizationPercentage?: number;
  stableWindowMs?: number;
  panicWindowPercentage?: number;
  panicThresholdPercentage?: number;
  maxScaleUpRate?: number;
  maxScaleDownRate?: number;
  scaleToZeroGracePeriodMs?: number;
  minScale?: number;
  /** 0 = unbounded. */
  maxScale?: number;
}

export interface KpaDecision {
  desired: number;
  panic: boolean;
  reason: string;
  stable: number;
  panicAverage: number;
}

interface Bucket {
  sum: number;
  count: number;
}

export class Kpa {
  readonly options: Required<KpaOptions>;
  /** Seconds → observations of that second. */
  readonly #buckets = new Map<number, Bucket>();
  #lastWriteSec: number | undefined;
  #firstWriteStableSec: number | undefined;
  #firstWritePanicSec: number | undefined;
  #lastObservedMs = Number.NEGATIVE_INFINITY;
  #lastInFlight = 0;
  /** autoscaler.panicTime: last time the panic threshold was crossed. */
  #panicTimeMs: number | undefined;
  #maxPanicPods = 0;
  #activeSinceMs: number | undefined;
  #inactiveSinceMs: number | undefined;
  #nextTickMs: number | undefined;
  #last: KpaDecision | undefined;

  constructor(options: KpaOptions = {}) {
    const o = { ...KPA_DEFAULTS, ...stripUndefined(options) };
    if (!(o.target > 0)) throw new RangeError(`target must be > 0, got ${o.target}`);
    if (o.minScale < 0 || o.maxScale < 0 || (o.maxScale !== 0 && o.minScale > o.maxScale)) throw new RangeError(`invalid scale bounds min=${o.minScale} max=${o.maxScale}`);
    this.options = o;
  }

  get targetValue(): number {
    return (this.options.target * this.options.targetUtilizationPercentage) / 100;
  }

  get stableBuckets(): number {
    return Math.ceil(this.options.stableWindowMs / KPA_BUCKET_MS);
  }

  get panicBuckets(): number {
    return Math.ceil((this.options.stableWindowMs * this.options.panicWindowPercentage) / 100 / KPA_BUCKET_MS);
  }

  /** Records the total number of in-flight requests (all pods, plus the activator's queue) at nowMs. */
  observe(nowMs: number, inFlight: number): void {
    if (nowMs < this.#lastObservedMs) throw new RangeError(`observations must not go back in time (${nowMs} < ${this.#lastObservedMs})`);
    if (!(inFlight >= 0)) throw new RangeError(`inFlight must be ≥ 0, got ${inFlight}`);
    this.#lastObservedMs = nowMs;
    this.#lastInFlight = inFlight;
    const sec = Math.floor(nowMs / KPA_BUCKET_MS);
    // TimedFloat64Buckets.Record: a write after a gap of a whole window restarts the window.
    if (this.#lastWriteSec === undefined || sec - this.#lastWriteSec >= this.stableBuckets) this.#firstWriteStableSec = sec;
    if (this.#lastWriteSec === undefined || sec - this.#lastWriteSec >= this.panicBuckets) this.#firstWritePanicSec = sec;
    this.#lastWriteSec = sec;
    const bucket = this.#buckets.get(sec);
    if (bucket) {
      bucket.sum += inFlight;
      bucket.count++;
    } else {
      this.#buckets.set(sec, { sum: inFlight, count: 1 });
    }
    for (const s of this.#buckets.keys()) if (s <= sec - this.stableBuckets) this.#buckets.delete(s);
  }

  /** Stable- and panic-window averages at nowMs (TimedFloat64Buckets.WindowAverage). */
  averages(nowMs: number): { stable: number; panic: number } {
    return {
      stable: this.#windowAverage(nowMs, this.stableBuckets, this.#firstWriteStableSec),
      panic: this.#windowAverage(nowMs, this.panicBuckets, this.#firstWritePanicSec),
    };
  }

  #windowAverage(nowMs: number, windowBuckets: number, firstWriteSec: number | undefined): number {
    const last = this.#lastWriteSec;
    if (last === undefined || firstWriteSec === undefined) return 0;
    const nowSec = Math.floor(nowMs / KPA_BUCKET_MS);
    if (nowSec - last >= windowBuckets) return 0;
    // The window ends now (or at the last write if that is later); seconds before the first
    // write of the current run and after the last write are not counted, gaps inside are 0.
    const end = Math.max(nowSec, last);
    const lo = Math.max(end - windowBuckets + 1, firstWriteSec);
    let total = 0;
    for (let s = lo; s <= last; s++) {
      const b = this.#buckets.get(s);
      if (b) total += b.sum / b.count;
    }
    return total / (last - lo + 1);
  }

  /**
   * The number of pods the KPA wants at nowMs given currentPods ready pods. Computes at most
   * once per 2 s tick (returning the previous decision in between), except at once when there
   * are no pods and requests are waiting (the activator pokes the autoscaler).
   */
  decide(nowMs: number, currentPods: number): KpaDecision {
    const poke = currentPods === 0 && this.#lastInFlight > 0 && this.#last?.desired === 0;
    if (this.#last && this.#nextTickMs !== undefined && nowMs < this.#nextTickMs && !poke) {
      return { ...this.#last, reason: `between ticks: ${this.#last.reason}` };
    }
    let next = (this.#nextTickMs ?? nowMs) + KPA_TICK_MS;
    while (next <= nowMs) next += KPA_TICK_MS;
    this.#nextTickMs = next;
    this.#last = this.#scale(nowMs, currentPods);
    return this.#last;
  }

  #scale(nowMs: number, currentPods: number): KpaDecision {
    const o = this.options;
    // autoscaler.Scale
    const ready = Math.max(1, currentPods);
    const maxScaleUp = Math.ceil(o.maxScaleUpRate * ready);
    const maxScaleDown = Math.floor(ready / o.maxScaleDownRate);
    const { stable, panic: panicAverage } = this.averages(nowMs);
    const dspc = Math.ceil(stable / this.targetValue);
    const dppc = Math.ceil(panicAverage / this.targetValue);
    const desiredStable = Math.min(Math.max(dspc, maxScaleDown), maxScaleUp);
    const desiredPanic = Math.min(Math.max(dppc, maxScaleDown), maxScaleUp);
    const overPanicThreshold = dppc / ready >= o.panicThresholdPercentage / 100;
    if (overPanicThreshold) {
      this.#panicTimeMs = nowMs;
    } else if (this.#panicTimeMs !== undefined && this.#panicTimeMs + o.stableWindowMs < nowMs) {
      this.#panicTimeMs = undefined;
      this.#maxPanicPods = 0;
    }
    const panic = this.#panicTimeMs !== undefined;
    let desired = desiredStable;
    let reason = `stable avg ${round(stable)} / ${this.targetValue} → ${dspc}`;
    if (desiredStable !== dspc) reason += `, rate-limited to ${desiredStable}`;
    if (panic) {
      desired = Math.max(desired, desiredPanic);
      if (desired > this.#maxPanicPods) this.#maxPanicPods = desired;
      reason = `panic (panic avg ${round(panicAverage)} / ${this.targetValue} → ${dppc} vs ${ready} ready): ${this.#maxPanicPods}, no scale-down while panicking`;
      desired = this.#maxPanicPods;
    }

    // scaler.Scale: applyBounds, then handleScaleToZero.
    if (desired < o.minScale) {
      desired = o.minScale;
      reason += `, min-scale ${o.minScale}`;
    } else if (o.maxScale !== 0 && desired > o.maxScale) {
      desired = o.maxScale;
      reason += `, max-scale ${o.maxScale}`;
    }
    if (currentPods > 0) this.#activeSinceMs ??= nowMs;
    else this.#activeSinceMs = undefined;
    if (desired === 0 && currentPods > 0) {
      const activeFor = nowMs - (this.#activeSinceMs ?? nowMs);
      if (activeFor < o.stableWindowMs) {
        this.#inactiveSinceMs = undefined;
        return { desired: 1, panic, stable, panicAverage, reason: `${reason}; active for ${activeFor} ms < stable window: hold 1` };
      }
      this.#inactiveSinceMs ??= nowMs;
      const inactiveFor = nowMs - this.#inactiveSinceMs;
      if (inactiveFor < o.scaleToZeroGracePeriodMs) {
        return { desired: currentPods, panic, stable, panicAverage, reason: `${reason}; inactive for ${inactiveFor} ms < grace period ${o.scaleToZeroGracePeriodMs} ms` };
      }
      return { desired: 0, panic, stable, panicAverage, reason: `${reason}; inactive for the grace period: scale to 0` };
    }
    if (desired > 0) this.#inactiveSinceMs = undefined;
    return { desired, panic, stable, panicAverage, reason };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------
// 5. ConsumerScaler: KEDA + HPA for the consumers of one KafkaSource
// ---------------------------------------------------------------------------------------

export interface ConsumerScalerConfig {
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

export class ConsumerScaler {
  readonly config: Required<Omit<ConsumerScalerConfig, 'nowMs'>>;
  #keda: KedaState | undefined;
  #replicas: number;
  #history: HpaRecommendation[] = [];
  #nextPollMs: number | undefined;
  #nextSyncMs: number | undefined;

  constructor(config: ConsumerScalerConfig) {
    const c = {
      ...KNATIVE_KAFKA_AUTOSCALER_DEFAULTS,
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
    if (nowMs !== undefined) this.#start(nowMs);
  }

  /** Current number of consumers (ConsumerGroup spec.replicas). */
  get replicas(): number {
    return this.#replicas;
  }

  get lastActiveMs(): number | undefined {
    return this.#keda?.lastActiveMs;
  }

  /** The HPA's recommendations still inside the stabilization window. */
  get hpaHistory(): readonly HpaRecommendation[] {
    return this.#history;
  }

  #start(nowMs: number): void {
    this.#keda = { replicas: this.#replicas, createdMs: nowMs };
    this.#nextPollMs = nowMs;
    this.#nextSyncMs = nowMs;
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
      const r = kedaPoll(
        { ...this.#keda!, replicas: from },
        { active, nowMs, minReplicaCount: c.minScale, maxReplicaCount: c.maxScale, cooldownPeriodS: c.cooldownPeriodS },
      );
      this.#keda = { createdMs: this.#keda!.createdMs, replicas: r.replicas, lastActiveMs: r.lastActiveMs };
      this.#replicas = r.replicas;
      if (c.reportHolds || r.replicas !== from) decisions.push({ atMs: nowMs, by: 'keda', from, to: r.replicas, metric, activity, active, reason: r.reason });
    }

    if (nowMs >= this.#nextSyncMs!) {
      this.#nextSyncMs = nextSlot(this.#nextSyncMs!, HPA_SYNC_PERIOD_MS, nowMs);
      const from = this.#replicas;
      const p = hpaProposal({ metric, targetPerPod: c.lagThreshold, statusReplicas: from });
      const r = hpaReconcile(this.#history, {
        proposal: p.replicas,
        currentReplicas: from,
        minReplicas: Math.max(1, c.minScale),
        maxReplicas: c.maxScale,
        nowMs,
      });
      this.#history = r.history;
      this.#replicas = r.desired;
      this.#keda = { ...this.#keda!, replicas: r.desired };
      if (c.reportHolds || r.desired !== from) {
        const d: Decision = { atMs: nowMs, by: 'hpa', from, to: r.desired, metric, activity, reason: r.reason };
        if (r.stabilized !== undefined) Object.assign(d, { proposal: p.replicas, ratio: p.ratio, stabilized: r.stabilized });
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
