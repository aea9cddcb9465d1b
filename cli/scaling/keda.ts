/**
 * KEDA's side of a KafkaSource's scaling, as KEDA v2.20.2 decides it:
 *
 *   the Kafka scaler     pkg/scalers/kafka_scaler.go getTotalLag / GetMetricsAndActivity:
 *                        the metric handed to the HPA (total lag, capped at partitions ×
 *                        lagThreshold unless allowIdleConsumers, with floor division and a
 *                        strict '>' — issue #4483) and the activity (uncapped total >
 *                        activationLagThreshold). Per-partition lag is shared/lag.ts.
 *   the polling loop     pkg/scaling/executor/scale_scaledobjects.go RequestScale: 0 → max(min, 1)
 *                        at once when active; → minReplicaCount at the first poll strictly
 *                        after lastActiveTime + cooldownPeriod (creation + initialCooldownPeriod
 *                        when never active). Between 1 and max the HPA decides (hpa.ts).
 *
 * Pure functions; test/upstream/keda.it.test.ts feeds the same real Kafka states to KEDA's
 * own scaler and requires the same answers.
 */
import { KEDA_KAFKA_DEFAULTS } from './defaults.ts';

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
export function kafkaScalerActive(activity: number, activationLagThreshold: number = KEDA_KAFKA_DEFAULTS.activationLagThreshold): boolean {
  return activity > activationLagThreshold;
}

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
    const [from, periodS, what] = state.lastActiveMs === undefined ? [state.createdMs, initialCooldownPeriodS, 'creation, initialCooldownPeriod'] : [state.lastActiveMs, cooldownPeriodS, 'the last active poll, cooldownPeriod'];
    const waited = `${((nowMs - from) / 1000).toFixed(1)} s since ${what} ${periodS} s`;
    if (nowMs > from + periodS * 1000) return { replicas: 0, lastActiveMs: state.lastActiveMs, reason: `inactive ${waited}: scale to 0` };
    return { replicas: current, lastActiveMs: state.lastActiveMs, reason: `inactive ${waited}: cooling down` };
  }
  if (current < min) return { replicas: min, lastActiveMs: state.lastActiveMs, reason: `inactive below minReplicaCount: scale to ${min}` };
  return { replicas: current, lastActiveMs: state.lastActiveMs, reason: current === 0 ? 'inactive at 0' : 'inactive at minReplicaCount' };
}

